/** `docket logs ID`: print (or follow) a job's stdout or stderr, attempt by attempt. */
import { createReadStream, existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { styleText } from 'node:util';
import type { Command } from 'commander';
import { DocketError, InvalidInputError, NotFoundError } from '../../core/errors.js';
import { parseCount, parseJobId } from '../../core/units.js';
import { COMMAND_TYPE, type Job } from '../../core/words.js';
import { action, emit, withDocket } from '../context.js';
import { followJob } from '../follow.js';
import { colourOn, PLAIN, shortTime } from '../format.js';
import { lastLines, readRange, readTail, type Segment, type Stream, segments } from '../log-files.js';

interface LogsFlags {
  stderr?: boolean;
  all?: boolean;
  follow?: boolean;
  tail?: string;
  timestamps?: boolean;
  maxBytes: string;
}

/** What `--json` carries of a log by default: its last MiB (a log can be gigabytes). */
const JSON_MAX_BYTES = 1024 * 1024;
/** How much of the end of a log `--tail` reads to find its lines. */
const TAIL_MAX_BYTES = 4 * 1024 * 1024;

export function register(program: Command): void {
  program
    .command('logs')
    .description("print a job's output (stdout unless --stderr or --all), marking where each attempt starts")
    .argument('<id>', 'job id')
    .option('--stderr', 'show stderr instead of stdout')
    .option('-a, --all', 'show stdout and stderr, attempt by attempt')
    .option('-n, --tail <n>', 'only the last n lines (of each stream)')
    .option('-t, --timestamps', 'mark every attempt with its start time, even a single one')
    .option('-f, --follow', 'keep printing as the job writes, until it ends (JSON lines with --json)')
    .option(
      '--max-bytes <n>',
      'with --json: at most the last n bytes of the log (0: all of it)',
      String(JSON_MAX_BYTES),
    )
    .action(
      action(async (id: string, flags: LogsFlags, command: Command) => {
        const jobId = parseJobId(id);
        const maxBytes = parseCount(flags.maxBytes, '--max-bytes', { min: 0, max: Number.MAX_SAFE_INTEGER });
        const tail = flags.tail === undefined ? undefined : parseCount(flags.tail, '--tail', { min: 0 });
        if (flags.all && flags.stderr) throw new InvalidInputError('--all', 'shows both streams; leave out --stderr');
        const streams: Stream[] = flags.all ? ['stdout', 'stderr'] : [flags.stderr ? 'stderr' : 'stdout'];
        return withDocket(command, async (docket, options) => {
          const job = await docket.get(jobId); // refuses unknown ids with exit code 3
          const paths = docket.logPaths(jobId);
          if (flags.follow) return follow(docket, jobId, streams, options.json === true);
          const present = streams.filter((stream) => existsSync(paths[stream]));
          if (present.length === 0) throw missingLog(job, streams[0] as Stream, paths[streams[0] as Stream]);
          if (options.json) {
            const stream = present[0] as Stream;
            const read = readTail(paths[stream], maxBytes);
            const content = tail === undefined ? read.content : lastLines(read.content, tail);
            emit(options, { id: jobId, stream, path: paths[stream], ...read, content }, () => '');
            return 0;
          }
          const parts = present.flatMap((stream) => segments(paths[stream], stream).map((part) => ({ stream, part })));
          const marked =
            flags.all || flags.timestamps || parts.some(({ part }) => part.attempt !== null && part.attempt > 1);
          if (!marked && tail === undefined && parts.length === 1) {
            // One attempt: exactly the bytes the job wrote, streamed (a log can be gigabytes).
            await pipeline(createReadStream(paths[present[0] as Stream]), process.stdout, { end: false });
            return 0;
          }
          const order = flags.all ? byAttempt(parts) : parts;
          const kept =
            tail === undefined ? order.map((entry) => ({ ...entry, text: null })) : lastOf(order, paths, tail);
          for (const { stream, part, text } of kept) {
            if (marked) process.stdout.write(`${header(part, flags.all ? stream : null)}\n`);
            if (text !== null) process.stdout.write(text);
            else if (part.end > part.start) {
              await pipeline(
                createReadStream(paths[stream], { start: part.start, end: part.end - 1 }),
                process.stdout,
                {
                  end: false,
                },
              );
            }
          }
          return 0;
        });
      }),
    );
}

type Part = { stream: Stream; part: Segment };

/** Attempt 1's stdout, attempt 1's stderr, attempt 2's stdout, … */
function byAttempt(parts: Part[]): Part[] {
  return [...parts].sort((a, b) => (a.part.attempt ?? 0) - (b.part.attempt ?? 0));
}

/** The last `count` lines of each stream, kept with the attempts that wrote them. */
function lastOf(parts: Part[], paths: Record<Stream, string>, count: number): (Part & { text: string | null })[] {
  const left: Record<Stream, number> = { stdout: count, stderr: count };
  const kept: (Part & { text: string })[] = [];
  for (const entry of [...parts].reverse()) {
    const want = left[entry.stream];
    if (want === 0) continue;
    const start = Math.max(entry.part.start, entry.part.end - TAIL_MAX_BYTES);
    const text = lastLines(readRange(paths[entry.stream], start, entry.part.end).toString('utf8'), want);
    const lines = text === '' ? 0 : text.replace(/\n$/, '').split('\n').length;
    left[entry.stream] = want - lines;
    kept.unshift({ ...entry, text });
  }
  return kept;
}

/** `── attempt 2 · stderr · started 14:03:07 ──`, dimmed on a terminal. */
function header(part: Segment, stream: Stream | null): string {
  const words = [
    part.attempt === null ? 'earlier output' : `attempt ${part.attempt}`,
    stream,
    part.at === null ? null : `started ${shortTime(part.at)}`,
  ].filter(Boolean);
  const line = `── ${words.join(' · ')} ──`;
  return colourOn() ? styleText('dim', line, PLAIN) : line;
}

/** Follows the job until it ends: the raw output, or JSON lines (`{"stream","line"}`, then the end). */
async function follow(
  docket: Parameters<typeof followJob>[0],
  id: number,
  streams: Stream[],
  json: boolean,
): Promise<number> {
  const sink = (stream: Stream) => {
    if (!streams.includes(stream)) return null;
    if (json) return jsonLines(id, stream);
    // One stream goes to stdout; with --all, stderr goes to stderr.
    return streams.length === 1 || stream === 'stdout' ? process.stdout : process.stderr;
  };
  const stdout = sink('stdout');
  const stderr = sink('stderr');
  const final = await followJob(docket, id, { stdout, stderr });
  for (const stream of [stdout, stderr]) {
    if (stream instanceof Writable) await new Promise<void>((resolve) => stream.end(() => resolve()));
  }
  if (json) {
    const end = { id, event: 'ended', status: final.status, exit_code: final.exitCode, signal: final.signal };
    process.stdout.write(`${JSON.stringify(end)}\n`);
  }
  return 0;
}

/** A sink that prints each complete line written to it as `{"id","stream","line"}` (the rest at its end). */
function jsonLines(id: number, stream: Stream): Writable {
  let pending = '';
  const print = (line: string) => process.stdout.write(`${JSON.stringify({ id, stream, line })}\n`);
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      const lines = (pending + chunk.toString('utf8')).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) print(line);
      done();
    },
    final(done) {
      if (pending) print(pending);
      done();
    },
  });
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
      ? `a job of type ${job.type} runs a handler, which writes no log files; its error, stack trace and result are in docket status ${job.id}`
      : job.runNo === 0
        ? 'it has not started yet (docket logs --follow waits for it)'
        : 'the file was removed, or the job ran with another DOCKET_HOME';
  return new NotFoundError(`job ${job.id} has no ${stream} log at ${path}: ${why}`);
}
