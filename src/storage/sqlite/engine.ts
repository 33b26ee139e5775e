/**
 * The embedded engine: one SQLite file shared safely by many processes. WAL lets readers run
 * beside the one writer; every write is a short `BEGIN IMMEDIATE` transaction (so two writers never
 * deadlock upgrading a read lock, which SQLite reports as "database is locked" without waiting);
 * a generous busy timeout makes writers queue instead of failing.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { InvalidInputError, NotFoundError, StorageError } from '../../core/errors.js';
import type { JobGroupDefinition, StoredJobType } from '../../core/job-types.js';
import type { Allocation, AllocationRecord } from '../../core/resources.js';
import type { NewJob } from '../../core/spec.js';
import { refuse, refuseRequeueBehind, transition } from '../../core/states.js';
import type { FinishedSummary } from '../../core/stats.js';
import type {
  Job,
  JobFilter,
  JobStatus,
  JobWithAttempts,
  Outcome,
  SchedulerName,
  StatusCounts,
  WorkerInfo,
} from '../../core/words.js';
import type {
  AllocationFilter,
  ApiToken,
  AttemptCount,
  ClaimRequest,
  ClearRequest,
  EngineCapabilities,
  FinishedAttempt,
  FinishedTimes,
  HeldJob,
  JobEventRecord,
  JobSearch,
  LostAttempt,
  NewApiToken,
  ObservedState,
  QueueInfo,
  QueueSettings,
  RefreshRequest,
  RefreshResult,
  StorageEngine,
  StoreIdentity,
  SubmitResult,
  SuspectAttempt,
  WriteOptions,
} from '../engine.js';
import { assertNotNewer, loadMigrations, migrationsDir } from '../migrate.js';
import { applyOutcome, countsFrom, dependencyState, liveAttempt, nextOccurrence, pickWithinRoom } from '../records.js';
import {
  attemptFromRow,
  type ExecutionRow,
  type JobRow,
  jobFromRow,
  newJobRecord,
  suspectFromRow,
  type WorkerRow,
  workerFromRow,
} from '../rows.js';
import { SqliteAllocations } from './allocations.js';
import { SqliteApiStore } from './api.js';
import { SqliteCatalog } from './catalog.js';
import { ExternalJobs } from './external.js';
import { claimFilter, INSERT_JOB, insertJobsSql, insertValues, whereClause } from './statements.js';

/** Writers wait this long for the lock before giving up: far beyond any docket transaction. */
const BUSY_TIMEOUT_MS = 60_000;

/**
 * Puts the file in WAL mode. Changing the journal mode needs the file to itself, and SQLite answers
 * SQLITE_BUSY at once there instead of waiting out the busy timeout, so a process that opens the file
 * while another one is creating it ("database is locked" from a worker and a server started
 * together) retries for as long as that timeout.
 */
