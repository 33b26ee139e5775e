/**
 * The embedded engine's part for jobs of external schedulers (SLURM): which jobs to ask the
 * scheduler about, the scheduler's id once it accepted a job, and applying what it reported.
 */
import type Database from 'better-sqlite3';
import type { Job, Outcome, SchedulerName } from '../../core/words.js';
import type { ObservedState } from '../engine.js';
import { planReport, reportedReason } from '../records.js';
import { type JobRow, jobFromRow } from '../rows.js';

type Statement = Database.Statement<unknown[], unknown>;
type Settle = (jobId: number, attempt: number, outcome: Outcome) => Job | null;

export class ExternalJobs {
  constructor(
    private readonly sql: (text: string) => Statement,
    private readonly write: <T>(work: () => T) => T,
    private readonly settle: Settle,
    private readonly attachDeps: (rows: JobRow[]) => Job[],
  ) {}

  listTracked(scheduler: SchedulerName): Job[] {
    // `scheduler <> 'local'` repeated here lets SQLite use the partial index jobs_external.
    const rows = this.sql(
      `SELECT * FROM jobs WHERE scheduler <> 'local' AND scheduler = ? AND status IN ('pending', 'running', 'suspended')
       ORDER BY id`,
    ).all(scheduler) as JobRow[];
    return this.attachDeps(rows);
  }

  recordSubmitted(jobId: number, schedulerJobId: string): Job | null {
    return this.write(() => {
      const row = this.sql(
        `UPDATE jobs SET scheduler_job_id = ?, scheduler_reason = NULL, updated_at = ?
         WHERE id = ? AND status = 'pending' AND scheduler_job_id IS NULL RETURNING *`,
      ).get(schedulerJobId, Date.now(), jobId) as JobRow | undefined;
      return row ? jobFromRow(row) : null;
    });
  }

  discard(ids: number[]): void {
    this.write(() =>
      this.sql(
        `DELETE FROM jobs WHERE id IN (SELECT value FROM json_each(?)) AND status = 'pending'
         AND has_dependents = 0`,
      ).run(JSON.stringify(ids)),
    );
  }

  applyObserved(observed: ObservedState[]): Job[] {
    if (observed.length === 0) return [];
    return this.write(() => {
      const changed: Job[] = [];
      for (const report of observed) {
        const job = this.applyOne(report, Date.now());
        if (job) changed.push(job);
      }
      return changed;
    });
  }

  /** Applies one report of the scheduler (the rules are planReport's). */
  private applyOne(report: ObservedState, now: number): Job | null {
    let row = this.sql('SELECT * FROM jobs WHERE id = ?').get(report.jobId) as JobRow | undefined;
    const reason = row && reportedReason(row, report);
    if (row && reason !== undefined) {
      this.sql('UPDATE jobs SET scheduler_reason = ? WHERE id = ?').run(reason, row.id);
    }
    const plan = row && planReport(row, report, now);
    if (!row || !plan) return null;
    if (plan.start) {
      row = this.sql(
        `UPDATE jobs SET status = 'running', attempts = attempts + 1, run_no = run_no + 1, worker_id = ?, host = ?,
           started_at = ?, ended_at = NULL, exit_code = NULL, signal = NULL, error = NULL, error_stack = NULL,
           updated_at = ?
         WHERE id = ? RETURNING *`,
      ).get(plan.start.workerId, plan.start.host, plan.start.startedAt, now, row.id) as JobRow;
    }
    if (plan.move) {
      const updated = this.sql(
        'UPDATE jobs SET status = ?, host = coalesce(host, ?), updated_at = ? WHERE id = ? RETURNING *',
      ).get(plan.move, report.host ?? null, now, row.id) as JobRow;
      return jobFromRow(updated);
    }
    if (!plan.end) return jobFromRow(row);
    return this.end(row, report, plan.end);
  }

  /** Records the end of the attempt under way (settle applies retries and settles dependents). */
  private end(row: JobRow, report: ObservedState, outcome: Outcome): Job | null {
    const job = this.settle(row.id, row.run_no, outcome);
    if (!job) return null;
    if (job.status === 'pending') {
      // A retry: docket holds the job until its run-at time, then hands it to the scheduler anew.
      this.sql('UPDATE jobs SET scheduler_job_id = NULL, worker_id = NULL WHERE id = ?').run(row.id);
      job.schedulerJobId = null;
      job.workerId = null;
    }
    if (report.endedAt != null) {
      // The scheduler's end time, not the moment docket noticed.
      this.sql('UPDATE executions SET ended_at = ? WHERE job_id = ? AND attempt = ?').run(
        report.endedAt,
        row.id,
        row.run_no,
      );
      if (job.status !== 'pending') {
        this.sql('UPDATE jobs SET ended_at = ? WHERE id = ?').run(report.endedAt, row.id);
        job.endedAt = report.endedAt;
      }
    }
    return job;
  }
}
