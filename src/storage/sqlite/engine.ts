/**
 * The embedded engine: one SQLite file shared safely by many processes. WAL lets readers run
 * beside the one writer; every write is a short `BEGIN IMMEDIATE` transaction (so two writers never
 * deadlock upgrading a read lock, which SQLite reports as "database is locked" without waiting);
 * a generous busy timeout makes writers queue instead of failing.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { InvalidInputError, NotFoundError } from '../../core/errors.js';
import type { NewJob } from '../../core/spec.js';
import { refuse, transition } from '../../core/states.js';
import {
  emptyCounts,
  type Job,
  type JobFilter,
  type JobStatus,
  type JobWithAttempts,
  type Outcome,
  type SchedulerName,
  type StatusCounts,
  type WorkerInfo,
} from '../../core/words.js';
import type {
  ClaimRequest,
  ClearRequest,
  EngineCapabilities,
  LostAttempt,
  StorageEngine,
  SubmitResult,
} from '../engine.js';
import { assertNotNewer, loadMigrations } from '../migrate.js';
import { attemptFromRow, type ExecutionRow, type JobRow, jobFromRow, type WorkerRow, workerFromRow } from './rows.js';

const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'migrations');
/** Writers wait this long for the lock before giving up: far beyond any docket transaction. */
const BUSY_TIMEOUT_MS = 60_000;

type Statement = Database.Statement<unknown[], unknown>;

export interface SqliteOptions {
  /** Path of the database file (created with its folder if missing). */
  path: string;
}

export class SqliteEngine implements StorageEngine {
  readonly capabilities: EngineCapabilities = { name: 'sqlite', singleHost: true, onDemandWorkers: true };
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Statement>();

  constructor(options: SqliteOptions) {
    mkdirSync(dirname(options.path), { recursive: true });
    this.db = new Database(options.path, { timeout: BUSY_TIMEOUT_MS });
    this.db.pragma('journal_mode = WAL');
    // NORMAL is durable across process crashes in WAL mode; only a power cut can lose the last commits.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
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
    return this.db.transaction(work).immediate();
  }

