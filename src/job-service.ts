/**
 * The HTTP API's view of a Docket: every read and change is scoped to a tenant inside the store
 * query (another tenant's job is not found, exactly like a missing one), plus tokens, job events,
 * queue and worker overviews, stats and metrics figures. Part of the facade: it reaches the store
 * only through the storage port and the Docket's own actions.
 */
import { open, stat } from 'node:fs/promises';
import { ApiTokens } from './api-tokens.js';
import type { DocketConfig } from './config/config.js';
import { InvalidInputError, InvalidStateError, NotFoundError } from './core/errors.js';
import { firstMinute, type JobStats, jobStats } from './core/stats.js';
import {
  FINAL_STATUSES,
  type Job,
  type JobSpec,
  type JobStatus,
  type JobWithAttempts,
  type StatusCounts,
  type WorkerInfo,
} from './core/words.js';
import { type ExplainOptions, explainJobs, type ReasonReads } from './job-reasons.js';
import { removeJobLogs } from './paths.js';
import { attachAllocations } from './resources/view.js';
import type {
  AttemptCount,
  FinishedHistogram,
  JobEventRecord,
  JobSearch,
  QueueInfo,
  StorageEngine,
  SubmitResult,
} from './storage/engine.js';
import { workerAlive } from './worker/reconcile.js';

/** Whose jobs a call may see: one tenant's, or (undefined) every tenant's. */
export interface Scope {
  tenant?: string;
}

export type JobAction = 'cancel' | 'retry' | 'delete' | 'suspend' | 'resume';

/** A job as the API shows it: with attempts, dependents and why it is where it is. */
export interface JobDetail extends JobWithAttempts {
  dependents: number[];
  stateReason: string | null;
}

export interface BatchResult {
  matched: number;
  changed: number;
  failed: { id: number; detail: string }[];
}

export interface QueueOverview extends QueueInfo {
  oldestPendingAt: number | null;
}

export interface WorkerOverview extends WorkerInfo {
  alive: boolean;
  runningJobs: number[];
}

/** The most jobs one batch action may touch; larger filters are refused (narrow the filter). */
export const BATCH_ACTION_MAX = 10_000;
/** Jobs changed per step of a batch action. */
const BATCH_STEP = 200;

/** Counts of recent listings kept for reuse (see `search`). */
const TOTALS_CACHED = 256;

/**
 * What the service needs of its Docket: the store, the configuration, and the Docket's own actions
 * (which emit events and wake workers). Declared here so the service does not import the facade.
 */
export interface DocketActions {
  readonly engine: StorageEngine;
  readonly config: Readonly<DocketConfig>;
  submitReporting(specs: JobSpec[]): Promise<SubmitResult[]>;
  cancel(id: number, reason?: string): Promise<Job>;
  suspend(id: number): Promise<Job>;
  resume(id: number): Promise<Job>;
  requeue(id: number): Promise<Job>;
  counts(filter: { queue?: string; tenant?: string }): Promise<StatusCounts>;
  logPaths(id: number): { stdout: string; stderr: string };
}

export class JobService {
  private readonly totals = new Map<string, { eventId: number; total: number }>();
  /** The API's tokens (made, listed, looked up, revoked). */
  readonly tokens: ApiTokens;

  constructor(private readonly docket: DocketActions) {
    this.tokens = new ApiTokens(() => docket.engine);
  }

  private get engine() {
    return this.docket.engine;
  }

  // ── jobs ──────────────────────────────────────────────────────────────────────────────────────

  /** Submits for a tenant and user; each result says whether the job was created or its key existed. */
  async submit(specs: JobSpec[], owner: { tenant: string; user: string | null }): Promise<SubmitResult[]> {
    // A dependency must be the tenant's own job: another tenant's is as unknown as a missing one.
    const wanted = [...new Set(specs.flatMap((spec) => spec.dependsOn ?? []))];
    if (wanted.length > 0) {
      const found = new Set((await this.engine.search(this.idQuery(wanted, owner.tenant))).map((job) => job.id));
      const missing = wanted.find((id) => !found.has(id));
      if (missing !== undefined) throw new InvalidInputError('depends_on', `job ${missing} does not exist`);
    }
    return this.docket.submitReporting(
      specs.map((spec) => ({ ...spec, tenant: owner.tenant, user: owner.user ?? undefined })),
    );
  }

  /** A job of the scope, or NotFoundError (the same for another tenant's job as for a missing one). */
  async get(id: number, scope: Scope): Promise<JobWithAttempts> {
    const job = await this.engine.get(id, scope.tenant);
    if (!job) throw new NotFoundError(`job ${id} does not exist`);
    return job;
  }

