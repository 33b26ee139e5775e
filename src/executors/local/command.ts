/**
 * The local command executor: each attempt runs as its own process group with the job's working
 * directory and environment, its stdout and stderr written straight to plain files (so the output
 * survives the worker), and `::progress 0.4 message` lines on stdout read back as progress.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, closeSync, fstatSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { FileTail } from '../../core/file-tail.js';
import { ATTEMPTS_FILE, attemptMark } from '../../core/log-marks.js';
import { processStartTime } from '../../core/processes.js';
import { parseProgressLine } from '../../core/progress-line.js';
import { COMMAND_TYPE, type Job } from '../../core/words.js';
import type { ExecutionContext, Executor, ExitReport, RunningWork } from '../executor.js';
import { attemptTag, localProcesses, type ProcessTree, signalTree, stopTree, TAG_VARIABLE } from './processes.js';

const PROGRESS_POLL_MS = 250;

export class LocalCommandExecutor implements Executor {
  readonly processes = localProcesses;

  runs(type: string): boolean {
    return type === COMMAND_TYPE;
  }

  start(job: Job, context: ExecutionContext): RunningWork {
    const tag = attemptTag(job.id, job.runNo, context.workerId);
    const { tree, exited } = this.launch(job, context, tag);
    return {
      started: Promise.resolve({ pid: tree?.pid ?? null, pidStart: tree?.pidStart ?? null }),
      exited,
      suspendsByAbort: false,
      stop: async (graceMs) => {
        if (tree) await stopTree(tree, graceMs);
      },
      pause: () => tree && signalTree(tree, 'SIGSTOP'),
      resume: () => tree && signalTree(tree, 'SIGCONT'),
    };
  }

  /**
   * Creates the log files and starts the process. The file calls are synchronous: six system calls
   * on the local log folder take microseconds, while asynchronous ones would each wait for a turn
   * of the thread pool and of the event loop before the spawn (at concurrency 2 that wait, not the
   * disk, was most of a short command's overhead).
   */
  private launch(
    job: Job,
    context: ExecutionContext,
    tag: string,
  ): { tree: ProcessTree | null; exited: Promise<ExitReport> } {
    const [program, args] = job.argv
      ? [job.argv[0] as string, job.argv.slice(1)]
      : ['/bin/sh', ['-c', job.command ?? '']];
    const stdoutPath = join(context.logDir, 'stdout');
    let out: number | undefined;
    let err: number | undefined;
    let child: ReturnType<typeof spawn>;
    let exited: Promise<ExitReport>;
    let progressReader: ProgressReader | undefined;
    try {
      mkdirSync(context.logDir, { recursive: true });
      out = openSync(stdoutPath, 'a');
      err = openSync(join(context.logDir, 'stderr'), 'a');
      const outSize = fstatSync(out).size;
      // Where this attempt's output starts in each file, so `docket logs` can mark every attempt.
      appendFileSync(join(context.logDir, ATTEMPTS_FILE), attemptMark(job.runNo, outSize, fstatSync(err).size));
      progressReader = new ProgressReader(stdoutPath, outSize, (progress, message) =>
        context.onProgress(progress, message),
      );
      child = spawn(program, args, {
        cwd: job.cwd,
        env: {
          ...process.env,
          ...job.env,
          DOCKET_JOB_ID: String(job.id),
          DOCKET_ATTEMPT: String(job.runNo),
          [TAG_VARIABLE]: tag,
        },
        detached: true, // its own process group, so the whole tree can be signalled at once
        stdio: ['ignore', out, err],
      });
      // Listen before anything else: a failed spawn reports 'error' on the next tick.
      exited = watchExit(child, program, job.cwd, progressReader);
    } catch (error) {
      progressReader?.close();
      const message = `cannot start the job: ${(error as Error).message}`;
      return { tree: null, exited: Promise.resolve({ exitCode: null, signal: null, error: message }) };
    } finally {
      if (out !== undefined) closeSync(out);
      if (err !== undefined) closeSync(err);
    }
    const pid = child.pid ?? null;
    const tree: ProcessTree | null = pid === null ? null : { pid, pidStart: processStartTime(pid), tag };
    return { tree, exited };
  }
}

function watchExit(
  child: ReturnType<typeof spawn>,
  program: string,
  cwd: string,
  progressReader: ProgressReader,
): Promise<ExitReport> {
  return new Promise<ExitReport>((resolve) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      if (child.pid !== undefined) return; // errors after a successful spawn are followed by 'exit'
      progressReader.close();
      resolve({ exitCode: 127, signal: null, error: spawnError(program, cwd, error) });
    });
    child.once('exit', (exitCode, signal) => {
      progressReader.close();
      resolve({ exitCode, signal });
    });
  });
}

function spawnError(program: string, cwd: string, error: NodeJS.ErrnoException): string {
  if (error.code === 'ENOENT') return `cannot run "${program}": no such program, or the folder ${cwd} does not exist`;
  if (error.code === 'EACCES') return `cannot run "${program}": permission denied`;
  return `cannot run "${program}": ${error.message}`;
}

/** Follows a stdout file for `::progress` lines without holding the output in memory. */
class ProgressReader {
  private readonly timer: NodeJS.Timeout;
  private readonly tail: FileTail;
  private partial = '';

  /** `position` is where this attempt's output starts in the (appended) file. */
  constructor(
    path: string,
    position: number,
    private readonly report: ExecutionContext['onProgress'],
  ) {
    this.tail = new FileTail(path, position);
    this.timer = setInterval(() => this.read(), PROGRESS_POLL_MS);
    this.timer.unref();
  }

  /**
   * Reads what was appended. The file is the user's too: if it vanished or cannot be read (the log
   * folder was deleted), progress is simply not read — the job and its worker carry on.
   */
  private read(): void {
    try {
      this.tail.read((chunk) => {
        const lines = (this.partial + chunk.toString('utf8')).split('\n');
        this.partial = (lines.pop() ?? '').slice(-4096);
        for (const line of lines) this.parse(line);
      });
    } catch {
      // nothing to read now; a later poll tries again
    }
  }

  private parse(line: string): void {
    const report = parseProgressLine(line);
    if (report) this.report(report.value, report.message);
  }

  close(): void {
    clearInterval(this.timer);
    this.read();
    if (this.partial) this.parse(this.partial);
  }
}
