import type { Job, JobStatus, Outcome } from '../../core/words.js';
import type { FinishedAttempt, LostAttempt } from '../attempt-ends.js';
import type { ClaimRequest } from '../engine.js';
import {
  applyOutcome,
  endEffects,
  nextOccurrence,
  nextOccurrenceSql,
  skipWaves,
  sqlList,
  WAITING,
} from '../records.js';
import { type JobRow, jobFromRow } from '../rows.js';
import type { SqliteClaims } from './claims.js';
import type { SqliteConnection } from './connection.js';

const NEXT_OCCURRENCE = nextOccurrenceSql({ runAt: '?', key: '?', now: '?', id: '?' });

export class SqliteOutcomes {
  constructor(
    private readonly conn: SqliteConnection,
    private readonly claims: SqliteClaims,
  ) {}

  async recordProcess(jobId: number, attempt: number, pid: number, pidStart: number | null): Promise<void> {
    this.conn.write(() => {
      this.conn
        .sql(
          `UPDATE jobs SET pid = ?, pid_start = ?, updated_at = ? WHERE id = ? AND run_no = ?
         AND status IN ('running', 'suspended')`,
        )
        .run(pid, pidStart, Date.now(), jobId, attempt);
    });
  }

  async setProgress(jobId: number, attempt: number, progress: number | null, message: string | null): Promise<void> {
    this.conn
      .sql(
        `UPDATE jobs SET progress = ?, progress_message = ?, updated_at = ? WHERE id = ? AND run_no = ?
       AND status IN ('running', 'suspended')`,
      )
      .run(progress, message, Date.now(), jobId, attempt);
  }

  async finishMany(
    finished: FinishedAttempt[],
    next?: ClaimRequest,
  ): Promise<{ recorded: (Job | null)[]; claimed: Job[] }> {
    return this.conn.write(() => {
      // The batch's rows in one statement rather than one lookup per job. Settling a job changes no
      // other running job's row, so each prefetched row is current when its turn comes (a job
      // listed twice reads its row again the second time).
      const rows = this.conn
        .jobRows('WHERE id IN (SELECT value FROM json_each(?))')
        .all(JSON.stringify(finished.map((item) => item.jobId)));
      const prefetched = new Map(rows.map((row) => [row.id, row]));
      const recorded = finished.map((item) => {
        const row = prefetched.get(item.jobId);
        prefetched.delete(item.jobId);
        return this.settle(item.jobId, item.attempt, item.outcome, row);
      });
      const claimed = next && next.limit > 0 ? this.claims.claimNow(next) : [];
      return { recorded, claimed };
    });
  }

  async saveCheckpoint(jobId: number, attempt: number, checkpoint: unknown): Promise<void> {
    this.conn
      .sql('UPDATE jobs SET checkpoint = ?, updated_at = ? WHERE id = ? AND run_no = ?')
      .run(JSON.stringify(checkpoint ?? null), Date.now(), jobId, attempt);
  }

  async park(jobId: number, attempt: number): Promise<Job | null> {
    return this.conn.write(() => {
      const now = Date.now();
      const current = this.conn.sql('SELECT * FROM jobs WHERE id = ?').get(jobId) as JobRow | undefined;
      if (current && current.run_no === attempt)
        this.closeExecution(current, 'suspended', 'suspended', null, null, now);
      // The suspended execution does not count against max attempts: resuming starts a new one.
      const row = this.conn
        .sql(
          `UPDATE jobs SET attempts = max(attempts - 1, 0), worker_id = NULL, lease_expires_at = NULL, updated_at = ?
         WHERE id = ? AND run_no = ? AND status = 'suspended' RETURNING *`,
        )
        .get(now, jobId, attempt) as JobRow | undefined;
      return row ? jobFromRow(row) : null;
    });
  }

  async settleLost(lost: LostAttempt[]): Promise<void> {
    this.conn.write(() => {
      const now = Date.now();
      // Inside the write lock: an owner's renewal either committed before this read or waits for it.
      const leaseOf = this.conn.sql('SELECT lease_expires_at FROM jobs WHERE id = ? AND run_no = ?').pluck();
      for (const item of lost) {
        const lease = leaseOf.get(item.jobId, item.attempt) as number | null | undefined;
        if (!item.processGone && lease != null && lease >= now) continue; // renewed: still owned
        this.settle(item.jobId, item.attempt, { status: 'failed', error: item.reason });
      }
    });
  }