  async detail(id: number, scope: Scope): Promise<JobDetail> {
    // The job, its attempts, dependents, the queues' settings and the workers in one read (one
    // statement on PostgreSQL instead of six round trips); the explanation reuses what it read.
    const read = await this.engine.jobDetail(id, scope.tenant);
    if (!read) throw new NotFoundError(`job ${id} does not exist`);
    const { job, dependents, queues, workers } = read;
    await attachAllocations(this.engine, job); // local resources: what each attempt held
    const reads: ReasonReads = {
      queueSettings: async () => queues,
      listWorkers: async () => workers,
      search: (query) => this.engine.search(query),
      countJobs: (query) => this.engine.countJobs(query),
      allocations: (query) => this.engine.allocations(query),
    };
    const reasons = await explainJobs(reads, this.docket.config.worker.leaseMs, [job]);
    const reason = reasons.get(job.id) ?? null;
    return Object.assign(job, { dependents, stateReason: reason });
  }

  /**
   * Why each job is where it is (`state_reason`), from one look at the queues, the live workers and
   * the dependencies of the pending jobs among them (see job-reasons.ts).
   */
  explain(jobs: readonly Job[], options: ExplainOptions = {}): Promise<Map<number, string | null>> {
    return explainJobs(this.engine, this.docket.config.worker.leaseMs, jobs, options);
  }

  private idQuery(ids: number[], tenant?: string): JobSearch {
    return { ids, tenant, order: 'created_at', descending: false, limit: ids.length, offset: 0, now: Date.now() };
  }

  /**
   * One page of jobs and the real number of matches. Counting every match of a large table on
   * every page is the costly part, so a count is reused while the event log shows no change since
   * (every insert, state change and deletion of a job logs an event); filters that depend on the
   * clock (`delayed`) are always counted afresh.
   */
  async search(query: JobSearch): Promise<{ jobs: Job[]; total: number }> {
    const jobs = await this.engine.search(query);
    // A short page (past the first offset only if it has rows) tells the total without counting.
    if (jobs.length < query.limit && (jobs.length > 0 || query.offset === 0)) {
      return { jobs, total: query.offset + jobs.length };
    }
    if (query.statuses?.includes('delayed')) return { jobs, total: await this.engine.countJobs(query) };
    const key = JSON.stringify({ ...query, limit: 0, offset: 0, order: '', descending: false, now: 0 });
    const eventId = await this.engine.lastEventId();
    const cached = this.totals.get(key);
    if (cached && cached.eventId === eventId) return { jobs, total: cached.total };
    const total = await this.engine.countJobs(query);
    if (this.totals.size >= TOTALS_CACHED) this.totals.delete(this.totals.keys().next().value as string);
    this.totals.set(key, { eventId, total });
    return { jobs, total };
  }

  /** Applies an action to one job of the scope; an illegal move is an InvalidStateError, nothing changed. */
  async act(action: JobAction, id: number, scope: Scope): Promise<Job | null> {
    const job = await this.get(id, scope);
    switch (action) {
      case 'cancel':
        return this.docket.cancel(id, 'cancelled by user');
      case 'suspend':
        return this.docket.suspend(id);
      case 'resume':
        return this.docket.resume(id);
      case 'retry':
        return this.docket.requeue(id);
      case 'delete':
        await this.remove(job, scope);
        return null;
    }
  }

  /** Deletes a finished job and its logs; a live one is refused (cancel it first). */
  private async remove(job: Job, scope: Scope): Promise<void> {
    if (!FINAL_STATUSES.includes(job.status)) {
      throw new InvalidStateError(`job ${job.id} is ${job.status}; cancel it before deleting it`);
    }
    const removed = await this.engine.remove([job.id], scope.tenant);
    removeJobLogs(this.docket.config.logsDir, removed);
  }

  /**
   * An action on many jobs — the given ids, or every job matching a search — in steps of a few
   * hundred. Refuses (changing nothing) when more than `max` (at most BATCH_ACTION_MAX) match.
   */
  async actMany(
    action: JobAction,
    target: { ids?: number[]; search?: JobSearch },
    scope: Scope,
    max = BATCH_ACTION_MAX,
  ): Promise<BatchResult> {
    const limit = Math.min(max, BATCH_ACTION_MAX);
    let ids: number[];
    if (target.ids) {
      const found = await this.engine.search({ ...this.idQuery(target.ids, scope.tenant), limit: target.ids.length });
      ids = found.map((job) => job.id);
    } else {
      const query = { ...(target.search as JobSearch), tenant: scope.tenant, limit: limit + 1, offset: 0 };
      ids = (await this.engine.search(query)).map((job) => job.id);
    }
    if (ids.length > limit) {
      throw new InvalidInputError(
        'max',
        `more than ${limit} jobs match; narrow the filter or raise max (at most ${BATCH_ACTION_MAX})`,
      );
    }
    const result: BatchResult = { matched: ids.length, changed: 0, failed: [] };
    for (let start = 0; start < ids.length; start += BATCH_STEP) {
      for (const id of ids.slice(start, start + BATCH_STEP)) {
        try {
          await this.act(action, id, scope);
          result.changed += 1;
        } catch (error) {
          if (!(error instanceof InvalidStateError || error instanceof NotFoundError)) throw error;
          result.failed.push({ id, detail: error.message });
        }
      }
    }
    return result;
  }

