/**
 * The worker registry: registrations, heartbeats (which renew leases), and what reconciliation reads.
 */
import type { Job, JobStatus, SchedulerName, WorkerInfo } from '../../core/words.js';

/** A job a worker holds, as its heartbeat reports it. */
export interface HeldJob {
  id: number;
  runNo: number;
  status: JobStatus;
  startedAt: number | null;
}

/** A live attempt whose owner is not among the live workers: what reconciliation needs to judge it. */
export interface SuspectAttempt {
  id: number;
  runNo: number;
  status: JobStatus;
  workerId: string;
  host: string | null;
  machine: string | null;
  pid: number | null;
  pidStart: number | null;
  leaseExpiresAt: number | null;
}

/** What registerWorkerIfNone did. */
export type WorkerRegistration =
  | { registered: true }
  /** Serving workers the caller has not judged dead kept the candidate out. */
  | { registered: false; serving: WorkerInfo[] };

/** The worker registry: registrations, heartbeats (which renew leases), and what reconciliation reads. */
export interface WorkerRegistry {
  registerWorker(worker: WorkerInfo): Promise<void>;
  /**
   * Registers `candidate` only if every registered worker serving `queue` is one the caller judged
   * dead (`dead`, as it read them: a registration changed since is judged again) — one atomic step,
   * so of many processes submitting at once exactly one starts an on-demand worker. Otherwise it
   * registers nothing and returns the serving workers not judged dead: the caller judges them
   * (outside the engine's transaction: a pid check, a lease) and, if all are dead, asks again with
   * them added to `dead` (storage/registrations.ts has the engine-neutral half).
   */
  registerWorkerIfNone(candidate: WorkerInfo, queue: string, dead: readonly WorkerInfo[]): Promise<WorkerRegistration>;
  removeWorker(id: string): Promise<void>;
  listWorkers(): Promise<WorkerInfo[]>;
  /**
   * Removes the worker's registration unless its queues hold work for it: a running job, a job
   * suspended under it, or a pending job it could run that is unblocked, in a queue that is not
   * paused, and due before `dueBefore` (ms). Jobs that cannot run soon (paused, delayed, blocked)
   * keep no on-demand worker alive: the next submit, resume or CLI call starts one when they can.
   * A submit either sees the worker gone (and starts another) or is seen by it.
   */
  retireIfIdle(
    workerId: string,
    queues: readonly string[],
    types: readonly string[],
    dueBefore: number,
  ): Promise<boolean>;
  /**
   * Renews the leases of all the worker's jobs and its own heartbeat, in one transaction. Returns
   * the jobs the worker holds (running or suspended under it), or null when the worker is not
   * registered (its registration was removed, e.g. by `config reset-db`).
   */
  heartbeat(workerId: string, leaseMs: number): Promise<HeldJob[] | null>;
  /** Running and suspended jobs of a scheduler. */
  listLive(scheduler: SchedulerName): Promise<Job[]>;
  /**
   * Running and suspended attempts of a scheduler whose owner is not one of `liveWorkerIds`, for
   * reconciliation: when every worker is alive this reads no job at all.
   */
  listSuspect(scheduler: SchedulerName, liveWorkerIds: readonly string[]): Promise<SuspectAttempt[]>;
  /**
   * Queues with jobs of a scheduler that could run now: pending, not blocked, due, in a queue that
   * is not paused (to decide whether a worker is needed).
   */
  runnableQueues(scheduler: SchedulerName): Promise<string[]>;
}