  async release(jobId: number, attempt: number, reason: string): Promise<Job | null> {
    return this.conn.write(() => {
      const now = Date.now();
      const current = this.conn.sql('SELECT * FROM jobs WHERE id = ?').get(jobId) as JobRow | undefined;
      const owned = current && current.run_no === attempt && ['running', 'suspended'].includes(current.status);
      if (owned) this.closeExecution(current, 'cancelled', reason, null, null, now);
      const row = this.conn
        .sql(
          `UPDATE jobs SET status = 'pending', attempts = max(attempts - 1, 0), worker_id = NULL, pid = NULL,
           pid_start = NULL, lease_expires_at = NULL, run_at = ?, updated_at = ?
         WHERE id = ? AND run_no = ? AND status IN ('running', 'suspended') RETURNING *`,
        )
        .get(now, now, jobId, attempt) as JobRow | undefined;
      return row ? jobFromRow(row) : null;
    });
  }

  /**
   * Records an attempt's end inside a write transaction; null if the attempt no longer owns the job.
   * `prefetched`: the job's row as read in this transaction, when the caller read it already.
   */
  settle(jobId: number, attempt: number, outcome: Outcome, prefetched?: JobRow): Job | null {
    const now = Date.now();
    const current = prefetched ?? this.conn.jobRows('WHERE id = ?').all(jobId)[0];
    if (!current || current.run_no !== attempt || !['running', 'suspended'].includes(current.status)) {
      // Someone else ended the attempt (cancel, reclaim): keep their outcome, add how the work exited.
      this.conn
        .sql(
          `UPDATE executions SET exit_code = coalesce(exit_code, ?), signal = coalesce(signal, ?)
         WHERE job_id = ? AND attempt = ?`,
        )
        .run(outcome.exitCode ?? null, outcome.signal ?? null, jobId, attempt);
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
    this.conn
      .sql(
        `UPDATE jobs SET status = ?, exit_code = ?, signal = ?, error = ?, error_stack = ?, result = ?, ended_at = ?,
         run_at = ?, lease_expires_at = NULL, updated_at = ?, progress = ?
       WHERE id = ?`,
      )
      .run(
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
    const effects = endEffects(row);
    if (effects.dependents === 'unblock') this.unblockDependents(jobId);
    else if (effects.dependents === 'skip') this.skipDependents(jobId, status);
    if (effects.nextOccurrence) this.scheduleNextOccurrence(row, now);
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
    this.conn.sql(NEXT_OCCURRENCE).run(next.runAt, next.key, now, now, row.id);
  }

  /** Writes the executions row of the attempt the job row describes, as it ends. */
  closeExecution(
    row: JobRow,
    status: JobStatus,
    error: string | null,
    exitCode: number | null,
    signal: string | null,
    now: number,
  ): void {
    this.conn
      .sql(
        `INSERT INTO executions (job_id, attempt, status, started_at, ended_at, exit_code, signal, error, host, pid, worker_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (job_id, attempt) DO UPDATE SET exit_code = coalesce(executions.exit_code, excluded.exit_code),
         signal = coalesce(executions.signal, excluded.signal)`,
      )
      .run(
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
    const dependents = this.conn.sql('SELECT job_id FROM job_deps WHERE depends_on = ?').pluck().all(jobId) as number[];
    const unblock = this.conn.sql(
      `UPDATE jobs SET blocked_by = blocked_by - 1 WHERE id = ? AND blocked_by > 0 AND status IN ${sqlList(WAITING)}`,
    );
    for (const id of dependents) unblock.run(id);
  }

  /** A dependency ended without completing: its waiting dependents, and theirs, become skipped. */
  skipDependents(jobId: number, status: JobStatus): void {
    const now = Date.now();
    const dependentsOf = this.conn.sql('SELECT job_id FROM job_deps WHERE depends_on = ?').pluck();
    const skipOne = this.conn.sql(
      `UPDATE jobs SET status = 'skipped', error = ?, ended_at = ?, updated_at = ?
       WHERE id = ? AND status IN ${sqlList(WAITING)}`,
    );
    const waves = skipWaves(jobId, status);
    for (let wave = waves.next(); !wave.done; ) {
      const { parentId, reason } = wave.value;
      const skipped = (dependentsOf.all(parentId) as number[]).filter(
        (id) => skipOne.run(reason, now, now, id).changes > 0,
      );
      wave = waves.next(skipped);
    }
  }
}
