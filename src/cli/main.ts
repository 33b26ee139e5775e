/** The `docket` command line: global options, the commands, and how errors become exit codes. */
import { Command, CommanderError } from 'commander';
import { DocketError, EXIT } from '../core/errors.js';
import { register as clear } from './commands/clear.js';
import { register as config } from './commands/config.js';
import { register as db } from './commands/db.js';
import { register as jobActions } from './commands/job-actions.js';
import { register as list } from './commands/list.js';
import { register as logs } from './commands/logs.js';
import { register as progress } from './commands/progress.js';
import { register as queue } from './commands/queue.js';
import { register as run } from './commands/run.js';
import { register as serve } from './commands/serve.js';
import { register as status } from './commands/status.js';
import { register as submit } from './commands/submit.js';
import { register as token } from './commands/token.js';
import { register as wait } from './commands/wait.js';
import { register as worker } from './commands/worker.js';
import { endOnBrokenPipe, isBrokenPipe, takeExitCode } from './context.js';

export function buildProgram(): Command {
  const program = new Command('docket')
    .description('run, queue and track jobs — shell commands or TypeScript functions')
    .option('--db <path-or-url>', 'SQLite file or postgres:// URL (default: $DOCKET_DB or $DOCKET_HOME/docket.db)')
    .option('--home <dir>', 'data folder (default: $DOCKET_HOME or ~/.docket)')
    .option('--json', 'print exactly one JSON document')
    .showHelpAfterError('(run docket help for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });
  for (const register of [
    submit,
    run,
    list,
    status,
    logs,
    wait,
    jobActions,
    progress,
    clear,
    worker,
    queue,
    config,
    db,
    serve,
    token,
  ]) {
    register(program);
  }
  program.commands.forEach(function inherit(command: Command) {
    command.exitOverride();
    command.commands.forEach(inherit);
  });
  return program;
}

/** Runs the CLI and returns the exit code (documented in the README). */
export async function main(argv: string[]): Promise<number> {
  // A reader that went away (`docket list | head`) ends the command quietly, as it does `ls`.
  process.stdout.on('error', (error) => {
    if (isBrokenPipe(error)) void endOnBrokenPipe();
    else process.stderr.write(`docket: cannot write the output: ${error.message}\n`);
  });
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return takeExitCode();
  } catch (error) {
    if (isBrokenPipe(error)) return endOnBrokenPipe();
    if (error instanceof CommanderError) {
      // Help and version exit 0; everything else commander refuses is bad usage.
      return error.exitCode === 0 ? 0 : EXIT.usage;
    }
    if (error instanceof DocketError) {
      process.stderr.write(`docket: ${error.message}\n`);
      return error.exitCode;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`docket: unexpected error: ${message}\n`);
    if (process.env.DOCKET_DEBUG) console.error(error);
    return EXIT.failure;
  }
}
