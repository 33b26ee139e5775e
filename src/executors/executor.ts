/**
 * The executor port: how a claimed job is turned into running work. The worker owns leases,
 * time limits and recording outcomes; an executor only starts, signals and reports.
 */
import type { StopReason } from '../core/job-types.js';
import type { Job } from '../core/words.js';

/** How the work itself ended, before the worker decides what that means for the job. */
export interface ExitReport {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the work could not run at all (e.g. the program does not exist), or threw. */
  error?: string;
  /** A handler that did not stop within the grace period after its signal fired. */
  abandoned?: boolean;
  /** What a handler returned (in-process executors). */
  result?: unknown;
  errorStack?: string;
}

/** `started` of work that runs in this process: no pid to record (one shared promise, no allocation per job). */
export const NO_PROCESS: Promise<{ pid: number | null; pidStart: number | null }> = Promise.resolve({
  pid: null,
  pidStart: null,
});

export interface RunningWork {
  /** Settles once the work has started: the process's pid and start time (null for in-process work). */
  readonly started: Promise<{ pid: number | null; pidStart: number | null }>;
  /** True for in-process handlers: suspending aborts them (a process is stopped with SIGSTOP instead). */
  readonly suspendsByAbort: boolean;
  /** Settles when the work has ended, however it ended. */
  readonly exited: Promise<ExitReport>;
  /**
   * Stops the work and everything it started, waiting at most `graceMs` before forcing it (or, for
   * an in-process handler that ignores its signal, abandoning it: `exited` settles regardless).
   */
  stop(graceMs: number, reason: StopReason): Promise<void>;
  pause(): void;
  resume(): void;
}

export interface ExecutionContext {
  readonly workerId: string;
  /** Renews the lease of the worker's jobs. */
  heartbeat(): Promise<void>;
  saveCheckpoint(state: unknown): Promise<void>;
  /** Results of the job's dependencies, fetched only when asked for. */
  parentResults(): Promise<Record<number, unknown>>;
  /** Folder that receives the attempt's `stdout` and `stderr`. */
  readonly logDir: string;
  onProgress(progress: number | null, message: string | null): void;
}

/** What identifies one attempt's processes: the job record's process fields. */
export interface AttemptProcesses {
  id: number;
  runNo: number;
  workerId: string | null;
  /** The leader's pid (also its process group); null when it was never recorded. */
  pid: number | null;
  pidStart: number | null;
}

/**
 * Control of the processes an executor starts on this machine, from outside the worker that runs
 * them: the facade stops or pauses a job's processes, reconciliation the strays of a dead worker.
 * The caller decides that the attempt ran on this machine.
 */
export interface ProcessControl {
  /**
   * Stops the attempt's whole process tree, strays that left its group included: SIGTERM, then
   * SIGKILL after `graceMs`. With no pid recorded, every process carrying the attempt's tag.
   */
  stop(attempt: AttemptProcesses, graceMs: number): Promise<void>;
  /** Pauses (SIGSTOP) or continues (SIGCONT) the attempt's process tree; nothing without a pid. */
  signal(attempt: AttemptProcesses, signal: 'SIGSTOP' | 'SIGCONT'): void;
}

export interface Executor {
  /** Whether this executor runs jobs of the type (the worker claims only such jobs). */
  runs(type: string): boolean;
  /** Set by executors whose work runs as processes on this machine. */
  readonly processes?: ProcessControl;
  /** Starts the job's work; rejects only when nothing could be started. */
  start(job: Job, context: ExecutionContext): RunningWork;
}
