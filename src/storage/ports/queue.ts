/**
 * The queue operations, in Oban's size: submit, read, claim, report on and end attempts, and the
 * commands on jobs.
 */
import type { Inventory } from '../../core/resources.js';
import type { NewJob } from '../../core/spec.js';
import type {
  Job,
  JobFilter,
  JobStatus,
  JobWithAttempts,
  Outcome,
  SchedulerName,
  StatusCounts,
} from '../../core/words.js';

export interface SubmitResult {
  job: Job;
  /** False when the job's key already existed and the existing job was returned. */
  created: boolean;
}

export interface ClaimRequest {
  workerId: string;
  host: string;
  /** The claimer's machine identity (worker/machine.ts), recorded on each attempt. */
  machine?: string | null;
  pid: number;
  /** Queues to claim from; `*` claims from every queue. */
  queues: readonly string[];
  scheduler: SchedulerName;
  /** Job types the claimer can run; `*` means every type. */
  types: readonly string[];
  /** Claim only these jobs (a `docket run` running its own job in-process). */
  onlyIds?: readonly number[];
  limit: number;
  leaseMs: number;
  now?: number;
  /** Local resources: set by workers that hand out GPUs, CPUs and memory (see ResourceClaim). */
  resources?: ResourceClaim;
}

/**
 * What a resource-aware claim needs (local resources): the claimer's inventory, as data. When a
 * runnable job it could take asks for GPUs, CPUs or memory, the engine — inside the claim's
 * transaction, serialized with every other claim on the same host — reads what attempts on
 * `request.host` hold, picks among the runnable jobs in claim order with core/fit.ts's
 * selectFitting, starts those it picks and records each allocation on its attempt, where the
 * claimer reads it (`allocations({ jobIds })`) before starting the job.
 */
export interface ResourceClaim {
  inventory: Inventory;
}

/**
 * How an attempt ended: every way of ending one, as data, for QueueOperations.endAttempts. Each
 * names the attempt by its job and run number; an end whose attempt no longer owns its job (it was
 * cancelled, reclaimed or moved on) changes nothing but the attempt's exit details.
 */
export type AttemptEnd =
  /** The work ran to an outcome: the retry policy applies and dependents are settled. */
  | { how: 'outcome'; jobId: number; runNo: number; outcome: Outcome }
  /**
   * The job was suspended while a handler ran it and the handler stopped: the execution ends, the
   * job stays suspended, and the execution does not count against max attempts.
   */
  | { how: 'park'; jobId: number; runNo: number }
  /**
   * Its worker is shutting down or lost its claim: the job goes back to `pending`; the interrupted
   * execution is kept in the history but does not count against max attempts.
   */
  | { how: 'release'; jobId: number; runNo: number; reason: string }
  /**
   * Its owner is gone (reconciliation): retried if attempts remain, failed otherwise. Settled only
   * if its lease has lapsed when it is settled (checked in the same transaction, under the row's
   * lock), so an owner that renewed in the meantime keeps its job — unless `processGone`: the
   * owner's process was seen gone on this machine and cannot renew the lease.
   */
  | { how: 'lost'; jobId: number; runNo: number; reason: string; processGone?: boolean };

/** One variant of AttemptEnd (`AttemptEndOf<'outcome'>`). */
export type AttemptEndOf<How extends AttemptEnd['how']> = Extract<AttemptEnd, { how: How }>;

/** What endAttempts did, in the order of the ends given. */
export interface EndedAttempts {
  /**
   * The job as each end left it, or null when the attempt no longer owned its job (and always for
   * a `lost` end: reconciliation reads the jobs again if it needs them).
   */
  ended: (Job | null)[];
  /** The jobs the claim took (empty without a claim). */
  claimed: Job[];
}

/** DataJoint's refresh: make the pending set of a type match a set of keys. */
export interface RefreshRequest {
  /** Jobs to create for keys that have none (each carries its key as `key` and usually as params). */
  jobs: NewJob[];
  type: string;
  tenant: string;
  /**
   * Also remove pending jobs of the type whose key is not among these — but never a job without a
   * key (it is not part of any key set) nor one that other jobs wait for (they would wait for ever).
   */
  removeMissing: boolean;
}

export interface RefreshResult {
  added: number;
  existing: number;
  removed: number;
  /** Pending jobs whose key left the set but that were kept because other jobs depend on them. */
  kept: number;
}

export interface ClearRequest {
  statuses: JobStatus[];
  /** Only jobs that ended before this time (ms). */
  endedBefore?: number;
  queue?: string;
  /** Remove at most this many (oldest first), so a big clear goes in short transactions. */
  limit?: number;
}

/** The queue operations: submit, read, claim, report on and end attempts, and the commands on jobs (Oban's size). */
export interface QueueOperations {
  /**
   * Stores jobs in one transaction; a job whose key exists returns the existing one. (In a
   * transaction of the caller's: the engine's `capabilities.callerTransactions`.)
   */
  submit(jobs: NewJob[]): Promise<SubmitResult[]>;
  /** A job with its attempts; with `tenant`, null unless the job is that tenant's. */
  get(id: number, tenant?: string): Promise<JobWithAttempts | null>;
  list(filter: JobFilter): Promise<Job[]>;
  counts(filter: Pick<JobFilter, 'queue' | 'tenant' | 'type'>): Promise<StatusCounts>;
  /**
   * Earliest run-at among pending, unblocked jobs in these queues (only those later than `after`,
   * when given: a worker asks past its last claim, so jobs that could not start then — waiting for
   * resources or a queue's room — do not make it poll), or null if there are none.
   */
  nextRunAt(
    queues: readonly string[],
    types: readonly string[],
    scheduler: SchedulerName,
    after?: number,
  ): Promise<number | null>;
  /** Atomically moves up to `limit` runnable jobs to running under the worker's lease. */
  claim(request: ClaimRequest): Promise<Job[]>;
  /** Records the process that runs an attempt (pid and start time). */
  recordProcess(jobId: number, attempt: number, pid: number, pidStart: number | null): Promise<void>;
  setProgress(jobId: number, attempt: number, progress: number | null, message: string | null): Promise<void>;
  /**
   * Ends attempts, each as its AttemptEnd says — and, given a claim request, claims the slots they
   * free. The outcomes go as one batch with the claim (the worker's hot path: on SQLite one
   * transaction; on PostgreSQL completions and the claim share one statement); the lost are settled
   * in one transaction; each park and release in its own. A batch that mixes kinds (no caller does)
   * writes the other kinds first, so the claim sees every slot the batch frees.
   */
  endAttempts(ends: readonly AttemptEnd[], claim?: ClaimRequest): Promise<EndedAttempts>;
  /** Saves a handler's checkpoint if the attempt still owns the job. */
  saveCheckpoint(jobId: number, attempt: number, checkpoint: unknown): Promise<void>;
  cancel(id: number, reason: string): Promise<Job>;
  suspend(id: number): Promise<Job>;
  resume(id: number): Promise<Job>;
  requeue(id: number): Promise<Job>;
  /** Removes finished jobs; returns the ids removed. */
  clear(request: ClearRequest): Promise<number[]>;
  refresh(request: RefreshRequest): Promise<RefreshResult>;
  /** Marks a key as skipped so it never runs, creating the (skipped) job if it does not exist yet. */
  ignore(job: NewJob): Promise<Job>;
}
