/**
 * The local command executor: each attempt runs as its own process group with the job's working
 * directory and environment, its stdout and stderr written straight to plain files (so the output
 * survives the worker), and `::progress 0.4 message` lines on stdout read back as progress.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { type FileHandle, mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { COMMAND_TYPE, type Job } from '../../core/words.js';
import type { ExecutionContext, Executor, ExitReport, RunningWork } from '../executor.js';
import { attemptTag, type ProcessTree, processStartTime, signalTree, stopTree, TAG_VARIABLE } from './processes.js';

const PROGRESS_POLL_MS = 250;

export class LocalCommandExecutor implements Executor {
  runs(type: string): boolean {
    return type === COMMAND_TYPE;
  }

  start(job: Job, context: ExecutionContext): RunningWork {
    const tag = attemptTag(job.id, job.runNo, context.workerId);
    let tree: ProcessTree | null = null;
    const launched = this.launch(job, context, tag).then((spawned) => {
      tree = spawned.tree;
      return spawned;
    });
    return {
      started: launched.then(({ tree }) => ({ pid: tree?.pid ?? null, pidStart: tree?.pidStart ?? null })),
      exited: launched.then(({ exited }) => exited),
      suspendsByAbort: false,
      stop: async (graceMs) => {
        const { tree } = await launched;
        if (tree) await stopTree(tree, graceMs);
      },
      pause: () => tree && signalTree(tree, 'SIGSTOP'),
      resume: () => tree && signalTree(tree, 'SIGCONT'),
    };
  }

  /**
   * Creates the log files and starts the process. The file system work goes through libuv's thread
   * pool, so a slow disk does not hold up the worker's thread (it costs more than the spawn here).
   */
  private async launch(
    job: Job,
    context: ExecutionContext,
    tag: string,
  ): Promise<{ tree: ProcessTree | null; exited: Promise<ExitReport> }> {
    const [program, args] = job.argv
      ? [job.argv[0] as string, job.argv.slice(1)]
      : ['/bin/sh', ['-c', job.command ?? '']];
    const stdoutPath = join(context.logDir, 'stdout');
    let out: FileHandle | undefined;
    let err: FileHandle | undefined;
    let child: ReturnType<typeof spawn>;
    let exited: Promise<ExitReport>;
    let progressReader: ProgressReader | undefined;
    try {
      await mkdir(context.logDir, { recursive: true });
      [out, err] = await Promise.all([open(stdoutPath, 'a'), open(join(context.logDir, 'stderr'), 'a')]);
      progressReader = new ProgressReader(stdoutPath, (await out.stat()).size, context.onProgress);
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
        stdio: ['ignore', out.fd, err.fd],
      });
      // Listen before anything else is awaited: a failed spawn reports 'error' on the next tick.
      exited = watchExit(child, program, job.cwd, progressReader);
    } catch (error) {
      progressReader?.close();
      const message = `cannot start the job: ${(error as Error).message}`;
      return { tree: null, exited: Promise.resolve({ exitCode: null, signal: null, error: message }) };
    } finally {
      await Promise.all([out?.close(), err?.close()]);
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
  private readonly buffer = Buffer.alloc(64 * 1024);
  private partial = '';

  /**
   * `position` is where this attempt's output starts in the (appended) file. Nothing is opened until
   * there is something new to read, so a short job costs one stat at its end and no descriptor.
   */
  constructor(
    private readonly path: string,
    private position: number,
    private readonly report: ExecutionContext['onProgress'],
  ) {
    this.timer = setInterval(() => this.read(), PROGRESS_POLL_MS);
    this.timer.unref();
  }

  /**
   * Reads what was appended. The file is the user's too: if it vanished or cannot be read (the log
   * folder was deleted), progress is simply not read — the job and its worker carry on.
   */
  private read(): void {
    try {
      this.readNew();
    } catch {
      // nothing to read now; a later poll tries again
    }
  }

  private readNew(): void {
    if (statSync(this.path).size <= this.position) return;
    const fd = openSync(this.path, 'r');
    try {
      for (;;) {
        const count = readSync(fd, this.buffer, 0, this.buffer.length, this.position);
        if (count <= 0) return;
        this.position += count;
        const text = this.partial + this.buffer.toString('utf8', 0, count);
        const lines = text.split('\n');
        this.partial = (lines.pop() ?? '').slice(-4096);
        for (const line of lines) this.parse(line);
      }
    } finally {
      closeSync(fd);
    }
  }

  private parse(line: string): void {
    const match = /^::progress\s+(\d+(?:\.\d+)?)(%?)(?:\s+(.*))?$/.exec(line.trimEnd());
    if (!match) return;
    const value = Number(match[1]) / (match[2] ? 100 : 1);
    if (value < 0 || value > 1) return;
    this.report(value, match[3] ?? null);
  }

  close(): void {
    clearInterval(this.timer);
    this.read();
    if (this.partial) this.parse(this.partial);
  }
}
