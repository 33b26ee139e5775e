import type { NewJob } from '../../core/spec.js';
import type { Job, JobFilter, JobStatus, JobWithAttempts, SchedulerName, StatusCounts } from '../../core/words.js';
import type { SubmitResult, SuspectAttempt } from '../engine.js';
import { countsFrom, dependencyState, listEqualities, liveAttempt } from '../records.js';
import { attemptFromRow, type ExecutionRow, type JobRow, jobFromRow, newJobRecord, suspectFromRow } from '../rows.js';
import type { SqliteConnection } from './connection.js';
import { BULK_ROWS, claimFilter, INSERT_JOB, insertJobsSql, insertValues, whereClause } from './sql.js';

export class SqliteJobs {
  constructor(private readonly conn: SqliteConnection) {}

  async submit(jobs: NewJob[]): Promise<SubmitResult[]> {
    const now = Date.now();
    return this.conn.write(() => this.insertMany(jobs, now));
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
    const last = Number(this.conn.sql(insertJobsSql(jobs.length)).run(...values).lastInsertRowid);
    const first = last - jobs.length + 1;
    jobs.forEach((job, index) => {
      results.push({ job: newJobRecord(first + index, job, 'pending', 0, null, now), created: true });
    });
  }

  /** @internal Inserts one job inside the current write transaction (refresh and ignore use it too). */
  insertOne(job: NewJob, now: number): SubmitResult {
    if (job.key != null) {
      const existing = this.conn
        .sql('SELECT * FROM jobs WHERE tenant = ? AND type = ? AND key = ?')
        .get(job.tenant, job.type, job.key) as JobRow | undefined;
      if (existing) return { job: this.conn.withDeps(existing), created: false };
    }
    const statusOf = this.conn.sql('SELECT status FROM jobs WHERE id = ?').pluck();
    const { status, blockedBy, skipReason } = dependencyState(
      job.dependsOn,
      (id) => statusOf.get(id) as JobStatus | undefined,
    );
    // No RETURNING, and positional values: the record is known here, and both cost more than the insert.
    const id = Number(
      this.conn.sql(INSERT_JOB).run(...insertValues(job, status, blockedBy, skipReason, now)).lastInsertRowid,
    );
    if (job.dependsOn.length > 0) {
      const addDep = this.conn.sql('INSERT INTO job_deps (job_id, depends_on) VALUES (?, ?)');
      const markParent = this.conn.sql('UPDATE jobs SET has_dependents = 1 WHERE id = ? AND has_dependents = 0');
      for (const parent of job.dependsOn) {
        addDep.run(id, parent);
        markParent.run(parent);
      }
    }
    return { job: newJobRecord(id, job, status, blockedBy, skipReason, now), created: true };
  }

  async get(id: number, tenant?: string): Promise<JobWithAttempts | null> {
    return this.conn.read(() => this.getNow(id, tenant));
  }

  private getNow(id: number, tenant?: string): JobWithAttempts | null {
    const row = (
      tenant === undefined
        ? this.conn.sql('SELECT * FROM jobs WHERE id = ?').get(id)
        : this.conn.sql('SELECT * FROM jobs WHERE id = ? AND tenant = ?').get(id, tenant)
    ) as JobRow | undefined;
    if (!row) return null;
    const executions = (
      this.conn.sql('SELECT * FROM executions WHERE job_id = ? ORDER BY attempt').all(id) as ExecutionRow[]
    ).map(attemptFromRow);
    const live = liveAttempt(row, executions);
    if (live) executions.push(live);
    const job = this.conn.withDeps(row) as JobWithAttempts;
    job.executions = executions;
    return job;
  }

  async list(filter: JobFilter): Promise<Job[]> {
    const { clause, args } = whereClause(listEqualities(filter), filter.statuses);
    const order = filter.order === 'desc' ? 'DESC' : 'ASC';
    let where = clause;
    if (filter.afterId !== undefined) {
      where = `${clause ? `${clause} AND` : 'WHERE'} id ${order === 'DESC' ? '<' : '>'} ?`;
      args.push(filter.afterId);
    }
    const rows = this.conn
      .sql(`SELECT * FROM jobs ${where} ORDER BY id ${order} LIMIT ? OFFSET ?`)
      .all(...args, filter.limit ?? -1, filter.offset ?? 0) as JobRow[];
    return this.conn.attachDeps(rows);
  }

  async counts(filter: Pick<JobFilter, 'queue' | 'tenant' | 'type'>): Promise<StatusCounts> {
    const { clause, args } = whereClause([
      ['queue', filter.queue],
      ['tenant', filter.tenant],
      ['type', filter.type],
    ]);
    const rows = this.conn.sql(`SELECT status, count(*) AS n FROM jobs ${clause} GROUP BY status`).all(...args) as {
      status: JobStatus;
      n: number;
    }[];
    return countsFrom(rows);
  }

  async listLive(scheduler: SchedulerName): Promise<Job[]> {
    const rows = this.conn
      .sql("SELECT * FROM jobs WHERE status IN ('running', 'suspended') AND scheduler = ? ORDER BY id")
      .all(scheduler) as JobRow[];
    return rows.map((row) => jobFromRow(row));
  }

  async listSuspect(scheduler: SchedulerName, liveWorkerIds: readonly string[]): Promise<SuspectAttempt[]> {
    // The owners are read from the jobs_worker index alone; only the suspects' rows are read.
    const rows = this.conn
      .sql(
        `SELECT * FROM jobs WHERE id IN (
         SELECT id FROM jobs INDEXED BY jobs_worker WHERE status IN ('running', 'suspended') AND worker_id IS NOT NULL
         AND worker_id NOT IN (SELECT value FROM json_each(?)))
       AND scheduler = ? ORDER BY id`,
      )
      .all(JSON.stringify(liveWorkerIds), scheduler) as JobRow[];
    return rows.map(suspectFromRow);
  }

  async runnableQueues(scheduler: SchedulerName): Promise<string[]> {
    return this.conn
      .sql(
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
    return (this.conn
      .sql(
        `SELECT min(run_at) FROM jobs WHERE status = 'pending' AND blocked_by = 0 AND scheduler = ? ${clause}
       AND run_at > ?`,
      )
      .pluck()
      .get(scheduler, ...args, after) ?? null) as number | null;
  }
}
