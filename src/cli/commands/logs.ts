/** `docket logs ID`: print (or follow) a job's stdout or stderr. */
import { closeSync, createReadStream, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { hostname } from 'node:os';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { DocketError, NotFoundError } from '../../core/errors.js';
import { parseCount, parseJobId } from '../../core/units.js';
import { COMMAND_TYPE, type Job } from '../../core/words.js';
import { action, emit, withDocket } from '../context.js';
import { followJob } from '../follow.js';

interface LogsFlags {
  stderr?: boolean;
  follow?: boolean;
  maxBytes: string;
}

/** What `--json` carries of a log by default: its last MiB (a log can be gigabytes). */
const JSON_MAX_BYTES = 1024 * 1024;

export function register(program: Command): void {
  program
    .command('logs')
    .description("print a job's output (stdout unless --stderr)")
    .argument('<id>', 'job id')
    .option('--stderr', 'show stderr instead of stdout')
    .option('-f, --follow', 'keep printing as the job writes, until it ends')
    .option(
      '--max-bytes <n>',
      'with --json: at most the last n bytes of the log (0: all of it)',
      String(JSON_MAX_BYTES),
    )
    .action(
      action(async (id: string, flags: LogsFlags, command: Command) => {
        const jobId = parseJobId(id);
        const maxBytes = parseCount(flags.maxBytes, '--max-bytes', { min: 0, max: Number.MAX_SAFE_INTEGER });
        return withDocket(command, async (docket, options) => {
          const job = await docket.get(jobId); // refuses unknown ids with exit code 3
          const stream = flags.stderr ? 'stderr' : 'stdout';
          const path = docket.logPaths(jobId)[stream];
          if (flags.follow) {
            await followJob(docket, jobId, flags.stderr ? { stdout: null, stderr: process.stdout } : { stderr: null });
            return 0;
          }
          if (!existsSync(path)) throw missingLog(job, stream, path);
          if (options.json) {
            const tail = readTail(path, maxBytes);
            emit(options, { id: jobId, stream, path, ...tail }, () => '');
          } else {
            await pipeline(createReadStream(path), process.stdout, { end: false });
          }
          return 0;
        });
      }),
    );
}

/** Why a job has no log file, as an error: exit code 3 (no such log), or 1 when it is on another machine. */
function missingLog(job: Job, stream: string, path: string): DocketError {
  if (job.host !== null && job.host !== hostname() && job.scheduler === 'local') {
    // On PostgreSQL, workers on other machines write logs where they run.
    return new DocketError(
      `job ${job.id} ran on host ${job.host}; its logs are in the logs folder of DOCKET_HOME there (share DOCKET_HOME, e.g. over NFS, to read them from here)`,
    );
  }
  const why =
    job.type !== COMMAND_TYPE && job.scheduler === 'local'
      ? `a job of type ${job.type} runs a handler, which writes no output files (see docket status ${job.id})`
      : job.runNo === 0
        ? 'it has not started yet (docket logs --follow waits for it)'
        : 'the file was removed, or the job ran with another DOCKET_HOME';
  return new NotFoundError(`job ${job.id} has no ${stream} log at ${path}: ${why}`);
}

/** The last `maxBytes` of a file (all of it for 0) as text, its size, and whether it was cut. */
function readTail(path: string, maxBytes: number): { content: string; size: number; truncated: boolean } {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const length = maxBytes === 0 ? size : Math.min(size, maxBytes);
    const buffer = Buffer.alloc(length);
    let read = 0;
    while (read < length) {
      const count = readSync(fd, buffer, read, length - read, size - length + read);
      if (count <= 0) break;
      read += count;
    }
    return { content: buffer.subarray(0, read).toString('utf8'), size, truncated: length < size };
  } finally {
    closeSync(fd);
  }
}
