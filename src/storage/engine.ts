/**
 * The storage port: what docket asks of a store, in queue operations rather than SQL
 * (Oban's engine contract). Engines only store; events, wake-ups and process control live above.
 * Every operation that changes a job goes through core/states.ts' transition rules.
 */
import type { JobGroupDefinition, StoredJobType } from '../core/job-types.js';
import type { AllocationRecord, ClaimCandidate, Selected } from '../core/resources.js';
import type { NewJob } from '../core/spec.js';
import type { FinishedSummary } from '../core/stats.js';
import type {
  Job,
  JobFilter,
  JobStatus,
  JobWithAttempts,
  Outcome,
  SchedulerName,
  StatusCounts,
  WorkerInfo,
} from '../core/words.js';

/** What an engine can and cannot do; the facade and worker read these instead of engine names. */
export interface EngineCapabilities {
  readonly name: string;
  /** True when every process using the store runs on this machine (SQLite), so pid checks are enough. */
  readonly singleHost: boolean;
  /** True when submits should start a worker on demand by default. */
  readonly onDemandWorkers: boolean;
  /**
   * True when the store itself tells listeners about new work and job changes (PostgreSQL's
   * LISTEN/NOTIFY, sent inside the writing transaction); otherwise the facade pokes workers.
   */
  readonly pushesChanges: boolean;
}

/** What a store that pushes changes tells its listeners. */
export type StoreNotice =
  /** Jobs became runnable in this queue (submitted, retried, unblocked, resumed, unpaused). */
  | { kind: 'work'; queue: string }
  /** A job this worker runs was cancelled, suspended or resumed by someone else. */
  | { kind: 'control'; workerId: string };

export interface StoreIdentity {
  /** A random id, fixed for the store's life. */
  id: string;
  /** Jobs up to this id may have logs in the place older versions used; 0 when none can. */
  legacyLogsMaxId: number;
}

export interface WriteOptions {
  /**
   * A connection of the caller's, inside the caller's transaction (a `pg` client on PostgreSQL):
   * the write joins that transaction, so the jobs exist exactly when it commits.
   */
  connection?: unknown;
}

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
 * How a resource-aware claim chooses (local resources). When a runnable job it could take asks for
 * GPUs, CPUs or memory, the engine — inside the claim's transaction, serialized with every other
 * claim on the same host — reads what attempts on `request.host` hold, hands `select` the runnable
 * jobs in claim order, starts those it returns and records each allocation on its attempt.
 */
export interface ResourceClaim {
  /** Pure and synchronous: which candidates start, at most `slots`, and what each holds. */
  select(held: AllocationRecord[], candidates: ClaimCandidate[], slots: number): Selected[];
}

/** Which allocations to list. */
export interface AllocationFilter {
  /** Allocations of these jobs' attempts (every attempt, history included). */
  jobIds?: readonly number[];
  /** Only allocations held now: their attempt is running or suspended under a worker. */
  held?: boolean;
}

/** How to settle an attempt that its owner can no longer report (its worker or process is gone). */
export interface LostAttempt {
  jobId: number;
  attempt: number;
  reason: string;
  /**
   * The owner's process was seen gone on this machine, so it cannot renew the lease: settle even if
   * the lease has not lapsed. Otherwise the attempt is settled only if its lease has lapsed when
   * it is settled (checked in the same transaction, under the row's lock), so an owner that renewed
   * in the meantime keeps its job.
   */
  processGone?: boolean;
}

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

/** A finished attempt, for recording many in one transaction. */
export interface FinishedAttempt {
  jobId: number;
  attempt: number;
  outcome: Outcome;
}

export interface QueueSettings {
  /** Most jobs of the queue running at once across all workers; null for no limit. */
  capacity?: number | null;
  paused?: boolean;
}

