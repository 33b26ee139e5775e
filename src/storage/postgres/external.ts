/**
 * The PostgreSQL engine's part for jobs of external schedulers (SLURM): which jobs to ask the
 * scheduler about, the scheduler's id once it accepted a job, and applying what it reported —
 * the rules written once in records.ts (planReport).
 */
import type { Job, SchedulerName } from '../../core/words.js';
import type { ObservedState } from '../engine.js';
import { planReport, reportedReason } from '../records.js';
import { type JobRow, jobFromRow } from '../rows.js';
import type { PostgresConnection, Queryable } from './connection.js';
import type { PostgresOutcomes } from './outcomes.js';
import { prepared } from './sql.js';

export class PostgresExternalJobs {
  constructor(
    private readonly conn: PostgresConnection,
    private readonly outcomes: PostgresOutcomes,
  ) {}

  async listTracked(scheduler: SchedulerName): Promise<Job[]> {
    const rows = await this.conn.rows<JobRow>(
      this.conn.pool,
      `SELECT * FROM jobs WHERE scheduler <> 'local' AND scheduler = $1 AND status IN ('pending', 'running', 'suspended')
       ORDER BY id`,
      [scheduler],
    );
    return this.conn.attachDeps(this.conn.pool, rows);
  }

  async recordSubmitted(jobId: number, schedulerJobId: string): Promise<Job | null> {
    const [row] = await this.conn.rows<JobRow>(
      this.conn.pool,
      `UPDATE jobs SET scheduler_job_id = $1, scheduler_reason = NULL, updated_at = $2
       WHERE id = $3 AND status = 'pending' AND scheduler_job_id IS NULL RETURNING *`,
      [schedulerJobId, Date.now(), jobId],
    );
    return row ? jobFromRow(row) : null;
  }

  async discard(ids: number[]): Promise<void> {
    await this.conn.pool.query(
      prepared("DELETE FROM jobs WHERE id = ANY($1::int8[]) AND status = 'pending' AND has_dependents = 0", [ids]),
    );
  }

  async applyObserved(observed: ObservedState[]): Promise<Job[]> {
    if (observed.length === 0) return [];
    return this.conn.transaction(async (db) => {
      const changed: Job[] = [];
      for (const report of observed) {
        const job = await this.applyOne(db, report, Date.now());
        if (job) changed.push(job);
      }
      return changed;
    });
  }

  /** Applies one report of the scheduler (the rules are planReport's). */
  private async applyOne(db: Queryable, report: ObservedState, now: number): Promise<Job | null> {
    let row = await this.conn.lockRow(db, report.jobId);
    const reason = row && reportedReason(row, report);
    if (row && reason !== undefined) {
      await db.query(prepared('UPDATE jobs SET scheduler_reason = $1 WHERE id = $2', [reason, row.id]));
    }
    const plan = row && planReport(row, report, now);
    if (!row || !plan) return null;
    if (plan.start) {
      [row] = (await this.conn.rows<JobRow>(
        db,
        `UPDATE jobs SET status = 'running', attempts = attempts + 1, run_no = run_no + 1, worker_id = $1, host = $2,
           started_at = $3, ended_at = NULL, exit_code = NULL, signal = NULL, error = NULL, error_stack = NULL,
           updated_at = $4
         WHERE id = $5 RETURNING *`,
        [plan.start.workerId, plan.start.host, plan.start.startedAt, now, row.id],
      )) as [JobRow];
    }
    if (plan.move) {
      const [updated] = await this.conn.rows<JobRow>(
        db,
        'UPDATE jobs SET status = $1, host = coalesce(host, $2), updated_at = $3 WHERE id = $4 RETURNING *',
        [plan.move, report.host ?? null, now, row.id],
      );
      return jobFromRow(updated as JobRow);
    }
    if (!plan.end) return jobFromRow(row);
    const [job] = await this.outcomes.settleMany(db, [{ jobId: row.id, attempt: row.run_no, outcome: plan.end }]);
    if (!job) return null;
    if (job.status === 'pending') {
      // A retry: docket holds the job until its run-at time, then hands it to the scheduler anew.
      await db.query(prepared('UPDATE jobs SET scheduler_job_id = NULL, worker_id = NULL WHERE id = $1', [row.id]));
      job.schedulerJobId = null;
      job.workerId = null;
    }
    if (report.endedAt != null) {
      await db.query(
        prepared('UPDATE executions SET ended_at = $1 WHERE job_id = $2 AND attempt = $3', [
          report.endedAt,
          row.id,
          row.run_no,
        ]),
      );
      if (job.status !== 'pending') {
        await db.query(prepared('UPDATE jobs SET ended_at = $1 WHERE id = $2', [report.endedAt, row.id]));
        job.endedAt = report.endedAt;
      }
    }
    return job;
  }
}
