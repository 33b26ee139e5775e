/** `docket logs ID`: print (or follow) a job's stdout or stderr. */
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { DocketError } from '../../core/errors.js';
import { parseJobId } from '../../core/units.js';
import { action, emit, withDocket } from '../context.js';
import { followJob } from '../follow.js';

interface LogsFlags {
  stderr?: boolean;
  follow?: boolean;
}

export function register(program: Command): void {
  program
    .command('logs')
    .description("print a job's output (stdout unless --stderr)")
    .argument('<id>', 'job id')
    .option('--stderr', 'show stderr instead of stdout')
    .option('-f, --follow', 'keep printing as the job writes, until it ends')
    .action(
      action(async (id: string, flags: LogsFlags, command: Command) => {
        const jobId = parseJobId(id);
        return withDocket(command, async (docket, options) => {
          const job = await docket.get(jobId); // refuses unknown ids with exit code 3
          const paths = docket.logPaths(jobId);
          const path = flags.stderr ? paths.stderr : paths.stdout;
          if (!existsSync(path) && job.host !== null && job.host !== hostname() && job.scheduler === 'local') {
            // On PostgreSQL, workers on other machines write logs where they run.
            throw new DocketError(
              `job ${jobId} ran on host ${job.host}; its logs are in the logs folder of DOCKET_HOME there (share DOCKET_HOME, e.g. over NFS, to read them from here)`,
            );
          }
          if (options.json) {
            const content = existsSync(path) ? readFileSync(path, 'utf8') : '';
            emit(options, { id: jobId, stream: flags.stderr ? 'stderr' : 'stdout', path, content }, () => '');
          } else if (flags.follow) {
            await followJob(docket, jobId, flags.stderr ? { stdout: null, stderr: process.stdout } : { stderr: null });
          } else if (existsSync(path)) {
            await pipeline(createReadStream(path), process.stdout, { end: false });
          }
          return 0;
        });
      }),
    );
}