  /**
   * Reads a job's log through its record (the request never names a path): from `offset` bytes, or
   * the last `tail` lines. Returns the text and the offset where it ended.
   */
  async readLog(
    id: number,
    scope: Scope,
    stream: 'stdout' | 'stderr',
    from: { offset?: number; tail?: number; maxBytes?: number },
  ): Promise<{ text: string; end: number; job: Job }> {
    const job = await this.get(id, scope);
    const path = this.docket.logPaths(job.id)[stream];
    const size = await stat(path).then(
      (info) => info.size,
      () => 0,
    );
    const maxBytes = from.maxBytes ?? 8 * 1024 * 1024;
    let start = Math.min(from.offset ?? 0, size);
    if (from.tail !== undefined) start = Math.max(0, size - maxBytes);
    const length = Math.min(size - start, maxBytes);
    let text = '';
    if (length > 0) {
      const handle = await open(path, 'r');
      try {
        const buffer = Buffer.alloc(length);
        await handle.read(buffer, 0, length, start);
        text = buffer.toString('utf8');
      } finally {
        await handle.close();
      }
    }
    if (from.tail !== undefined) {
      const lines = text.split('\n');
      const ended = text.endsWith('\n');
      text = lines.slice(-(from.tail + (ended ? 1 : 0))).join('\n');
    }
    return { text, end: start + length, job };
  }

  // ── queues, workers, figures ──────────────────────────────────────────────────────────────────

  queues(scope: Scope): Promise<QueueOverview[]> {
    return this.engine.queueOverview(scope.tenant);
  }

  /** Registered workers, whether they are alive, and the jobs each is running. */
  async workers(scope: Scope = {}): Promise<WorkerOverview[]> {
    const [workers, live] = await Promise.all([this.engine.listWorkers(), this.engine.listLive('local')]);
    const leaseMs = this.docket.config.worker.leaseMs;
    return workers.map((worker) => ({
      ...worker,
      alive: workerAlive(worker, leaseMs),
      runningJobs: live
        .filter((job) => job.workerId === worker.id && job.status === 'running')
        .filter((job) => scope.tenant === undefined || job.tenant === scope.tenant)
        .map((job) => job.id),
    }));
  }

  async stats(windowMs: number, scope: Scope): Promise<JobStats> {
    const now = Date.now();
    const summary = await this.engine.finishedSummary(firstMinute(windowMs, now), now - windowMs, scope.tenant);
    return jobStats(summary, windowMs, now);
  }

  /** What /metrics shows, read from the store (so it covers every worker, not only this process). */
  async metricsFigures(boundsMs: number[]): Promise<{
    queues: QueueOverview[];
    attempts: AttemptCount[];
    histograms: FinishedHistogram[];
    workers: WorkerOverview[];
  }> {
    const [queues, attempts, histograms, workers] = await Promise.all([
      this.engine.queueOverview(),
      this.engine.attemptCounts(),
      this.engine.finishedHistograms(boundsMs),
      this.workers(),
    ]);
    return { queues, attempts, histograms, workers };
  }

  /** Answers when the store does (for /healthz). */
  async ping(): Promise<void> {
    await this.engine.schemaVersion();
  }

  /** True when the store takes many submits in one call at about the cost of one (the API batches them). */
  get groupCommit(): boolean {
    return this.engine.capabilities.groupCommit;
  }

  // ── events ────────────────────────────────────────────────────────────────────────────────────

  eventsAfter(afterId: number, limit: number, scope: Scope): Promise<JobEventRecord[]> {
    return this.engine.eventsAfter(afterId, limit, scope.tenant);
  }

  lastEventId(): Promise<number> {
    return this.engine.lastEventId();
  }

  watchEvents(onEvents: () => void): Promise<() => Promise<void>> {
    return this.engine.watchEvents(onEvents);
  }

  /** Counts per state for one queue (of one tenant, or all), for `queue.counts` events. */
  async queueCounts(queue: string, scope: Scope): Promise<Record<JobStatus, number> & { total: number }> {
    return this.docket.counts({ queue, tenant: scope.tenant });
  }
}
