import type { NewJob } from '../../core/spec.js';
import { refuse, refuseRequeueBehind, transition } from '../../core/states.js';
import type { Job, JobStatus } from '../../core/words.js';
import type { ClearRequest, RefreshRequest, RefreshResult, SubmitResult } from '../engine.js';
import { ENDED_BADLY, ignoreMove, requeueSql, resumeTarget, sqlList } from '../records.js';
import { type JobRow, jobFromRow } from '../rows.js';
import type { PostgresConnection, Queryable } from './connection.js';
import type { PostgresJobs } from './jobs.js';
import { executionValues, type PostgresOutcomes } from './outcomes.js';
import { Params } from './sql.js';

const REQUEUE = requeueSql({ now: '$1', blockedBy: '$2', id: '$3' });

export class PostgresCommands {
  constructor(
    private readonly conn: PostgresConnection,
    private readonly jobs: PostgresJobs,
    private readonly outcomes: PostgresOutcomes,
  ) {}

  async cancel(id: number, reason: string): Promise<Job> {
    return this.conn.transaction(async (db) => {
      const current = await this.conn.mustLock(db, id);
      transition(id, current.status as JobStatus, 'cancelled', 'cancel');
      const now = Date.now();
      if (current.worker_id !== null && ['running', 'suspended'].includes(current.status)) {
        await this.outcomes.insertExecutions(db, [executionValues(current, 'cancelled', reason, {}, now)]);
        await this.conn.notifyControl(db, current.worker_id);
      }
      const [row] = await this.conn.rows<JobRow>(
        db,
        `UPDATE jobs SET status = 'cancelled', error = $1, ended_at = $2, lease_expires_at = NULL, updated_at = $2
         WHERE id = $3 RETURNING *`,
        [reason, now, id],
      );
      await this.outcomes.skipDependents(db, id, 'cancelled');
      return jobFromRow(row as JobRow);
    });
  }

  async suspend(id: number): Promise<Job> {
    return this.conn.transaction(async (db) => {
      const current = await this.conn.mustLock(db, id);
      transition(id, current.status as JobStatus, 'suspended', 'suspend');
      if (current.status === 'running') await this.conn.notifyControl(db, current.worker_id);
      return this.setStatus(db, id, 'suspended');
    });
  }

  async resume(id: number): Promise<Job> {
    return this.conn.transaction(async (db) => {
      const current = await this.conn.mustLock(db, id);
      if (current.status !== 'suspended') throw refuse(id, current.status as JobStatus, 'resume');
      const target = resumeTarget(current);
      if (target === 'running') await this.conn.notifyControl(db, current.worker_id);
      else await this.conn.notifyWork(db, [current.queue]);
      return this.setStatus(db, id, target);
    });
  }

  async requeue(id: number): Promise<Job> {
    return this.conn.transaction(async (db) => {
      const current = await this.conn.mustLock(db, id);
      transition(id, current.status as JobStatus, 'pending', 'requeue');
      const parents = (
        await this.conn.rows<{ depends_on: number }>(
          db,
          'SELECT depends_on FROM job_deps WHERE job_id = $1 ORDER BY depends_on',
          [id],
        )
      ).map((row) => row.depends_on);
      const [ended] = await this.conn.rows<{ id: number; status: JobStatus }>(
        db,
        `SELECT id, status FROM jobs WHERE id = ANY($1::int8[])
         AND status IN ${sqlList(ENDED_BADLY)} ORDER BY id LIMIT 1`,
        [parents],
      );
      if (ended) throw refuseRequeueBehind(id, current.status as JobStatus, ended.id, ended.status);
      const [{ n: blockedBy }] = (await this.conn.rows<{ n: number }>(
        db,
        "SELECT count(*)::int AS n FROM jobs WHERE id = ANY($1::int8[]) AND status != 'completed'",
        [parents],
      )) as [{ n: number }];
      const now = Date.now();
      const [row] = await this.conn.rows<JobRow>(db, REQUEUE, [now, blockedBy, id]);
      if (blockedBy === 0) await this.conn.notifyWork(db, [current.queue]);
      return jobFromRow(row as JobRow, parents);
    });
  }

  private async setStatus(db: Queryable, id: number, status: JobStatus): Promise<Job> {
    const [row] = await this.conn.rows<JobRow>(
      db,
      'UPDATE jobs SET status = $1, updated_at = $2 WHERE id = $3 RETURNING *',
      [status, Date.now(), id],
    );
    return jobFromRow(row as JobRow);
  }

  async clear(request: ClearRequest): Promise<number[]> {
    const params = new Params();
    const where = [`status = ANY(${params.add(request.statuses)}::text[])`];
    if (request.endedBefore !== undefined)
      where.push(`coalesce(ended_at, updated_at) < ${params.add(request.endedBefore)}`);
    if (request.queue !== undefined) where.push(`queue = ${params.add(request.queue)}`);
    const limit = request.limit === undefined ? '' : `ORDER BY id LIMIT ${params.add(request.limit)}`;
    const rows = await this.conn.rows<{ id: number }>(
      this.conn.pool,
      `DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE ${where.join(' AND ')} ${limit}) RETURNING id`,
      params.values,
    );
    return rows.map((row) => row.id);
  }

  async refresh(request: RefreshRequest): Promise<RefreshResult> {
    return this.conn.transaction(async (db) => {
      const results = request.jobs.length > 0 ? await this.jobs.insertJobs(db, request.jobs, Date.now()) : [];
      const added = results.filter((result) => result.created).length;
      let removed = 0;
      let kept = 0;
      if (request.removeMissing) {
        // Lock the jobs whose key left the set first; the delete's fresh snapshot then sees any
        // dependent that a concurrent submit (which locks its parents) committed meanwhile.
        const missing = await this.conn.rows<{ id: number }>(
          db,
          `SELECT id FROM jobs WHERE type = $1 AND tenant = $2 AND status = 'pending' AND key IS NOT NULL
             AND NOT (key = ANY($3::text[])) ORDER BY id FOR UPDATE`,
          [request.type, request.tenant, request.jobs.map((job) => job.key)],
        );
        const [counts] = await this.conn.rows<{ removed: number }>(
          db,
          `WITH removed AS (
             DELETE FROM jobs AS j WHERE j.id = ANY($1::int8[])
               AND NOT EXISTS (SELECT 1 FROM job_deps AS d WHERE d.depends_on = j.id) RETURNING j.id
           ) SELECT count(*)::int AS removed FROM removed`,
          [missing.map((row) => row.id)],
        );
        removed = counts?.removed ?? 0;
        kept = missing.length - removed;
      }
      return { added, existing: request.jobs.length - added, removed, kept };
    });
  }

  async ignore(job: NewJob): Promise<Job> {
    return this.conn.transaction(async (db) => {
      const [{ job: current, created }] = (await this.jobs.insertJobs(db, [job], Date.now())) as [SubmitResult];
      const locked = (await this.conn.lockRow(db, current.id)) as JobRow;
      const move = ignoreMove({ id: current.id, status: locked.status as JobStatus, error: locked.error }, created);
      if (move === 'done') return current;
      const now = Date.now();
      const [row] = await this.conn.rows<JobRow>(
        db,
        `UPDATE jobs SET status = 'skipped', error = 'ignored', ended_at = $1, updated_at = $1 WHERE id = $2 RETURNING *`,
        [now, current.id],
      );
      await this.outcomes.skipDependents(db, current.id, 'skipped');
      return jobFromRow(row as JobRow, current.dependsOn);
    });
  }
}