  async migrate(): Promise<{ from: number; to: number }> {
    const migrations = loadMigrations(MIGRATIONS_DIR);
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
      this.db.exec('DELETE FROM executions; DELETE FROM job_deps; DELETE FROM jobs; DELETE FROM workers;');
      this.db.exec("DELETE FROM sqlite_sequence WHERE name = 'jobs'");
    });
  }

  // ── submit and read ──────────────────────────────────────────────────────────────────────────

  async submit(jobs: NewJob[]): Promise<SubmitResult[]> {
    const now = Date.now();
    return this.write(() => jobs.map((job) => this.insertOne(job, now)));
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
    const { blockedBy, skipReason } = this.dependencyState(job.dependsOn);
    const row = this.sql(
      `INSERT INTO jobs (name, type, status, scheduler, queue, priority, command, argv, cwd, env, resources,
         time_limit_s, max_attempts, retry_delay_s, run_at, blocked_by, key, tenant, user_name, params,
         error, ended_at, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
    ).get(
      job.name,
      job.type,
      skipReason ? 'skipped' : 'pending',
      job.scheduler,
      job.queue,
      job.priority,
      job.command,
      job.argv && JSON.stringify(job.argv),
      job.cwd,
      JSON.stringify(job.env),
      JSON.stringify(job.resources),
      job.timeLimitSeconds,
      job.maxAttempts,
      job.retryDelaySeconds,
      job.runAt,
      blockedBy,
      job.key,
      job.tenant,
      job.user,
      job.params === null ? null : JSON.stringify(job.params),
      skipReason,
      skipReason ? now : null,
      now,
      now,
    ) as JobRow;
    const addDep = this.sql('INSERT INTO job_deps (job_id, depends_on) VALUES (?, ?)');
    for (const parent of job.dependsOn) addDep.run(row.id, parent);
    return { job: jobFromRow(row, job.dependsOn), created: true };
  }

  /** How many dependencies are not yet completed, and whether one already ended without completing. */
  private dependencyState(parents: number[]): { blockedBy: number; skipReason: string | null } {
    let blockedBy = 0;
    for (const parent of parents) {
      const row = this.sql('SELECT status FROM jobs WHERE id = ?').get(parent) as { status: JobStatus } | undefined;
      if (!row) throw new InvalidInputError('after', `job ${parent} does not exist; depend only on existing jobs`);
      if (row.status === 'completed') continue;
      if (['failed', 'timeout', 'cancelled', 'skipped'].includes(row.status)) {
        return { blockedBy, skipReason: `dependency ${parent} ended ${row.status}` };
      }
      blockedBy++;
    }
    return { blockedBy, skipReason: null };
  }

  private withDeps(row: JobRow): Job {
    const deps = this.sql('SELECT depends_on FROM job_deps WHERE job_id = ? ORDER BY depends_on')
      .pluck()
      .all(row.id) as number[];
    return jobFromRow(row, deps);
  }

  async get(id: number): Promise<JobWithAttempts | null> {
    const row = this.sql('SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined;
    if (!row) return null;
    const executions = this.sql('SELECT * FROM executions WHERE job_id = ? ORDER BY attempt').all(id) as ExecutionRow[];
    return { ...this.withDeps(row), executions: executions.map(attemptFromRow) };
  }

  async list(filter: JobFilter): Promise<Job[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.statuses?.length) {
      where.push(`status IN (${filter.statuses.map(() => '?').join(',')})`);
      args.push(...filter.statuses);
    }
    for (const [column, value] of [
      ['queue', filter.queue],
      ['scheduler', filter.scheduler],
      ['tenant', filter.tenant],
    ] as const) {
      if (value !== undefined) {
        where.push(`${column} = ?`);
        args.push(value);
      }
    }
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const order = filter.order === 'desc' ? 'DESC' : 'ASC';
    const rows = this.sql(`SELECT * FROM jobs ${clause} ORDER BY id ${order} LIMIT ? OFFSET ?`).all(
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

  async counts(filter: Pick<JobFilter, 'queue' | 'tenant'>): Promise<StatusCounts> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.queue !== undefined) where.push('queue = ?') && args.push(filter.queue);
    if (filter.tenant !== undefined) where.push('tenant = ?') && args.push(filter.tenant);
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const rows = this.sql(`SELECT status, count(*) AS n FROM jobs ${clause} GROUP BY status`).all(...args) as {
      status: JobStatus;
      n: number;
    }[];
    const counts = emptyCounts();
    for (const row of rows) {
      counts[row.status] = row.n;
      counts.total += row.n;
    }
    return counts;
  }

  async listLive(scheduler: SchedulerName): Promise<Job[]> {
    const rows = this.sql(
      "SELECT * FROM jobs WHERE status IN ('running', 'suspended') AND scheduler = ? ORDER BY id",
    ).all(scheduler) as JobRow[];
    return rows.map((row) => jobFromRow(row));
  }

  async pendingQueues(scheduler: SchedulerName): Promise<string[]> {
    return this.sql("SELECT DISTINCT queue FROM jobs WHERE status = 'pending' AND scheduler = ?")
      .pluck()
      .all(scheduler) as string[];
  }

  async nextRunAt(queues: readonly string[], scheduler: SchedulerName): Promise<number | null> {
    const { clause, args } = queueClause(queues);
    return (this.sql(
      `SELECT min(run_at) FROM jobs WHERE status = 'pending' AND blocked_by = 0 AND scheduler = ? ${clause}`,
    )
      .pluck()
      .get(scheduler, ...args) ?? null) as number | null;
  }

  // ── the worker's hot path ────────────────────────────────────────────────────────────────────

  async claim(request: ClaimRequest): Promise<Job[]> {
    const now = request.now ?? Date.now();
    const { clause, args } = queueClause(request.queues);
    return this.write(() => {
      const ids = this.sql(
        `SELECT id FROM jobs WHERE status = 'pending' AND blocked_by = 0 AND scheduler = ? AND run_at <= ? ${clause}
         ORDER BY priority DESC, id LIMIT ?`,
      )
        .pluck()
        .all(request.scheduler, now, ...args, request.limit) as number[];
      const take = this.sql(
        `UPDATE jobs SET status = 'running', attempts = attempts + 1, run_no = run_no + 1, worker_id = ?, host = ?, pid = NULL,
           pid_start = NULL, started_at = ?, ended_at = NULL, lease_expires_at = ?, exit_code = NULL,
           signal = NULL, error = NULL, error_stack = NULL, updated_at = ?
         WHERE id = ? RETURNING *`,
      );
      const open = this.sql(
        `INSERT INTO executions (job_id, attempt, status, started_at, host, worker_id) VALUES (?, ?, 'running', ?, ?, ?)`,
      );
      return ids.map((id) => {
        const row = take.get(request.workerId, request.host, now, now + request.leaseMs, now, id) as JobRow;
        open.run(id, row.run_no, now, request.host, request.workerId);
        return jobFromRow(row);
      });
    });
  }

  async recordProcess(jobId: number, attempt: number, pid: number, pidStart: number | null): Promise<void> {
    this.write(() => {
      this.sql(
        `UPDATE jobs SET pid = ?, pid_start = ?, updated_at = ? WHERE id = ? AND run_no = ?
         AND status IN ('running', 'suspended')`,
      ).run(pid, pidStart, Date.now(), jobId, attempt);
      this.sql('UPDATE executions SET pid = ? WHERE job_id = ? AND attempt = ?').run(pid, jobId, attempt);
    });
  }

  async setProgress(jobId: number, attempt: number, progress: number | null, message: string | null): Promise<void> {
    this.sql(
      `UPDATE jobs SET progress = ?, progress_message = ?, updated_at = ? WHERE id = ? AND run_no = ?
       AND status IN ('running', 'suspended')`,
    ).run(progress, message, Date.now(), jobId, attempt);
  }

  async heartbeat(workerId: string, leaseMs: number): Promise<void> {
    const now = Date.now();
    this.write(() => {
      this.sql("UPDATE jobs SET lease_expires_at = ? WHERE worker_id = ? AND status IN ('running', 'suspended')").run(
        now + leaseMs,
        workerId,
      );
      this.sql('UPDATE workers SET heartbeat_at = ? WHERE id = ?').run(now, workerId);
    });
  }

  async finish(jobId: number, attempt: number, outcome: Outcome): Promise<Job | null> {
    return this.write(() => this.settle(jobId, attempt, outcome));
  }

  async settleLost(lost: LostAttempt[]): Promise<void> {
    this.write(() => {
      for (const item of lost) this.settle(item.jobId, item.attempt, { status: 'failed', error: item.reason });
    });
  }

  async release(jobId: number, attempt: number, reason: string): Promise<Job | null> {
    return this.write(() => {
      const now = Date.now();
      const row = this.sql(
        `UPDATE jobs SET status = 'pending', attempts = max(attempts - 1, 0), worker_id = NULL, pid = NULL,
           pid_start = NULL, lease_expires_at = NULL, run_at = ?, updated_at = ?
         WHERE id = ? AND run_no = ? AND status IN ('running', 'suspended') RETURNING *`,
      ).get(now, now, jobId, attempt) as JobRow | undefined;
      this.sql(
        `UPDATE executions SET status = 'cancelled', ended_at = coalesce(ended_at, ?), error = coalesce(error, ?)
         WHERE job_id = ? AND attempt = ?`,
      ).run(now, reason, jobId, attempt);
      return row ? jobFromRow(row) : null;
    });
  }

  /** Records an attempt's end inside a write transaction; null if the attempt no longer owns the job. */
  private settle(jobId: number, attempt: number, outcome: Outcome): Job | null {
    const now = Date.now();
    this.sql(
      `UPDATE executions SET status = CASE WHEN status IN ('running', 'suspended') THEN ? ELSE status END,
         ended_at = coalesce(ended_at, ?), exit_code = coalesce(exit_code, ?), signal = coalesce(signal, ?),
         error = coalesce(error, ?)
       WHERE job_id = ? AND attempt = ?`,
    ).run(outcome.status, now, outcome.exitCode ?? null, outcome.signal ?? null, outcome.error ?? null, jobId, attempt);
    const current = this.sql('SELECT * FROM jobs WHERE id = ?').get(jobId) as JobRow | undefined;
    if (!current || current.run_no !== attempt || !['running', 'suspended'].includes(current.status)) return null;
    const retry =
      (outcome.status === 'failed' || outcome.status === 'timeout') && current.attempts < current.max_attempts;
    const status = transition(jobId, current.status as JobStatus, retry ? 'pending' : outcome.status);
    const row = this.sql(
      `UPDATE jobs SET status = ?, exit_code = ?, signal = ?, error = ?, error_stack = ?, result = ?,
         ended_at = ?, run_at = ?, lease_expires_at = NULL, updated_at = ?,
         progress = CASE WHEN ? = 'completed' THEN 1 ELSE progress END
       WHERE id = ? RETURNING *`,
    ).get(
      status,
      outcome.exitCode ?? null,
      outcome.signal ?? null,
      outcome.error ?? null,
      outcome.errorStack ?? null,
      outcome.result === undefined ? null : JSON.stringify(outcome.result),
      retry ? null : now,
      retry ? now + current.retry_delay_s * 1000 : current.run_at,
      now,
      status,
      jobId,
    ) as JobRow;
    if (status === 'completed') this.unblockDependents(jobId);
    else if (status !== 'pending') this.skipDependents(jobId, status);
    return jobFromRow(row);
  }

  private unblockDependents(jobId: number): void {
    this.sql(
      `UPDATE jobs SET blocked_by = blocked_by - 1 WHERE blocked_by > 0 AND status IN ('pending', 'suspended')
       AND id IN (SELECT job_id FROM job_deps WHERE depends_on = ?)`,
    ).run(jobId);
  }

  /** A dependency ended without completing: its waiting dependents, and theirs, become skipped. */
  private skipDependents(jobId: number, status: JobStatus): void {
    const now = Date.now();
    const skip = this.sql(
      `UPDATE jobs SET status = 'skipped', error = ?, ended_at = ?, updated_at = ?
       WHERE status IN ('pending', 'suspended') AND id IN (SELECT job_id FROM job_deps WHERE depends_on = ?)
       RETURNING id`,
    );
    let frontier: { id: number; reason: string }[] = [{ id: jobId, reason: `dependency ${jobId} ended ${status}` }];
    while (frontier.length > 0) {
      const next: { id: number; reason: string }[] = [];
      for (const parent of frontier) {
        const skipped = skip.pluck().all(parent.reason, now, now, parent.id) as number[];
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
      const row = this.sql(
        `UPDATE jobs SET status = 'cancelled', error = ?, ended_at = ?, lease_expires_at = NULL, updated_at = ?
         WHERE id = ? RETURNING *`,
      ).get(reason, now, now, id) as JobRow;
      this.sql(
        `UPDATE executions SET status = 'cancelled', ended_at = ?, error = ? WHERE job_id = ? AND attempt = ?
         AND status IN ('running', 'suspended')`,
      ).run(now, reason, id, current.run_no);
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
      const target: JobStatus =
        current.pid != null && current.ended_at == null && current.run_no > 0 ? 'running' : 'pending';
      return this.setStatus(id, target);
    });
  }

  async requeue(id: number): Promise<Job> {
    return this.write(() => {
      const current = this.mustGet(id);
      transition(id, current.status as JobStatus, 'pending', 'requeue');
      const parents = this.sql('SELECT depends_on FROM job_deps WHERE job_id = ?').pluck().all(id) as number[];
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
           ended_at = NULL, updated_at = ?
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
    const attempt = row.run_no;
    if (status === 'suspended' || status === 'running') {
      this.sql(
        "UPDATE executions SET status = ? WHERE job_id = ? AND attempt = ? AND status IN ('running', 'suspended')",
      ).run(status, id, attempt);
    }
    return jobFromRow(row);
  }

  async clear(request: ClearRequest): Promise<number[]> {
    const where = [`status IN (${request.statuses.map(() => '?').join(',')})`];
    const args: unknown[] = [...request.statuses];
    if (request.endedBefore !== undefined)
      where.push('coalesce(ended_at, updated_at) < ?') && args.push(request.endedBefore);
    if (request.queue !== undefined) where.push('queue = ?') && args.push(request.queue);
    return this.write(
      () =>
        this.sql(`DELETE FROM jobs WHERE ${where.join(' AND ')} RETURNING id`)
          .pluck()
          .all(...args) as number[],
    );
  }

  // ── workers ──────────────────────────────────────────────────────────────────────────────────

  async registerWorker(worker: WorkerInfo): Promise<void> {
    this.write(() => this.insertWorker(worker));
  }

  private insertWorker(worker: WorkerInfo): void {
    this.sql(
      `INSERT INTO workers (id, host, pid, pid_start, queues, concurrency, wake_address, started_at, heartbeat_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET pid = excluded.pid, pid_start = excluded.pid_start, queues = excluded.queues,
           concurrency = max(excluded.concurrency, workers.concurrency),
           wake_address = coalesce(excluded.wake_address, workers.wake_address), heartbeat_at = excluded.heartbeat_at`,
    ).run(
      worker.id,
      worker.host,
      worker.pid,
      worker.pidStart,
      JSON.stringify(worker.queues),
      worker.concurrency,
      worker.wakeAddress,
      worker.startedAt,
      worker.heartbeatAt,
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

  async retireIfIdle(workerId: string, queues: readonly string[]): Promise<boolean> {
    const { clause, args } = queueClause(queues);
    return this.write(() => {
      const busy = this.sql(
        `SELECT count(*) FROM jobs WHERE status IN ('pending', 'running', 'suspended') AND scheduler = 'local' ${clause}`,
      )
        .pluck()
        .get(...args) as number;
      if (busy > 0) return false;
      this.sql('DELETE FROM workers WHERE id = ?').run(workerId);
      return true;
    });
  }
}

/** The SQL filter for a worker's queue list; `*` means every queue. */
function queueClause(queues: readonly string[]): { clause: string; args: string[] } {
  if (queues.includes('*')) return { clause: '', args: [] };
  return { clause: `AND queue IN (${queues.map(() => '?').join(',')})`, args: [...queues] };
}