export interface QueueInfo {
  name: string;
  capacity: number | null;
  paused: boolean;
  counts: StatusCounts;
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

/**
 * What an external scheduler (SLURM) reported about one job it runs: the facade maps SLURM's
 * states onto docket's and the engine applies them through the state machine.
 */
export interface ObservedState {
  jobId: number;
  /** The scheduler's id the report is about; a job whose record names another id is left alone. */
  schedulerJobId: string;
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
}

/** Roles of API tokens: `admin` sees every tenant and changes queues, `member` acts on its tenant's jobs, `viewer` reads. */
export const TOKEN_ROLES = ['admin', 'member', 'viewer'] as const;
export type TokenRole = (typeof TOKEN_ROLES)[number];

/** A stored API token (the secret itself is never stored, only its SHA-256 hash). */
export interface ApiToken {
  id: number;
  name: string | null;
  tenant: string;
  user: string | null;
  role: TokenRole;
  /** The first characters of the secret, to recognise a token in listings. */
  prefix: string;
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
}

export type NewApiToken = Omit<ApiToken, 'id' | 'revokedAt'> & { tokenHash: string };

/** One row of the job change log that triggers fill (see the `job_events` migrations). */
export interface JobEventRecord {
  id: number;
  at: number;
  jobId: number;
  tenant: string;
  queue: string;
  type: string;
  kind: 'created' | 'state' | 'progress' | 'deleted';
  status: JobStatus;
  progress: number | null;
}

/** Columns a job listing may be ordered by (`created_at` is submission order, the id). */
export const SEARCH_ORDERS = ['created_at', 'priority', 'started_at', 'ended_at', 'updated_at', 'name'] as const;
export type SearchOrder = (typeof SEARCH_ORDERS)[number];

/** A page of jobs as the HTTP API asks for it; every field narrows, undefined ones do not. */
export interface JobSearch {
  /** Only this tenant's jobs; undefined for every tenant (admins). */
  tenant?: string;
  ids?: number[];
  /** Any of these states; `delayed` and `blocked` are pending jobs waiting for a time or a dependency. */
  statuses?: (JobStatus | 'delayed' | 'blocked')[];
  queue?: string;
  type?: string;
  group?: string;
  key?: string;
  scheduler?: SchedulerName;
  /** Name or key contains this text (case-insensitive on ASCII). */
  nameOrKeyContains?: string;
  order: SearchOrder;
  descending: boolean;
  limit: number;
  offset: number;
  /** The time `delayed` is measured against. */
  now: number;
}

/** When a finished job was created, became runnable, started and ended (for stats and metrics). */
export interface FinishedTimes {
  queue: string;
  type: string;
  status: JobStatus;
  createdAt: number;
  runAt: number;
  startedAt: number | null;
  endedAt: number;
}

/** Attempts recorded per queue, type and outcome. */
export interface AttemptCount {
  queue: string;
  type: string;
  outcome: JobStatus;
  count: number;
}

export interface StorageEngine {
  readonly capabilities: EngineCapabilities;

  /** Applies pending migrations under a lock; refuses a store newer than the code. */
  migrate(): Promise<{ from: number; to: number }>;
  schemaVersion(): Promise<number>;
  close(): Promise<void>;
  /** Drops every record (config reset-db); the store keeps its identity. */
  reset(): Promise<void>;
  /** The store's identity (made by its first migration): files kept outside it are filed under it. */
  identity(): Promise<StoreIdentity>;

  /** Stores jobs in one transaction; a job whose key exists returns the existing one. */
  submit(jobs: NewJob[], options?: WriteOptions): Promise<SubmitResult[]>;
  /** A job with its attempts; with `tenant`, null unless the job is that tenant's. */
  get(id: number, tenant?: string): Promise<JobWithAttempts | null>;
  list(filter: JobFilter): Promise<Job[]>;
  counts(filter: Pick<JobFilter, 'queue' | 'tenant' | 'type'>): Promise<StatusCounts>;
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
  /** Allocations of local resources (what attempts hold or held). */
  allocations(filter: AllocationFilter): Promise<AllocationRecord[]>;
  /** Records the process that runs an attempt (pid and start time). */
  recordProcess(jobId: number, attempt: number, pid: number, pidStart: number | null): Promise<void>;
  setProgress(jobId: number, attempt: number, progress: number | null, message: string | null): Promise<void>;
  /**
   * Renews the leases of all the worker's jobs and its own heartbeat, in one transaction. Returns
   * the jobs the worker holds (running or suspended under it), or null when the worker is not
   * registered (its registration was removed, e.g. by `config reset-db`).
   */
  heartbeat(workerId: string, leaseMs: number): Promise<HeldJob[] | null>;
  /**
   * Records an attempt's outcome if that attempt still owns the job (returns null otherwise: the
   * job was cancelled, reclaimed or moved on). Applies the retry policy and settles dependents.
   */
  finish(jobId: number, attempt: number, outcome: Outcome): Promise<Job | null>;
  /**
   * `finish` for many attempts in one transaction — and, given a claim request, the claim of the
   * slots they free in that same transaction (the worker's hot path: one commit per batch).
   */
  finishMany(finished: FinishedAttempt[], next?: ClaimRequest): Promise<{ recorded: (Job | null)[]; claimed: Job[] }>;
  /** Saves a handler's checkpoint if the attempt still owns the job. */
  saveCheckpoint(jobId: number, attempt: number, checkpoint: unknown): Promise<void>;
  /** Ends the execution of a job that was suspended while running a handler; the job stays suspended. */
  park(jobId: number, attempt: number): Promise<Job | null>;
  /**
   * Gives a job back to `pending` because its worker is shutting down: the interrupted execution is
   * kept in the history but does not count against max attempts. Null if the attempt no longer owns it.
   */
  release(jobId: number, attempt: number, reason: string): Promise<Job | null>;
  /**
   * Settles attempts whose owner is gone: retried if attempts remain, failed otherwise. An attempt
   * whose lease is still valid as it is settled is left alone, unless `processGone` says why.
   */
  settleLost(lost: LostAttempt[]): Promise<void>;

