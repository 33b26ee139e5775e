/**
 * The executor port: how a claimed job is turned into running work. The worker owns leases,
 * time limits and recording outcomes; an executor only starts, signals and reports.
 */
import type { Job } from '../core/words.js';

/** How the work itself ended, before the worker decides what that means for the job. */
export interface ExitReport {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the work could not run at all (e.g. the program does not exist). */
  error?: string;
  /** What a handler returned (in-process executors). */
  result?: unknown;
  errorStack?: string;
}

export interface RunningWork {
  readonly pid: number | null;
  readonly pidStart: number | null;
  /** Settles when the work has ended, however it ended. */
  readonly exited: Promise<ExitReport>;
  /** Stops the work and everything it started, waiting at most `graceMs` before forcing it. */
  stop(graceMs: number): Promise<void>;
  pause(): void;
  resume(): void;
}

export interface ExecutionContext {
  workerId: string;
  /** Folder that receives the attempt's `stdout` and `stderr`. */
  logDir: string;
  onProgress(progress: number | null, message: string | null): void;
}

export interface Executor {
  /** Starts the job's work; rejects only when nothing could be started. */
  start(job: Job, context: ExecutionContext): RunningWork;
}