function useWal(db: Database.Database): void {
  const deadline = Date.now() + BUSY_TIMEOUT_MS;
  for (;;) {
    try {
      if (db.pragma('journal_mode', { simple: true }) !== 'wal') db.pragma('journal_mode = WAL');
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() > deadline) throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
}
/**
 * The jobs that take a slot of their queue's capacity: running ones, and suspended ones whose
 * process is only stopped (SIGSTOP) — resuming continues them in place, so they keep their slot.
 */
const HOLDS_SLOT = "(status = 'running' OR (status = 'suspended' AND pid IS NOT NULL AND worker_id IS NOT NULL))";
/** Rows per multi-row insert: 29 values each stays far below SQLite's limit on bound values. */
const BULK_ROWS = 64;

type Statement = Database.Statement<unknown[], unknown>;

export interface SqliteOptions {
  /** Path of the database file (created with its folder if missing). */
  path: string;
}

export class SqliteEngine implements StorageEngine {
  readonly capabilities: EngineCapabilities = {
    name: 'sqlite',
    singleHost: true,
    onDemandWorkers: true,
    pushesChanges: false,
  };
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Statement>();
  private readonly immediate: (work: () => unknown) => unknown;
  private readonly catalog = new SqliteCatalog(
    (text) => this.sql(text),
    (work) => this.write(work),
  );
  private readonly allocationStore = new SqliteAllocations((text) => this.sql(text));
  private readonly external = new ExternalJobs(
    (text) => this.sql(text),
    (work) => this.write(work),
    (jobId, attempt, outcome) => this.settle(jobId, attempt, outcome),
    (rows) => this.attachDeps(rows),
  );

  private readonly api = new SqliteApiStore(
    (text) => this.sql(text),
    (work) => this.write(work),
    (rows) => this.attachDeps(rows),
  );

  constructor(options: SqliteOptions) {
    mkdirSync(dirname(options.path), { recursive: true });
    this.db = new Database(options.path, { timeout: BUSY_TIMEOUT_MS });
    useWal(this.db);
    // NORMAL is durable across process crashes in WAL mode; only a power cut can lose the last commits.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    // One transaction wrapper for every write: creating one per call costs more than a small insert.
    this.immediate = this.db.transaction((work: () => unknown) => work()).immediate;
  }

  /** A cached prepared statement: preparing is the costly part of a small query. */
  private sql(text: string): Statement {
    let statement = this.statements.get(text);
    if (!statement) {
      statement = this.db.prepare(text);
      this.statements.set(text, statement);
    }
    return statement;
  }

  /** Runs `work` in a `BEGIN IMMEDIATE` transaction. */
  private write<T>(work: () => T): T {
    return this.immediate(work) as T;
  }

  async migrate(): Promise<{ from: number; to: number }> {
    const migrations = loadMigrations(migrationsDir(import.meta.url, 'sqlite'));
    const latest = migrations.length;
    return this.write(() => {
      const from = this.db.pragma('user_version', { simple: true }) as number;
      assertNotNewer(from, latest, 'this database');
      for (const migration of migrations.slice(from)) this.db.exec(migration.sql);
      if (latest !== from) this.db.pragma(`user_version = ${latest}`);
      return { from, to: latest };
    });
  }

  async schemaVersion(): Promise<number> {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  async reset(): Promise<void> {
    this.write(() => {
      this.db.exec(
        'DELETE FROM allocations; DELETE FROM executions; DELETE FROM job_deps; DELETE FROM jobs; DELETE FROM workers; DELETE FROM job_events;',
      );
      this.db.exec("DELETE FROM sqlite_sequence WHERE name = 'jobs'");
      // Ids start again at 1: none of them may read logs left in the old place.
      this.db.exec('UPDATE docket_store SET legacy_logs_max_id = 0');
    });
  }

  async identity(): Promise<StoreIdentity> {
    const row = this.sql('SELECT id, legacy_logs_max_id FROM docket_store').get() as
      | { id: string; legacy_logs_max_id: number }
      | undefined;
    if (!row) throw new StorageError('this database has no identity; run docket db migrate');
    return { id: row.id, legacyLogsMaxId: row.legacy_logs_max_id };
  }

  // ── submit and read ──────────────────────────────────────────────────────────────────────────

  async submit(jobs: NewJob[], options: WriteOptions = {}): Promise<SubmitResult[]> {
    if (options.connection !== undefined) {
      throw new InvalidInputError('connection', 'the SQLite engine has no outside transactions to join; leave it out');
    }
    const now = Date.now();
    return this.write(() => this.insertMany(jobs, now));
  }

  /**
   * Inserts jobs in order. Runs of plain jobs (no key to look up, no dependencies to check) go in
   * multi-row statements of up to BULK_ROWS rows; their ids are consecutive, since this
   * transaction is the only writer.
   */
  private insertMany(jobs: NewJob[], now: number): SubmitResult[] {
    const results: SubmitResult[] = [];
    let run: NewJob[] = [];
    const flush = () => {
      for (let start = 0; start < run.length; start += BULK_ROWS)
        this.insertPlain(run.slice(start, start + BULK_ROWS), now, results);
      run = [];
    };
    for (const job of jobs) {
      if (job.key == null && job.dependsOn.length === 0) {
        run.push(job);
        continue;
      }
      flush();
      results.push(this.insertOne(job, now));
    }
    flush();
    return results;
  }

  private insertPlain(jobs: NewJob[], now: number, results: SubmitResult[]): void {
    if (jobs.length === 1) {
      results.push(this.insertOne(jobs[0] as NewJob, now));
      return;
    }
    const values: unknown[] = [];
    for (const job of jobs) values.push(...insertValues(job, 'pending', 0, null, now));
    const last = Number(this.sql(insertJobsSql(jobs.length)).run(...values).lastInsertRowid);
    const first = last - jobs.length + 1;
    jobs.forEach((job, index) => {
      results.push({ job: newJobRecord(first + index, job, 'pending', 0, null, now), created: true });
    });
  }

  private insertOne(job: NewJob, now: number): SubmitResult {
    if (job.key != null) {
      const existing = this.sql('SELECT * FROM jobs WHERE tenant = ? AND type = ? AND key = ?').get(
        job.tenant,
        job.type,
        job.key,
      ) as JobRow | undefined;
      if (existing) return { job: this.withDeps(existing), created: false };
    }
    const statusOf = this.sql('SELECT status FROM jobs WHERE id = ?').pluck();
    const { status, blockedBy, skipReason } = dependencyState(
      job.dependsOn,
      (id) => statusOf.get(id) as JobStatus | undefined,
    );
    // No RETURNING, and positional values: the record is known here, and both cost more than the insert.
    const id = Number(
      this.sql(INSERT_JOB).run(...insertValues(job, status, blockedBy, skipReason, now)).lastInsertRowid,
    );
    if (job.dependsOn.length > 0) {
      const addDep = this.sql('INSERT INTO job_deps (job_id, depends_on) VALUES (?, ?)');
      const markParent = this.sql('UPDATE jobs SET has_dependents = 1 WHERE id = ? AND has_dependents = 0');
      for (const parent of job.dependsOn) {
        addDep.run(id, parent);
        markParent.run(parent);
      }
    }
    return { job: newJobRecord(id, job, status, blockedBy, skipReason, now), created: true };
  }

  private withDeps(row: JobRow): Job {
    const deps = this.sql('SELECT depends_on FROM job_deps WHERE job_id = ? ORDER BY depends_on')
      .pluck()
      .all(row.id) as number[];
    return jobFromRow(row, deps);
  }

  async get(id: number, tenant?: string): Promise<JobWithAttempts | null> {
    const row = (
      tenant === undefined
        ? this.sql('SELECT * FROM jobs WHERE id = ?').get(id)
        : this.sql('SELECT * FROM jobs WHERE id = ? AND tenant = ?').get(id, tenant)
    ) as JobRow | undefined;
    if (!row) return null;
    const executions = (
      this.sql('SELECT * FROM executions WHERE job_id = ? ORDER BY attempt').all(id) as ExecutionRow[]
    ).map(attemptFromRow);
    const live = liveAttempt(row, executions);
    if (live) executions.push(live);
    const job = this.withDeps(row) as JobWithAttempts;
    job.executions = executions;
    return job;
  }

  async list(filter: JobFilter): Promise<Job[]> {
    const { clause, args } = whereClause(
      [
        ['queue', filter.queue],
        ['scheduler', filter.scheduler],
        ['tenant', filter.tenant],
        ['type', filter.type],
        ['key', filter.key],
      ],
      filter.statuses,
    );
    const order = filter.order === 'desc' ? 'DESC' : 'ASC';
    let where = clause;
    if (filter.afterId !== undefined) {
      where = `${clause ? `${clause} AND` : 'WHERE'} id ${order === 'DESC' ? '<' : '>'} ?`;
      args.push(filter.afterId);
    }
    const rows = this.sql(`SELECT * FROM jobs ${where} ORDER BY id ${order} LIMIT ? OFFSET ?`).all(
      ...args,
      filter.limit ?? -1,
      filter.offset ?? 0,
    ) as JobRow[];
    return this.attachDeps(rows);
  }

  /** Adds dependencies to many jobs with one query instead of one per job. */
  private attachDeps(rows: JobRow[]): Job[] {
    if (rows.length === 0) return [];
    const deps = new Map<number, number[]>();
    const edges = this.sql(
      'SELECT job_id, depends_on FROM job_deps WHERE job_id IN (SELECT value FROM json_each(?)) ORDER BY depends_on',
    ).all(JSON.stringify(rows.map((row) => row.id))) as { job_id: number; depends_on: number }[];
    for (const edge of edges) {
      const list = deps.get(edge.job_id);
      if (list) list.push(edge.depends_on);
      else deps.set(edge.job_id, [edge.depends_on]);
    }
    return rows.map((row) => jobFromRow(row, deps.get(row.id)));
  }

  async counts(filter: Pick<JobFilter, 'queue' | 'tenant' | 'type'>): Promise<StatusCounts> {
    const { clause, args } = whereClause([
      ['queue', filter.queue],
      ['tenant', filter.tenant],
      ['type', filter.type],
    ]);
    const rows = this.sql(`SELECT status, count(*) AS n FROM jobs ${clause} GROUP BY status`).all(...args) as {
      status: JobStatus;
      n: number;
    }[];
    return countsFrom(rows);
  }

  async listLive(scheduler: SchedulerName): Promise<Job[]> {
    const rows = this.sql(
      "SELECT * FROM jobs WHERE status IN ('running', 'suspended') AND scheduler = ? ORDER BY id",
    ).all(scheduler) as JobRow[];
    return rows.map((row) => jobFromRow(row));
  }

  async listSuspect(scheduler: SchedulerName, liveWorkerIds: readonly string[]): Promise<SuspectAttempt[]> {
    // The owners are read from the jobs_worker index alone; only the suspects' rows are read.
    const rows = this.sql(
      `SELECT * FROM jobs WHERE id IN (
         SELECT id FROM jobs INDEXED BY jobs_worker WHERE status IN ('running', 'suspended') AND worker_id IS NOT NULL
         AND worker_id NOT IN (SELECT value FROM json_each(?)))
       AND scheduler = ? ORDER BY id`,
    ).all(JSON.stringify(liveWorkerIds), scheduler) as JobRow[];
    return rows.map(suspectFromRow);
  }

  async runnableQueues(scheduler: SchedulerName): Promise<string[]> {
    return this.sql(
      `SELECT DISTINCT queue FROM jobs WHERE status = 'pending' AND blocked_by = 0 AND scheduler = ? AND run_at <= ?
       AND queue NOT IN (SELECT name FROM queues WHERE paused = 1)`,
    )
      .pluck()
      .all(scheduler, Date.now()) as string[];
  }

  async nextRunAt(
    queues: readonly string[],
    types: readonly string[],
    scheduler: SchedulerName,
    after = Number.MIN_SAFE_INTEGER,
  ): Promise<number | null> {
    const { clause, args } = claimFilter({ queues, types }, new Set());
    return (this.sql(
      `SELECT min(run_at) FROM jobs WHERE status = 'pending' AND blocked_by = 0 AND scheduler = ? ${clause}
       AND run_at > ?`,
    )
      .pluck()
      .get(scheduler, ...args, after) ?? null) as number | null;
  }

  // ── the worker's hot path ────────────────────────────────────────────────────────────────────

  async claim(request: ClaimRequest): Promise<Job[]> {
    return this.write(() => this.claimNow(request));
  }

  /** Claims inside the current write transaction. */
  private claimNow(request: ClaimRequest): Job[] {
    const now = request.now ?? Date.now();
    {
      const allocations = new Map<number, Allocation>();
      const ids = this.pickRunnable(request, now, allocations);
      if (ids.length === 0) return [];
      // Set-wise statements per batch, not per job: the claim is the hot path. The attempt's
      // executions row is written when it ends; until then the job row describes it (see get()).
      const idList = JSON.stringify(ids);
      this.sql(
        `UPDATE jobs SET status = 'running', attempts = attempts + 1, run_no = run_no + 1, worker_id = ?, host = ?,
           machine = ?, pid = NULL, pid_start = NULL, started_at = ?, ended_at = NULL, lease_expires_at = ?, exit_code = NULL,
           signal = NULL, error = NULL, error_stack = NULL, updated_at = ?
         WHERE id IN (SELECT value FROM json_each(?))`,
      ).run(request.workerId, request.host, request.machine ?? null, now, now + request.leaseMs, now, idList);
      const rows = this.sql('SELECT * FROM jobs WHERE id IN (SELECT value FROM json_each(?))').all(idList) as JobRow[];
      const order = new Map(ids.map((id, index) => [id, index]));
      rows.sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0));
      // Local resources: what each started attempt holds, recorded in the claim's transaction.
      if (allocations.size > 0)
        this.allocationStore.record(allocations, new Map(rows.map((row) => [row.id, row.run_no])), request);
      return this.attachDeps(rows);
    }
  }

  /**
   * The ids to claim: runnable jobs in priority order, skipping paused queues and queues whose
   * capacity is used up. Claims are serialized by the write lock, so capacities hold across workers.
   * A resource-aware claim fills `allocations` with what each picked job will hold.
   */
  private pickRunnable(request: ClaimRequest, now: number, allocations: Map<number, Allocation>): number[] {
    const limits = this.sql(
      'SELECT name, capacity, paused FROM queues WHERE capacity IS NOT NULL OR paused = 1',
    ).all() as {
      name: string;
      capacity: number | null;
      paused: number;
    }[];
    const room = new Map<string, number>();
    const closed = new Set<string>();
    for (const limit of limits) {
      if (limit.paused) closed.add(limit.name);
      else if (limit.capacity !== null) {
        const running = this.sql(`SELECT count(*) FROM jobs WHERE queue = ? AND ${HOLDS_SLOT}`)
          .pluck()
          .get(limit.name) as number;
        if (running >= limit.capacity) closed.add(limit.name);
        else room.set(limit.name, limit.capacity - running);
      }
    }
    const picked: number[] = [];
    if (request.resources) {
      const { selected, queues } = this.allocationStore.pick({ ...request, resources: request.resources }, now, closed);
      const fitting = selected.map((choice) => ({ id: choice.id, queue: queues.get(choice.id) as string }));
      pickWithinRoom(fitting, room, closed, picked, request.limit);
      for (const choice of selected) {
        if (choice.allocation && picked.includes(choice.id)) allocations.set(choice.id, choice.allocation);
      }
      return picked;
    }
    // A second round is needed only when a capacity filled up while walking the first.
    for (let round = 0; round < 4 && picked.length < request.limit; round++) {
      const { clause, args } = claimFilter(request, closed);
      const candidates = this.sql(
        // INDEXED BY: without it the planner may pick the state index and sort every pending job.
        `SELECT id, queue FROM jobs INDEXED BY jobs_claim
         WHERE status = 'pending' AND blocked_by = 0 AND scheduler = ? AND run_at <= ? ${clause}
         ORDER BY priority DESC, id LIMIT ?`,
        // Jobs picked in an earlier round are still pending in the table: fetch past them.
      ).all(request.scheduler, now, ...args, request.limit + picked.length) as { id: number; queue: string }[];
      const filled = pickWithinRoom(candidates, room, closed, picked, request.limit);
      if (!filled || candidates.length === 0) break;
    }
    return picked;
  }

  async allocations(filter: AllocationFilter): Promise<AllocationRecord[]> {
    return this.allocationStore.list(filter);
  }

  async recordProcess(jobId: number, attempt: number, pid: number, pidStart: number | null): Promise<void> {
    this.write(() => {
      this.sql(
        `UPDATE jobs SET pid = ?, pid_start = ?, updated_at = ? WHERE id = ? AND run_no = ?
         AND status IN ('running', 'suspended')`,
      ).run(pid, pidStart, Date.now(), jobId, attempt);
    });
  }

  async setProgress(jobId: number, attempt: number, progress: number | null, message: string | null): Promise<void> {
    this.sql(
      `UPDATE jobs SET progress = ?, progress_message = ?, updated_at = ? WHERE id = ? AND run_no = ?
       AND status IN ('running', 'suspended')`,
    ).run(progress, message, Date.now(), jobId, attempt);
  }

  async heartbeat(workerId: string, leaseMs: number): Promise<HeldJob[] | null> {
    const now = Date.now();
    return this.write(() => {
      const held = this.sql(
        `UPDATE jobs SET lease_expires_at = ? WHERE worker_id = ? AND status IN ('running', 'suspended')
         RETURNING id, run_no, status, started_at`,
      ).all(now + leaseMs, workerId) as { id: number; run_no: number; status: JobStatus; started_at: number | null }[];
      if (this.sql('UPDATE workers SET heartbeat_at = ? WHERE id = ?').run(now, workerId).changes === 0) return null;
      return held
        .map((row) => ({ id: row.id, runNo: row.run_no, status: row.status, startedAt: row.started_at }))
        .sort((a, b) => a.id - b.id);
    });
  }

  async finish(jobId: number, attempt: number, outcome: Outcome): Promise<Job | null> {
    return this.write(() => this.settle(jobId, attempt, outcome));
  }

  async finishMany(
    finished: FinishedAttempt[],
    next?: ClaimRequest,
  ): Promise<{ recorded: (Job | null)[]; claimed: Job[] }> {
    return this.write(() => {
      const recorded = finished.map((item) => this.settle(item.jobId, item.attempt, item.outcome));
      const claimed = next && next.limit > 0 ? this.claimNow(next) : [];
      return { recorded, claimed };
    });
  }

  async saveCheckpoint(jobId: number, attempt: number, checkpoint: unknown): Promise<void> {
    this.sql('UPDATE jobs SET checkpoint = ?, updated_at = ? WHERE id = ? AND run_no = ?').run(
      JSON.stringify(checkpoint ?? null),
      Date.now(),
      jobId,
      attempt,
    );
  }

  async park(jobId: number, attempt: number): Promise<Job | null> {
    return this.write(() => {
      const now = Date.now();
      const current = this.sql('SELECT * FROM jobs WHERE id = ?').get(jobId) as JobRow | undefined;
      if (current && current.run_no === attempt)
        this.closeExecution(current, 'suspended', 'suspended', null, null, now);
      // The suspended execution does not count against max attempts: resuming starts a new one.
      const row = this.sql(
        `UPDATE jobs SET attempts = max(attempts - 1, 0), worker_id = NULL, lease_expires_at = NULL, updated_at = ?
         WHERE id = ? AND run_no = ? AND status = 'suspended' RETURNING *`,
      ).get(now, jobId, attempt) as JobRow | undefined;
      return row ? jobFromRow(row) : null;
    });
  }

  async settleLost(lost: LostAttempt[]): Promise<void> {
    this.write(() => {
      const now = Date.now();
      // Inside the write lock: an owner's renewal either committed before this read or waits for it.
      const leaseOf = this.sql('SELECT lease_expires_at FROM jobs WHERE id = ? AND run_no = ?').pluck();
      for (const item of lost) {
        const lease = leaseOf.get(item.jobId, item.attempt) as number | null | undefined;
        if (!item.processGone && lease != null && lease >= now) continue; // renewed: still owned
        this.settle(item.jobId, item.attempt, { status: 'failed', error: item.reason });
      }
    });
  }

  async release(jobId: number, attempt: number, reason: string): Promise<Job | null> {
    return this.write(() => {
      const now = Date.now();
      const current = this.sql('SELECT * FROM jobs WHERE id = ?').get(jobId) as JobRow | undefined;
      const owned = current && current.run_no === attempt && ['running', 'suspended'].includes(current.status);
      if (owned) this.closeExecution(current, 'cancelled', reason, null, null, now);
      const row = this.sql(
        `UPDATE jobs SET status = 'pending', attempts = max(attempts - 1, 0), worker_id = NULL, pid = NULL,
           pid_start = NULL, lease_expires_at = NULL, run_at = ?, updated_at = ?
         WHERE id = ? AND run_no = ? AND status IN ('running', 'suspended') RETURNING *`,
      ).get(now, now, jobId, attempt) as JobRow | undefined;
      return row ? jobFromRow(row) : null;
    });
  }

  /** Records an attempt's end inside a write transaction; null if the attempt no longer owns the job. */
  private settle(jobId: number, attempt: number, outcome: Outcome): Job | null {
    const now = Date.now();
    const current = this.sql('SELECT * FROM jobs WHERE id = ?').get(jobId) as JobRow | undefined;
    if (!current || current.run_no !== attempt || !['running', 'suspended'].includes(current.status)) {
      // Someone else ended the attempt (cancel, reclaim): keep their outcome, add how the work exited.
      this.sql(
        `UPDATE executions SET exit_code = coalesce(exit_code, ?), signal = coalesce(signal, ?)
         WHERE job_id = ? AND attempt = ?`,
      ).run(outcome.exitCode ?? null, outcome.signal ?? null, jobId, attempt);
      return null;
    }
    this.closeExecution(
      current,
      outcome.status,
      outcome.error ?? null,
      outcome.exitCode ?? null,
      outcome.signal ?? null,
      now,
    );
    const row = current;
    applyOutcome(row, outcome, now);
    const status = row.status as JobStatus;
    this.sql(
      `UPDATE jobs SET status = ?, exit_code = ?, signal = ?, error = ?, error_stack = ?, result = ?, ended_at = ?,
         run_at = ?, lease_expires_at = NULL, updated_at = ?, progress = ?
       WHERE id = ?`,
    ).run(
      row.status,
      row.exit_code,
      row.signal,
      row.error,
      row.error_stack,
      row.result,
      row.ended_at,
      row.run_at,
      row.updated_at,
      row.progress,
      row.id,
    );
    if (row.has_dependents === 1 && status === 'completed') this.unblockDependents(jobId);
    else if (row.has_dependents === 1 && status !== 'pending') this.skipDependents(jobId, status);
    if (row.cron !== null && status !== 'pending') this.scheduleNextOccurrence(row, now);
    return jobFromRow(row);
  }

  /**
   * A recurring job that ended (other than by cancel) makes its next occurrence: one job for the
   * next tick after now, so ticks missed while no worker ran collapse into one run. The key makes
   * it exactly one even if two processes tried.
   */
  private scheduleNextOccurrence(row: JobRow, now: number): void {
    const next = nextOccurrence(row, now);
    if (next === null) return;
    this.sql(
      `INSERT INTO jobs (name, type, status, scheduler, queue, priority, command, argv, cwd, env, resources,
         time_limit_s, max_attempts, retry_delay_s, retry_backoff, retry_max_delay_s, retry_jitter, run_at,
         blocked_by, key, tenant, user_name, params, job_group, cron, created_at, updated_at)
       SELECT name, type, 'pending', scheduler, queue, priority, command, argv, cwd, env, resources,
         time_limit_s, max_attempts, retry_delay_s, retry_backoff, retry_max_delay_s, retry_jitter, ?,
         0, ?, tenant, user_name, params, job_group, cron, ?, ?
       FROM jobs WHERE id = ? ON CONFLICT DO NOTHING`,
    ).run(next.runAt, next.key, now, now, row.id);
  }

  /** Writes the executions row of the attempt the job row describes, as it ends. */
  private closeExecution(
    row: JobRow,
    status: JobStatus,
    error: string | null,
    exitCode: number | null,
    signal: string | null,
    now: number,
  ): void {
    this.sql(
      `INSERT INTO executions (job_id, attempt, status, started_at, ended_at, exit_code, signal, error, host, pid, worker_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (job_id, attempt) DO UPDATE SET exit_code = coalesce(executions.exit_code, excluded.exit_code),
         signal = coalesce(executions.signal, excluded.signal)`,
    ).run(
      row.id,
      row.run_no,
      status,
      row.started_at ?? now,
      now,
      exitCode,
      signal,
      error,
      row.host,
      row.pid,
      row.worker_id,
    );
  }

  private unblockDependents(jobId: number): void {
    // Driven from the edge table: most jobs have no dependents, and then this is one index probe.
    const dependents = this.sql('SELECT job_id FROM job_deps WHERE depends_on = ?').pluck().all(jobId) as number[];
    const unblock = this.sql(
      `UPDATE jobs SET blocked_by = blocked_by - 1 WHERE id = ? AND blocked_by > 0 AND status IN ('pending', 'suspended')`,
    );
    for (const id of dependents) unblock.run(id);
  }

  /** A dependency ended without completing: its waiting dependents, and theirs, become skipped. */
  private skipDependents(jobId: number, status: JobStatus): void {
    const now = Date.now();
    const dependentsOf = this.sql('SELECT job_id FROM job_deps WHERE depends_on = ?').pluck();
    const skipOne = this.sql(
      `UPDATE jobs SET status = 'skipped', error = ?, ended_at = ?, updated_at = ?
       WHERE id = ? AND status IN ('pending', 'suspended')`,
    );
    const skip = {
      all: (reason: string, parent: number) =>
        (dependentsOf.all(parent) as number[]).filter((id) => skipOne.run(reason, now, now, id).changes > 0),
    };
    let frontier: { id: number; reason: string }[] = [{ id: jobId, reason: `dependency ${jobId} ended ${status}` }];
    while (frontier.length > 0) {
      const next: { id: number; reason: string }[] = [];
      for (const parent of frontier) {
        const skipped = skip.all(parent.reason, parent.id);
        for (const id of skipped) next.push({ id, reason: `dependency ${id} was skipped (${parent.reason})` });
      }
      frontier = next;
    }
  }

  // ── commands on one job ──────────────────────────────────────────────────────────────────────

  private mustGet(id: number): JobRow {
    const row = this.sql('SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined;
    if (!row) throw new NotFoundError(`job ${id} does not exist; see docket list --all`);
    return row;
  }

  async cancel(id: number, reason: string): Promise<Job> {
    return this.write(() => {
      const current = this.mustGet(id);
      transition(id, current.status as JobStatus, 'cancelled', 'cancel');
      const now = Date.now();
      if (current.worker_id !== null && ['running', 'suspended'].includes(current.status)) {
        this.closeExecution(current, 'cancelled', reason, null, null, now);
      }
      const row = this.sql(
        `UPDATE jobs SET status = 'cancelled', error = ?, ended_at = ?, lease_expires_at = NULL, updated_at = ?
         WHERE id = ? RETURNING *`,
      ).get(reason, now, now, id) as JobRow;
      this.skipDependents(id, 'cancelled');
      return jobFromRow(row);
    });
  }

  async suspend(id: number): Promise<Job> {
    return this.write(() => {
      const current = this.mustGet(id);
      transition(id, current.status as JobStatus, 'suspended', 'suspend');
      return this.setStatus(id, 'suspended');
    });
  }

  async resume(id: number): Promise<Job> {
    return this.write(() => {
      const current = this.mustGet(id);
      if (current.status !== 'suspended') throw refuse(id, current.status as JobStatus, 'resume');
      // A command's stopped process is still there to continue; anything else starts over.
      // So does a job an external scheduler had started (SLURM resumes it in place); its worker id
      // names that scheduler while the current submission has started.
      const inPlace = current.pid != null || (current.scheduler_job_id != null && current.worker_id != null);
      const target: JobStatus = inPlace && current.ended_at == null && current.run_no > 0 ? 'running' : 'pending';
      return this.setStatus(id, target);
    });
  }

  async requeue(id: number): Promise<Job> {
    return this.write(() => {
      const current = this.mustGet(id);
      transition(id, current.status as JobStatus, 'pending', 'requeue');
      const parents = this.sql('SELECT depends_on FROM job_deps WHERE job_id = ?').pluck().all(id) as number[];
      const ended = this.sql(
        `SELECT id, status FROM jobs WHERE id IN (SELECT value FROM json_each(?))
         AND status IN ('failed', 'timeout', 'cancelled', 'skipped') ORDER BY id LIMIT 1`,
      ).get(JSON.stringify(parents)) as { id: number; status: JobStatus } | undefined;
      if (ended) throw refuseRequeueBehind(id, current.status as JobStatus, ended.id, ended.status);
      const blockedBy = this.sql(
        "SELECT count(*) FROM jobs WHERE id IN (SELECT value FROM json_each(?)) AND status != 'completed'",
      )
        .pluck()
        .get(JSON.stringify(parents)) as number;
      const now = Date.now();
      const row = this.sql(
        `UPDATE jobs SET status = 'pending', attempts = 0, run_at = ?, blocked_by = ?, exit_code = NULL, signal = NULL,
           error = NULL, error_stack = NULL, result = NULL, progress = NULL, progress_message = NULL, pid = NULL,
           pid_start = NULL, worker_id = NULL, host = NULL, lease_expires_at = NULL, started_at = NULL,
           ended_at = NULL, scheduler_job_id = NULL, updated_at = ?
         WHERE id = ? RETURNING *`,
      ).get(now, blockedBy, now, id) as JobRow;
      return jobFromRow(row, parents);
    });
  }

  private setStatus(id: number, status: JobStatus): Job {
    const row = this.sql('UPDATE jobs SET status = ?, updated_at = ? WHERE id = ? RETURNING *').get(
      status,
      Date.now(),
      id,
    ) as JobRow;
    return jobFromRow(row);
  }

  async clear(request: ClearRequest): Promise<number[]> {
    const where = [`status IN (${request.statuses.map(() => '?').join(',')})`];
    const args: unknown[] = [...request.statuses];
    if (request.endedBefore !== undefined)
      where.push('coalesce(ended_at, updated_at) < ?') && args.push(request.endedBefore);
    if (request.queue !== undefined) where.push('queue = ?') && args.push(request.queue);
    const limit = request.limit === undefined ? '' : 'ORDER BY id LIMIT ?';
    if (request.limit !== undefined) args.push(request.limit);
    return this.write(
      () =>
        this.sql(
          `DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE ${where.join(' AND ')} ${limit}) RETURNING id`,
        )
          .pluck()
          .all(...args) as number[],
    );
  }

  async refresh(request: RefreshRequest): Promise<RefreshResult> {
    const now = Date.now();
    return this.write(() => {
      let added = 0;
      for (const job of request.jobs) if (this.insertOne(job, now).created) added++;
      let removed = 0;
      let kept = 0;
      if (request.removeMissing) {
        const keys = JSON.stringify(request.jobs.map((job) => job.key));
        const missing = `type = ? AND tenant = ? AND status = 'pending' AND key IS NOT NULL
           AND key NOT IN (SELECT value FROM json_each(?))`;
        const waitedFor = 'EXISTS (SELECT 1 FROM job_deps WHERE job_deps.depends_on = jobs.id)';
        kept = this.sql(`SELECT count(*) FROM jobs WHERE ${missing} AND ${waitedFor}`)
          .pluck()
          .get(request.type, request.tenant, keys) as number;
        removed = this.sql(`DELETE FROM jobs WHERE ${missing} AND NOT ${waitedFor}`).run(
          request.type,
          request.tenant,
          keys,
        ).changes;
      }
      return { added, existing: request.jobs.length - added, removed, kept };
    });
  }

  async ignore(job: NewJob): Promise<Job> {
    const now = Date.now();
    return this.write(() => {
      const { job: current, created } = this.insertOne(job, now);
      if (current.status === 'skipped' && current.error === 'ignored') return current;
      // A job skipped for its dependency is only marked ignored; any other state moves (or is refused) here.
      if (!created && current.status !== 'skipped') transition(current.id, current.status, 'skipped', 'skip');
      const row = this.sql(
        `UPDATE jobs SET status = 'skipped', error = 'ignored', ended_at = ?, updated_at = ? WHERE id = ? RETURNING *`,
      ).get(now, now, current.id) as JobRow;
      this.skipDependents(current.id, 'skipped');
      return jobFromRow(row, current.dependsOn);
    });
  }

  async setQueue(name: string, settings: QueueSettings): Promise<QueueInfo> {
    return this.catalog.setQueue(name, settings);
  }

  async listQueues(): Promise<QueueInfo[]> {
    return this.catalog.listQueues();
  }

  async saveJobTypes(types: StoredJobType[]): Promise<void> {
    this.catalog.saveJobTypes(types);
  }

  async listJobTypes(): Promise<StoredJobType[]> {
    return this.catalog.listJobTypes();
  }

  async saveJobGroups(groups: JobGroupDefinition[]): Promise<void> {
    this.catalog.saveJobGroups(groups);
  }

  async listJobGroups(): Promise<JobGroupDefinition[]> {
    return this.catalog.listJobGroups();
  }

  // ── workers ──────────────────────────────────────────────────────────────────────────────────

  async registerWorker(worker: WorkerInfo): Promise<void> {
    this.write(() => this.insertWorker(worker));
  }

  private insertWorker(worker: WorkerInfo): void {
    this.sql(
      `INSERT INTO workers (id, host, machine, pid, pid_start, queues, concurrency, wake_address, started_at, heartbeat_at,
           inventory)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET machine = excluded.machine, pid = excluded.pid, pid_start = excluded.pid_start,
           queues = excluded.queues,
           concurrency = max(excluded.concurrency, workers.concurrency),
           wake_address = coalesce(excluded.wake_address, workers.wake_address), heartbeat_at = excluded.heartbeat_at,
           inventory = coalesce(excluded.inventory, workers.inventory)`,
    ).run(
      worker.id,
      worker.host,
      worker.machine ?? null,
      worker.pid,
      worker.pidStart,
      JSON.stringify(worker.queues),
      worker.concurrency,
      worker.wakeAddress,
      worker.startedAt,
      worker.heartbeatAt,
      worker.inventory ? JSON.stringify(worker.inventory) : null,
    );
  }

  async registerWorkerIfNone(
    candidate: WorkerInfo,
    queue: string,
    isAlive: (worker: WorkerInfo) => boolean,
  ): Promise<boolean> {
    return this.write(() => {
      const workers = (this.sql('SELECT * FROM workers').all() as WorkerRow[]).map(workerFromRow);
      const serving = workers.some(
        (worker) => (worker.queues.includes('*') || worker.queues.includes(queue)) && isAlive(worker),
      );
      if (serving) return false;
      this.insertWorker(candidate);
      return true;
    });
  }

  async removeWorker(id: string): Promise<void> {
    this.write(() => this.sql('DELETE FROM workers WHERE id = ?').run(id));
  }

  async listWorkers(): Promise<WorkerInfo[]> {
    return (this.sql('SELECT * FROM workers ORDER BY started_at').all() as WorkerRow[]).map(workerFromRow);
  }

  async retireIfIdle(
    workerId: string,
    queues: readonly string[],
    types: readonly string[],
    dueBefore: number,
  ): Promise<boolean> {
    const { clause, args } = claimFilter({ queues, types }, new Set());
    return this.write(() => {
      const busy = this.sql(
        `SELECT EXISTS (SELECT 1 FROM jobs WHERE scheduler = 'local' ${clause} AND (status = 'running'
           OR (status = 'suspended' AND worker_id = ?)
           OR (status = 'pending' AND blocked_by = 0 AND run_at < ? AND queue NOT IN (SELECT name FROM queues WHERE paused = 1))))`,
      )
        .pluck()
        .get(...args, workerId, dueBefore) as number;
      if (busy) return false;
      this.sql('DELETE FROM workers WHERE id = ?').run(workerId);
      return true;
    });
  }

  // ── jobs of external schedulers ──────────────────────────────────────────────────────────────

  async listTracked(scheduler: SchedulerName): Promise<Job[]> {
    return this.external.listTracked(scheduler);
  }

  async recordSubmitted(jobId: number, schedulerJobId: string): Promise<Job | null> {
    return this.external.recordSubmitted(jobId, schedulerJobId);
  }

  async applyObserved(observed: ObservedState[]): Promise<Job[]> {
    return this.external.applyObserved(observed);
  }

  async discard(ids: number[]): Promise<void> {
    this.external.discard(ids);
  }

  // ── what the HTTP API reads ──────────────────────────────────────────────────────────────────

  async search(query: JobSearch): Promise<Job[]> {
    return this.api.search(query);
  }

  async countJobs(query: JobSearch): Promise<number> {
    return this.api.countJobs(query);
  }

  async queueSettings(): Promise<Omit<QueueInfo, 'counts'>[]> {
    return this.api.queueSettings();
  }

  async dependents(id: number): Promise<number[]> {
    return this.api.dependents(id);
  }

  async remove(ids: number[], tenant?: string): Promise<number[]> {
    return this.api.remove(ids, tenant);
  }

  async queueOverview(tenant?: string): Promise<(QueueInfo & { oldestPendingAt: number | null })[]> {
    return this.api.queueOverview(tenant);
  }

  async finishedSince(since: number, tenant?: string): Promise<FinishedTimes[]> {
    return this.api.finishedSince(since, tenant);
  }

  async finishedSummary(first: number, since: number, tenant?: string): Promise<FinishedSummary> {
    return this.api.finishedSummary(first, since, tenant);
  }

  async attemptCounts(): Promise<AttemptCount[]> {
    return this.api.attemptCounts();
  }

  async createToken(token: NewApiToken): Promise<ApiToken> {
    return this.api.createToken(token);
  }

  async tokenByHash(hash: string): Promise<ApiToken | null> {
    return this.api.tokenByHash(hash);
  }

  async listTokens(): Promise<ApiToken[]> {
    return this.api.listTokens();
  }

  async revokeToken(id: number): Promise<boolean> {
    return this.api.revokeToken(id);
  }

  async eventsAfter(afterId: number, limit: number, tenant?: string): Promise<JobEventRecord[]> {
    return this.api.eventsAfter(afterId, limit, tenant);
  }

  async lastEventId(): Promise<number> {
    return this.api.lastEventId();
  }

  async watchEvents(onEvents: () => void): Promise<() => Promise<void>> {
    return this.api.watchEvents(onEvents);
  }
}
