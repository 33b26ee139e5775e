/** The `docket` command line: global options, the commands, and how errors become exit codes. */
import { Command, CommanderError } from 'commander';
import { DocketError, EXIT } from '../core/errors.js';
import { register as clear } from './commands/clear.js';
import { register as completion } from './commands/completion.js';
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
import { register as top } from './commands/top.js';
import { register as wait } from './commands/wait.js';
import { register as worker } from './commands/worker.js';
import { register as workers } from './commands/workers.js';
import { endOnBrokenPipe, isBrokenPipe, takeExitCode } from './context.js';
import { UsageError, usageError, wantsJson, writeError } from './errors.js';
import { addExamples } from './examples.js';
import { VERSION } from './version.js';

export function buildProgram(): Command {
  const program = new Command('docket')
    .description('run, queue and track jobs — shell commands or TypeScript functions')
    .version(VERSION, '-V, --version', 'print the version')
    .option('--db <path-or-url>', 'SQLite file or postgres:// URL (default: $DOCKET_DB or $DOCKET_HOME/docket.db)')
    .option('--home <dir>', 'data folder (default: $DOCKET_HOME or ~/.docket)')
    .option('--json', 'print exactly one JSON document (errors too: {error, code, exit_code})');
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
    workers,
    top,
    queue,
    config,
    db,
    serve,
    token,
    completion,
  ]) {
    register(program);
  }
  (function inherit(command: Command) {
    command.exitOverride((error) => {
      // Help asked for (or shown because no command was given) is not an error to reword.
      throw error.exitCode === 0 || error.code === 'commander.help' ? error : new UsageError(error, command);
    });
    // Commander's own messages are reworded into one `docket: …` line by main (see usageError).
    command.configureOutput({ writeErr: (text) => process.stderr.write(text), outputError: () => {} });
    addExamples(command);
    command.commands.forEach(inherit);
  })(program);
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
  const json = wantsJson(argv.slice(2));
  try {
    await program.parseAsync(argv);
    return takeExitCode();
  } catch (error) {
    if (isBrokenPipe(error)) return endOnBrokenPipe();
    // Help and version exit 0; help shown because no command was given is bad usage.
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : EXIT.usage;
    if (error instanceof UsageError) return writeError(json, usageError(error, argv.slice(2)), EXIT.usage);
    if (error instanceof DocketError) return writeError(json, error.message, error.exitCode);
    const message = error instanceof Error ? error.message : String(error);
    if (process.env.DOCKET_DEBUG) console.error(error);
    return writeError(json, `unexpected error: ${message}`, EXIT.failure);
  }
}
