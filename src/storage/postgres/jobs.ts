import { StorageError } from '../../core/errors.js';
import type { NewJob } from '../../core/spec.js';
import type { Job, JobFilter, JobStatus, JobWithAttempts, SchedulerName, StatusCounts } from '../../core/words.js';
import type { CallerTransaction, SubmitResult, SuspectAttempt } from '../engine.js';
import { countsFrom, dependencyState, listEqualities, liveAttempt } from '../records.js';
import { attemptFromRow, type ExecutionRow, type JobRow, jobFromRow, newJobRecord, suspectFromRow } from '../rows.js';
import { type PostgresConnection, type Queryable, quoteIdent } from './connection.js';
import {
  claimFilter,
  INSERT_JOBS,
  INSERT_ONE_JOB,
  insertArrays,
  insertValues,
  LIVE,
  Params,
  prepared,
  whereClause,
} from './sql.js';

export class PostgresJobs {
  private idSequence: string | null = null;

  constructor(private readonly conn: PostgresConnection) {}

  /** Stores jobs, in the caller's open transaction when one is given (CallerTransactions). */
  async submit(jobs: NewJob[], outside?: CallerTransaction): Promise<SubmitResult[]> {
    if (jobs.length === 0) return [];
    const now = Date.now();
    const simple = jobs.length === 1 && (jobs[0] as NewJob).dependsOn.length === 0;
    if (simple && outside === undefined) {
      // The common case in one statement and one round trip, no explicit transaction.
      const job = jobs[0] as NewJob;
      const state = { status: 'pending' as JobStatus, blockedBy: 0, skipReason: null };
      const { rows } = await this.conn.pool.query(
        prepared(INSERT_ONE_JOB, [...insertValues(job, state, now), now, this.conn.channel]),
      );
      if (rows.length === 1) return [{ job: newJobRecord(rows[0].id, job, 'pending', 0, null, now), created: true }];
      return [{ job: await this.existingByKey(this.conn.pool, job), created: false }];
    }
    if (outside === undefined && jobs.every((job) => job.dependsOn.length === 0)) {
      // No dependencies to check: one statement, atomic on its own, without BEGIN and COMMIT.
      return this.insertJobs(this.conn.pool, jobs, now);
    }
    return this.conn.transaction((db) => this.insertJobs(db, jobs, now), outside);
  }

  /** Inserts jobs inside a transaction: dependencies checked and locked, ids chosen, keys honoured. */
  /** @internal Inserts inside the caller's transaction (refresh and ignore use it too). */
  async insertJobs(db: Queryable, jobs: NewJob[], now: number): Promise<SubmitResult[]> {
    const parents = [...new Set(jobs.flatMap((job) => job.dependsOn))];
    // FOR SHARE: a parent cannot end between this check and our commit, so no dependent is left
    // waiting for an end it missed.
    const parentStatus = new Map(
      parents.length === 0
        ? []
        : (
            await this.conn.rows<{ id: number; status: JobStatus }>(
              db,
              'SELECT id, status FROM jobs WHERE id = ANY($1::int8[]) ORDER BY id FOR SHARE',
              [parents],
            )
          ).map((row) => [row.id, row.status]),
    );
    const states = jobs.map((job) => dependencyState(job.dependsOn, (id) => parentStatus.get(id)));
    const rows = await this.conn.rows<{ id: number; created: boolean }>(db, INSERT_JOBS, [
      ...insertArrays(jobs, states, now),
      await this.idSequenceName(db),
      now,
      this.conn.channel,
    ]);
    const results: SubmitResult[] = [];
    const edges: [number, number][] = [];
    for (const [index, job] of jobs.entries()) {
      const { id, created } = rows[index] as { id: number; created: boolean };
      const state = states[index] as (typeof states)[number];
      if (!created) {
        results.push({ job: await this.existingByKey(db, job), created: false });
        continue;
      }
      for (const parent of job.dependsOn) edges.push([id, parent]);
      results.push({
        job: newJobRecord(id, job, state.status, state.blockedBy, state.skipReason, now),
        created: true,
      });
    }
    if (edges.length > 0) {
      await db.query(
        prepared('INSERT INTO job_deps (job_id, depends_on) SELECT * FROM unnest($1::int8[], $2::int8[])', [
          edges.map((edge) => edge[0]),
          edges.map((edge) => edge[1]),
        ]),
      );
      await db.query(
        prepared('UPDATE jobs SET has_dependents = 1 WHERE id = ANY($1::int8[]) AND has_dependents = 0', [
          [...new Set(edges.map((edge) => edge[1]))],
        ]),
      );
    }
    return results;
  }

  /** The jobs table's id sequence, looked up once (a catalog search). */
  private async idSequenceName(db: Queryable): Promise<string> {
    this.idSequence ??= (
      await this.conn.rows<{ name: string }>(db, "SELECT pg_get_serial_sequence($1, 'id') AS name", [
        `${quoteIdent(this.conn.schema)}.jobs`,
      ])
    )[0]?.name as string;
    return this.idSequence;
  }

