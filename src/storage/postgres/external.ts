/**
 * The PostgreSQL engine's part for jobs of external schedulers (SLURM): which jobs to ask the
 * scheduler about, the scheduler's id once it accepted a job, and applying what it reported —
 * the same rules as the embedded engine's (sqlite/external.ts).
 */
import { transition } from '../../core/states.js';
import { FINAL_STATUSES, type Job, type JobStatus, type Outcome, type SchedulerName } from '../../core/words.js';
import type { ObservedState } from '../engine.js';
import { type JobRow, jobFromRow } from '../rows.js';
import type { PostgresEngine, Queryable } from './engine.js';
import { prepared } from './sql.js';

export class PostgresExternalJobs {
  constructor(private readonly engine: PostgresEngine) {}

  async listTracked(scheduler: SchedulerName): Promise<Job[]> {
    const rows = await this.engine.rows<JobRow>(
      this.engine.pool,
      `SELECT * FROM jobs WHERE scheduler <> 'local' AND scheduler = $1 AND status IN ('pending', 'running', 'suspended')
       ORDER BY id`,
      [scheduler],
    );
    return this.engine.attachDeps(this.engine.pool, rows);
  }

  async recordSubmitted(jobId: number, schedulerJobId: string): Promise<Job | null> {
    const [row] = await this.engine.rows<JobRow>(
      this.engine.pool,
      `UPDATE jobs SET scheduler_job_id = $1, updated_at = $2
       WHERE id = $3 AND status = 'pending' AND scheduler_job_id IS NULL RETURNING *`,
      [schedulerJobId, Date.now(), jobId],
    );
    return row ? jobFromRow(row) : null;
  }

  async discard(ids: number[]): Promise<void> {
    await this.engine.pool.query(
      prepared("DELETE FROM jobs WHERE id = ANY($1::int8[]) AND status = 'pending' AND has_dependents = 0", [ids]),
    );
  }

  async applyObserved(observed: ObservedState[]): Promise<Job[]> {
    if (observed.length === 0) return [];
    return this.engine.transaction(async (db) => {
      const changed: Job[] = [];
      for (const report of observed) {
        const job = await this.applyOne(db, report, Date.now());
        if (job) changed.push(job);
      }
      return changed;
    });
  }

  /** Applies one report of the scheduler (the same rules as the embedded engine's). */
  private async applyOne(db: Queryable, report: ObservedState, now: number): Promise<Job | null> {
    let row = await this.engine.lockRow(db, report.jobId);
    if (!row || row.scheduler_job_id !== report.schedulerJobId) return null;
    const from = row.status as JobStatus;
    if (FINAL_STATUSES.includes(from) || report.status === from || report.status === 'pending') return null;
    if (from === 'pending') {
      transition(row.id, from, 'running', 'claim');
      [row] = (await this.engine.rows<JobRow>(
        db,
        `UPDATE jobs SET status = 'running', attempts = attempts + 1, run_no = run_no + 1, worker_id = $1, host = $2,
           started_at = $3, ended_at = NULL, exit_code = NULL, signal = NULL, error = NULL, error_stack = NULL,
           updated_at = $4
         WHERE id = $5 RETURNING *`,
        [
          `${row.scheduler}:${report.schedulerJobId}`,
          report.host ?? null,
          report.startedAt ?? report.endedAt ?? now,
          now,
          row.id,
        ],
      )) as [JobRow];
      if (report.status === 'running') return jobFromRow(row);
    }
    if (report.status === 'running' || report.status === 'suspended') {
      const to = transition(row.id, row.status as JobStatus, report.status);
      const [updated] = await this.engine.rows<JobRow>(
        db,
        'UPDATE jobs SET status = $1, host = coalesce(host, $2), updated_at = $3 WHERE id = $4 RETURNING *',
        [to, report.host ?? null, now, row.id],
      );
      return jobFromRow(updated as JobRow);
    }
    const [job] = await this.engine.settleMany(db, [
      {
        jobId: row.id,
        attempt: row.run_no,
        outcome: {
          status: report.status as Outcome['status'],
          exitCode: report.exitCode ?? null,
          signal: report.signal ?? null,
          error: report.error ?? null,
        },
      },
    ]);
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
