/**
 * Jobs of external schedulers (SLURM): which to ask about, their ids, and applying what they report.
 */
import type { Job, JobStatus, SchedulerName } from '../../core/words.js';

/**
 * What an external scheduler (SLURM) reported about one job it runs: the facade maps SLURM's
 * states onto docket's and the engine applies them through the state machine.
 */
export interface ObservedState {
  jobId: number;
  /** The scheduler's id the report is about; a job whose record names another id is left alone. */
  schedulerJobId: string;
  /**
   * The record as it was read before the scheduler was asked. A record changed since (a suspend,
   * a cancel, another process's report) is left alone: the report may predate the change, and
   * the next look decides.
   */
  seen: { status: JobStatus; updatedAt: number };
  /** pending, running or suspended while active; a final state once it ended. */
  status: JobStatus;
  /** When it started (ms), if it did. */
  startedAt?: number | null;
  /** When it ended (ms), for final states. */
  endedAt?: number | null;
  exitCode?: number | null;
  signal?: string | null;
  error?: string | null;
  /** Where it runs (SLURM's node list). */
  host?: string | null;
  /** Why the scheduler still holds a pending job (SLURM's squeue `%r`), if it says. */
  reason?: string | null;
}

/** Jobs of external schedulers (SLURM): which to ask about, their ids, and applying what they report. */
export interface ExternalTracking {
  /** Pending, running and suspended jobs of a scheduler, with their dependencies, oldest first. */
  listTracked(scheduler: SchedulerName): Promise<Job[]>;
  /**
   * Records the id the external scheduler gave a pending job that did not have one yet (a
   * compare-and-set: null when the job is no longer pending or another process recorded one first).
   */
  recordSubmitted(jobId: number, schedulerJobId: string): Promise<Job | null>;
  /**
   * Applies what the scheduler reported, in one transaction, each move through the state machine:
   * pending → running starts an attempt (attempts and run number + 1, started at, host);
   * running ⇄ suspended; an end closes the attempt with exit code, signal, error and end time,
   * retries (back to pending with the external id cleared) when attempts remain, and unblocks or
   * skips dependents. A report naming another external id, a job already final, or a pending report
   * for a job suspended in docket (held) changes nothing. Returns the jobs that changed.
   */
  applyObserved(observed: ObservedState[]): Promise<Job[]>;
  /**
   * Takes back a submit that a scheduler refused: deletes these jobs if they are still pending and
   * nothing depends on them (the caller has already cancelled any that the scheduler accepted).
   */
  discard(ids: number[]): Promise<void>;
}
