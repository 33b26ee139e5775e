import type { NewJob } from '../../core/spec.js';
import { refuse, refuseRequeueBehind, transition } from '../../core/states.js';
import type { Job, JobStatus } from '../../core/words.js';
import type { ClearRequest, RefreshRequest, RefreshResult } from '../engine.js';
import { ENDED_BADLY, ignoreMove, requeueSql, resumeTarget, sqlList } from '../records.js';
import { type JobRow, jobFromRow } from '../rows.js';
import type { SqliteConnection } from './connection.js';
import type { SqliteJobs } from './jobs.js';
import type { SqliteOutcomes } from './outcomes.js';

const REQUEUE = requeueSql({ now: '?', blockedBy: '?', id: '?' });

export class SqliteCommands {
  constructor(
    private readonly conn: SqliteConnection,
    private readonly jobs: SqliteJobs,
    private readonly outcomes: SqliteOutcomes,
  ) {}

  async cancel(id: number, reason: string): Promise<Job> {
    return this.conn.write(() => {
      const current = this.conn.mustGet(id);
      transition(id, current.status as JobStatus, 'cancelled', 'cancel');
      const now = Date.now();
      if (current.worker_id !== null && ['running', 'suspended'].includes(current.status)) {
        this.outcomes.closeExecution(current, 'cancelled', reason, null, null, now);
      }
      const row = this.conn
        .sql(
          `UPDATE jobs SET status = 'cancelled', error = ?, ended_at = ?, lease_expires_at = NULL, updated_at = ?
         WHERE id = ? RETURNING *`,
        )
        .get(reason, now, now, id) as JobRow;
      this.outcomes.skipDependents(id, 'cancelled');
      return jobFromRow(row);
    });
  }

  async suspend(id: number): Promise<Job> {
    return this.conn.write(() => {
      const current = this.conn.mustGet(id);
      transition(id, current.status as JobStatus, 'suspended', 'suspend');
      return this.setStatus(id, 'suspended');
    });
  }

  async resume(id: number): Promise<Job> {
    return this.conn.write(() => {
      const current = this.conn.mustGet(id);
      if (current.status !== 'suspended') throw refuse(id, current.status as JobStatus, 'resume');
      return this.setStatus(id, resumeTarget(current));
    });
  }

  async requeue(id: number): Promise<Job> {
    return this.conn.write(() => {
      const current = this.conn.mustGet(id);
      transition(id, current.status as JobStatus, 'pending', 'requeue');
      const parents = this.conn.sql('SELECT depends_on FROM job_deps WHERE job_id = ?').pluck().all(id) as number[];
      const ended = this.conn
        .sql(
          `SELECT id, status FROM jobs WHERE id IN (SELECT value FROM json_each(?))
         AND status IN ${sqlList(ENDED_BADLY)} ORDER BY id LIMIT 1`,
        )
        .get(JSON.stringify(parents)) as { id: number; status: JobStatus } | undefined;
      if (ended) throw refuseRequeueBehind(id, current.status as JobStatus, ended.id, ended.status);
      const blockedBy = this.conn
        .sql("SELECT count(*) FROM jobs WHERE id IN (SELECT value FROM json_each(?)) AND status != 'completed'")
        .pluck()
        .get(JSON.stringify(parents)) as number;
      const now = Date.now();
      const row = this.conn.sql(REQUEUE).get(now, blockedBy, now, id) as JobRow;
      return jobFromRow(row, parents);
    });
  }

  private setStatus(id: number, status: JobStatus): Job {
    const row = this.conn
      .sql('UPDATE jobs SET status = ?, updated_at = ? WHERE id = ? RETURNING *')
      .get(status, Date.now(), id) as JobRow;
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
    return this.conn.write(
      () =>
        this.conn
          .sql(`DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE ${where.join(' AND ')} ${limit}) RETURNING id`)
          .pluck()
          .all(...args) as number[],
    );
  }

  async refresh(request: RefreshRequest): Promise<RefreshResult> {
    const now = Date.now();
    return this.conn.write(() => {
      let added = 0;
      for (const job of request.jobs) if (this.jobs.insertOne(job, now).created) added++;
      let removed = 0;
      let kept = 0;
      if (request.removeMissing) {
        const keys = JSON.stringify(request.jobs.map((job) => job.key));
        const missing = `type = ? AND tenant = ? AND status = 'pending' AND key IS NOT NULL
           AND key NOT IN (SELECT value FROM json_each(?))`;
        const waitedFor = 'EXISTS (SELECT 1 FROM job_deps WHERE job_deps.depends_on = jobs.id)';
        kept = this.conn
          .sql(`SELECT count(*) FROM jobs WHERE ${missing} AND ${waitedFor}`)
          .pluck()
          .get(request.type, request.tenant, keys) as number;
        removed = this.conn
          .sql(`DELETE FROM jobs WHERE ${missing} AND NOT ${waitedFor}`)
          .run(request.type, request.tenant, keys).changes;
      }
      return { added, existing: request.jobs.length - added, removed, kept };
    });
  }

  async ignore(job: NewJob): Promise<Job> {
    const now = Date.now();
    return this.conn.write(() => {
      const { job: current, created } = this.jobs.insertOne(job, now);
      if (ignoreMove(current, created) === 'done') return current;
      const row = this.conn
        .sql(
          `UPDATE jobs SET status = 'skipped', error = 'ignored', ended_at = ?, updated_at = ? WHERE id = ? RETURNING *`,
        )
        .get(now, now, current.id) as JobRow;
      this.outcomes.skipDependents(current.id, 'skipped');
      return jobFromRow(row, current.dependsOn);
    });
  }
}
