/**
 * What the HTTP API and the views read (every job query carries the tenant it is scoped to),
 * API tokens and the job event log.
 */
import type { AllocationRecord } from '../../core/resources.js';
import type { FinishedSummary } from '../../core/stats.js';
import type { Job, JobStatus, JobWithAttempts, SchedulerName, WorkerInfo } from '../../core/words.js';
import type { QueueInfo } from './catalog.js';

/** Which allocations to list. */
export interface AllocationFilter {
  /** Allocations of these jobs' attempts (every attempt, history included). */
  jobIds?: readonly number[];
  /** Only allocations held now: their attempt is running or suspended under a worker. */
  held?: boolean;
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
  /** Name matches this glob (`*` any text, `?` one character; case-insensitive on ASCII). */
  nameGlob?: string;
  /** Created at or after this time (ms). */
  createdFrom?: number;
  /** Created before this time (ms). */
  createdBefore?: number;
  order: SearchOrder;
  descending: boolean;
  limit: number;
  offset: number;
  /** The time `delayed` is measured against. */
  now: number;
}

/**
 * Finished jobs of a queue counted into time buckets, for a metrics histogram: `run` from start
 * to end, `wait` from runnable (created or run-at) to start; jobs that never started are left out.
 */
export interface FinishedHistogram {
  queue: string;
  measure: 'run' | 'wait';
  /** Jobs per bucket: `counts[i]` took at most `boundsMs[i]` and more than the bound before; the last entry counts those above every bound. */
  counts: number[];
  sumMs: number;
  count: number;
}

/** Attempts recorded per queue, type and outcome. */
export interface AttemptCount {
  queue: string;
  type: string;
  outcome: JobStatus;
  count: number;
}

/** A job with its attempts, its dependents, the queues' settings and the workers, read together. */
export interface JobDetailRead {
  job: JobWithAttempts;
  dependents: number[];
  queues: Omit<QueueInfo, 'counts'>[];
  /** As `listWorkers`. */
  workers: WorkerInfo[];
}

/** What the HTTP API and the views read (every job query carries the tenant it is scoped to), tokens and the event log. */
export interface ApiReads {
  /** Allocations of local resources (what attempts hold or held). */
  allocations(filter: AllocationFilter): Promise<AllocationRecord[]>;
  /** One page of matching jobs (`limit` and `offset` of the query). */
  search(query: JobSearch): Promise<Job[]>;
  /** How many jobs match the query's filters (its page is ignored). */
  countJobs(query: JobSearch): Promise<number>;
  /** Every queue's stored settings (no counts: cheap). */
  queueSettings(): Promise<Omit<QueueInfo, 'counts'>[]>;
  /** Ids of the jobs that depend on this one. */
  dependents(id: number): Promise<number[]>;
  /**
   * What `GET /jobs/{id}` shows, in one read (on PostgreSQL one statement, not five round trips):
   * the job of the scope with its attempts (as `get`), the ids of its dependents, every queue's
   * settings and the registered workers (what its state_reason is worded from); null when the
   * scope has no such job.
   */
  jobDetail(id: number, tenant?: string): Promise<JobDetailRead | null>;
  /**
   * A number that changes when another connection commits to the store (SQLite's
   * `PRAGMA data_version`, a few µs): what a process keeps of rows it read (verified tokens) is
   * stale when it moved. Stores that send change notices answer 0.
   */
  changeStamp(): Promise<number>;
  /** Deletes these jobs if they are finished (and, with `tenant`, that tenant's); returns the ids deleted. */
  remove(ids: number[], tenant?: string): Promise<number[]>;
  /** Counts per queue and state (of one tenant, or all) with each queue's settings and oldest pending job. */
  queueOverview(tenant?: string): Promise<(QueueInfo & { oldestPendingAt: number | null })[]>;
  /** Run and wait times of every finished job, counted into buckets by the store (for metrics). */
  finishedHistograms(boundsMs: number[]): Promise<FinishedHistogram[]>;
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