  private async existingByKey(db: Queryable, job: NewJob): Promise<Job> {
    const [row] = await this.conn.rows<JobRow>(db, 'SELECT * FROM jobs WHERE tenant = $1 AND type = $2 AND key = $3', [
      job.tenant,
      job.type,
      job.key,
    ]);
    if (!row) throw new StorageError(`job with key ${job.key} vanished while it was being submitted; submit again`);
    return (await this.conn.attachDeps(db, [row]))[0] as Job;
  }

  async get(id: number, tenant?: string): Promise<JobWithAttempts | null> {
    const [row] =
      tenant === undefined
        ? await this.conn.rows<JobRow>(this.conn.pool, 'SELECT * FROM jobs WHERE id = $1', [id])
        : await this.conn.rows<JobRow>(this.conn.pool, 'SELECT * FROM jobs WHERE id = $1 AND tenant = $2', [
            id,
            tenant,
          ]);
    if (!row) return null;
    const executions = (
      await this.conn.rows<ExecutionRow>(
        this.conn.pool,
        'SELECT * FROM executions WHERE job_id = $1 ORDER BY attempt',
        [id],
      )
    ).map(attemptFromRow);
    const live = liveAttempt(row, executions);
    if (live) executions.push(live);
    const job = (await this.conn.attachDeps(this.conn.pool, [row]))[0] as JobWithAttempts;
    job.executions = executions;
    return job;
  }

  async list(filter: JobFilter): Promise<Job[]> {
    const params = new Params();
    const where = whereClause(params, listEqualities(filter), filter.statuses);
    const order = filter.order === 'desc' ? 'DESC' : 'ASC';
    const after =
      filter.afterId === undefined
        ? ''
        : `${where ? 'AND' : 'WHERE'} id ${order === 'DESC' ? '<' : '>'} ${params.add(filter.afterId)}`;
    const limit = filter.limit === undefined ? '' : `LIMIT ${params.add(filter.limit)}`;
    const offset = `OFFSET ${params.add(filter.offset ?? 0)}`;
    const rows = await this.conn.rows<JobRow>(
      this.conn.pool,
      `SELECT * FROM jobs ${where} ${after} ORDER BY id ${order} ${limit} ${offset}`,
      params.values,
    );
    return this.conn.attachDeps(this.conn.pool, rows);
  }

  async counts(filter: Pick<JobFilter, 'queue' | 'tenant' | 'type'>): Promise<StatusCounts> {
    const params = new Params();
    const where = whereClause(params, [
      ['queue', filter.queue],
      ['tenant', filter.tenant],
      ['type', filter.type],
    ]);
    const rows = await this.conn.rows<{ status: JobStatus; n: number }>(
      this.conn.pool,
      `SELECT status, count(*)::int AS n FROM jobs ${where} GROUP BY status`,
      params.values,
    );
    return countsFrom(rows);
  }

  async listLive(scheduler: SchedulerName): Promise<Job[]> {
    const rows = await this.conn.rows<JobRow>(
      this.conn.pool,
      `SELECT * FROM jobs WHERE status IN ${LIVE} AND scheduler = $1 ORDER BY id`,
      [scheduler],
    );
    return rows.map((row) => jobFromRow(row));
  }

  async listSuspect(scheduler: SchedulerName, liveWorkerIds: readonly string[]): Promise<SuspectAttempt[]> {
    const rows = await this.conn.rows<JobRow>(
      this.conn.pool,
      `SELECT * FROM jobs WHERE status IN ${LIVE} AND scheduler = $1 AND worker_id IS NOT NULL
       AND NOT (worker_id = ANY($2::text[])) ORDER BY id`,
      [scheduler, liveWorkerIds],
    );
    return rows.map(suspectFromRow);
  }

  async runnableQueues(scheduler: SchedulerName): Promise<string[]> {
    const rows = await this.conn.rows<{ queue: string }>(
      this.conn.pool,
      `SELECT DISTINCT queue FROM jobs WHERE status = 'pending' AND blocked_by = 0 AND scheduler = $1 AND run_at <= $2
       AND NOT EXISTS (SELECT 1 FROM queues WHERE queues.name = jobs.queue AND paused = 1)`,
      [scheduler, Date.now()],
    );
    return rows.map((row) => row.queue);
  }

  async nextRunAt(
    queues: readonly string[],
    types: readonly string[],
    scheduler: SchedulerName,
    after?: number,
  ): Promise<number | null> {
    const params = new Params();
    const schedulerParam = params.add(scheduler);
    const filter = claimFilter(params, { queues, types }, []);
    const later = after === undefined ? '' : `AND run_at > ${params.add(after)}`;
    const [row] = await this.conn.rows<{ next: number | null }>(
      this.conn.pool,
      `SELECT min(run_at) AS next FROM jobs
       WHERE status = 'pending' AND blocked_by = 0 AND scheduler = ${schedulerParam} ${filter} ${later}`,
      params.values,
    );
    return row?.next ?? null;
  }
}