  cancel(id: number, reason: string): Promise<Job>;
  suspend(id: number): Promise<Job>;
  resume(id: number): Promise<Job>;
  requeue(id: number): Promise<Job>;
  /** Removes finished jobs; returns the ids removed. */
  clear(request: ClearRequest): Promise<number[]>;
  refresh(request: RefreshRequest): Promise<RefreshResult>;
  /** Marks a key as skipped so it never runs, creating the (skipped) job if it does not exist yet. */
  ignore(job: NewJob): Promise<Job>;

  setQueue(name: string, settings: QueueSettings): Promise<QueueInfo>;
  listQueues(): Promise<QueueInfo[]>;
  saveJobTypes(types: StoredJobType[]): Promise<void>;
  listJobTypes(): Promise<StoredJobType[]>;
  saveJobGroups(groups: JobGroupDefinition[]): Promise<void>;
  listJobGroups(): Promise<JobGroupDefinition[]>;

  registerWorker(worker: WorkerInfo): Promise<void>;
  /**
   * Registers `candidate` only if no registered worker serving `queue` passes `isAlive` — one
   * atomic step, so of many processes submitting at once exactly one starts an on-demand worker.
   */
  registerWorkerIfNone(
    candidate: WorkerInfo,
    queue: string,
    isAlive: (worker: WorkerInfo) => boolean,
  ): Promise<boolean>;
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

  // ── jobs of external schedulers (SLURM) ──────────────────────────────────────────────────────

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

  /**
   * Housekeeping a worker runs now and then (about once a minute): on PostgreSQL, a VACUUM of the
   * tables whose dead row versions piled up, so that the updates every job goes through never
   * grow a table without bound, even where autovacuum is off or behind. Returns what it did.
   */
  maintain?(): Promise<string[]>;

  /**
   * Calls `onNotice` for every notice of the store until the returned function is called. Only
   * engines whose capabilities say `pushesChanges` implement it.
   */
  listen?(onNotice: (notice: StoreNotice) => void): Promise<() => Promise<void>>;

  // ── what the HTTP API reads (every job query carries the tenant it is scoped to) ─────────────

  /** One page of matching jobs (`limit` and `offset` of the query). */
  search(query: JobSearch): Promise<Job[]>;
  /** How many jobs match the query's filters (its page is ignored). */
  countJobs(query: JobSearch): Promise<number>;
  /** Every queue's stored settings (no counts: cheap). */
  queueSettings(): Promise<Omit<QueueInfo, 'counts'>[]>;
  /** Ids of the jobs that depend on this one. */
  dependents(id: number): Promise<number[]>;
  /** Deletes these jobs if they are finished (and, with `tenant`, that tenant's); returns the ids deleted. */
  remove(ids: number[], tenant?: string): Promise<number[]>;
  /** Counts per queue and state (of one tenant, or all) with each queue's settings and oldest pending job. */
  queueOverview(tenant?: string): Promise<(QueueInfo & { oldestPendingAt: number | null })[]>;
  /** Jobs (of one tenant, or all) that ended at or after `since`. */
  finishedSince(since: number, tenant?: string): Promise<FinishedTimes[]>;
  /**
   * Jobs (of one tenant, or all) that ended at or after `since`, aggregated in the store: counts
   * per minute from `first` (ms) and outcome, and wait/run percentiles per minute and overall.
   */
  finishedSummary(first: number, since: number, tenant?: string): Promise<FinishedSummary>;
  /** Recorded attempts per queue, type and outcome (for metrics). */
  attemptCounts(): Promise<AttemptCount[]>;

  createToken(token: NewApiToken): Promise<ApiToken>;
  /** The token with this hash, revoked and expired ones included (the caller decides). */
  tokenByHash(hash: string): Promise<ApiToken | null>;
  listTokens(): Promise<ApiToken[]>;
  /** Marks a token revoked; false if there is no such token. */
  revokeToken(id: number): Promise<boolean>;

  /** Job events after `afterId`, oldest first, at most `limit` (of one tenant, or all). */
  eventsAfter(afterId: number, limit: number, tenant?: string): Promise<JobEventRecord[]>;
  /** The id of the newest job event (0 when there is none). */
  lastEventId(): Promise<number>;
  /**
   * Calls `onEvents` soon after new job events were logged, by any process: PostgreSQL's
   * NOTIFY; on SQLite, a cheap indexed check of the newest id a few times a second. Resolves to a
   * function that stops it.
   */
  watchEvents(onEvents: () => void): Promise<() => Promise<void>>;
}
