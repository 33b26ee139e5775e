import type { Attempt, Job, JobStatus } from '../../core/words.js';
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
import { completionValues, type PostgresClaims } from './claims.js';
import type { PostgresConnection, Queryable } from './connection.js';
import { COMPLETE_JOBS, INSERT_EXECUTIONS, LIVE, prepared, SETTLE_JOBS } from './sql.js';

const NEXT_OCCURRENCE = nextOccurrenceSql({ runAt: '$1', key: '$2', now: '$3', id: '$4' });

export class PostgresOutcomes {
  constructor(
    private readonly conn: PostgresConnection,
    private readonly claims: PostgresClaims,
  ) {}

  async recordProcess(jobId: number, attempt: number, pid: number, pidStart: number | null): Promise<void> {
    await this.conn.pool.query(
      prepared(
        `UPDATE jobs SET pid = $1, pid_start = $2, updated_at = $3 WHERE id = $4 AND run_no = $5 AND status IN ${LIVE}`,
        [pid, pidStart, Date.now(), jobId, attempt],
      ),
    );
  }

  async setProgress(jobId: number, attempt: number, progress: number | null, message: string | null): Promise<void> {
    await this.conn.pool.query(
      prepared(
        `UPDATE jobs SET progress = $1, progress_message = $2, updated_at = $3
         WHERE id = $4 AND run_no = $5 AND status IN ${LIVE}`,
        [progress, message, Date.now(), jobId, attempt],
      ),
    );
  }

  /**
   * Completions and the claim of the slots they free in one statement (completeAndClaim); other
   * outcomes, and completions it could not take, through the general path. No transaction spans
   * the two: the claim needs no atomicity with the outcomes, and BEGIN and COMMIT would add two
   * round trips to the hot path for nothing.
   */
  async finishMany(
    finished: FinishedAttempt[],
    next?: ClaimRequest,
  ): Promise<{ recorded: (Job | null)[]; claimed: Job[] }> {
    const completions = finished.filter((item) => item.outcome.status === 'completed');
    if (!next || next.limit <= 0 || completions.length === 0) {
      const recorded = finished.length > 0 ? await this.recordOutcomes(finished) : [];
      return { recorded, claimed: next && next.limit > 0 ? await this.claims.claim(next) : [] };
    }
    const { done, claimed, limits } = await this.claims.completeAndClaim(completions, next);
    const recorded = await this.recordOutcomes(finished, done);
    if (limits.limited.size === 0 && !limits.wanting) return { recorded, claimed };
    return { recorded, claimed: await this.conn.transaction((db) => this.claims.claimLimited(db, next, limits)) };
  }

  /**
   * Completions (the bulk of outcomes) in one statement; whatever that statement did not settle —
   * failures, retries, jobs with dependents or a cron schedule, attempts that no longer own their
   * job — through the general path, in a transaction.
   */
  private async recordOutcomes(items: FinishedAttempt[], done?: JobRow[]): Promise<(Job | null)[]> {
    const recorded = new Map<FinishedAttempt, Job | null>();
    const completions = items.filter((item) => item.outcome.status === 'completed');
    let rows = done ?? [];
    if (!done && completions.length > 0) {
      // One statement, so its own transaction: the rows it returns were completed atomically.
      rows = await this.conn.rows<JobRow>(this.conn.pool, COMPLETE_JOBS, completionValues(completions, Date.now()));
    }
    const byId = new Map(rows.map((row) => [row.id, row]));
    for (const item of completions) {
      const row = byId.get(item.jobId);
      if (row) recorded.set(item, jobFromRow(row));
    }
    const rest = items.filter((item) => !recorded.has(item));
    if (rest.length > 0) {
      const settled = await this.conn.transaction((db) => this.settleMany(db, rest));
      rest.forEach((item, index) => {
        recorded.set(item, settled[index] ?? null);
      });
    }
    return items.map((item) => recorded.get(item) ?? null);
  }

  /**
   * Records a batch of outcomes inside a transaction: the rows are locked and read once, the new
   * states decided here (retry policy, state machine), then written with one statement per table.
   */
  /** @internal */
  async settleMany(db: Queryable, items: FinishedAttempt[]): Promise<(Job | null)[]> {
    const now = Date.now();
    const ids = [...new Set(items.map((item) => item.jobId))].sort((a, b) => a - b);
    const current = new Map(
      (
        await this.conn.rows<JobRow>(db, 'SELECT * FROM jobs WHERE id = ANY($1::int8[]) ORDER BY id FOR UPDATE', [ids])
      ).map((row) => [row.id, row]),
    );
    const updates: JobRow[] = [];
    const executions: ExecutionValues[] = [];
    const recorded: (Job | null)[] = [];
    for (const { jobId, attempt, outcome } of items) {
      const row = current.get(jobId);
      if (!row || row.run_no !== attempt || (row.status !== 'running' && row.status !== 'suspended')) {
        // Someone else ended the attempt (cancel, reclaim): keep their outcome, add how the work exited.
        await db.query(
          prepared(
            `UPDATE executions SET exit_code = coalesce(exit_code, $1), signal = coalesce(signal, $2)
             WHERE job_id = $3 AND attempt = $4`,
            [outcome.exitCode ?? null, outcome.signal ?? null, jobId, attempt],
          ),
        );
        recorded.push(null);
        continue;
      }
      executions.push(executionValues(row, outcome.status, outcome.error ?? null, outcome, now));
      applyOutcome(row, outcome, now);
      updates.push(row);
      recorded.push(jobFromRow(row));
    }
    if (updates.length > 0) {
      await db.query(
        prepared(SETTLE_JOBS, [
          updates.map((row) => row.id),
          updates.map((row) => row.status),
          updates.map((row) => row.exit_code),
          updates.map((row) => row.signal),
          updates.map((row) => row.error),
          updates.map((row) => row.error_stack),
          updates.map((row) => row.result),
          updates.map((row) => row.ended_at),
          updates.map((row) => row.run_at),
          updates.map((row) => row.progress),
          now,
        ]),
      );
      await this.insertExecutions(db, executions);
    }
    const retried = updates.filter((row) => row.status === 'pending').map((row) => row.queue);
    if (retried.length > 0) await this.conn.notifyWork(db, retried);
    await this.lockDependents(db, updates);
    for (const row of updates) {
      const effects = endEffects(row);
      if (effects.dependents === 'unblock') await this.unblockDependents(db, row.id);
      else if (effects.dependents === 'skip') await this.skipDependents(db, row.id, row.status as JobStatus);
      if (effects.nextOccurrence) await this.scheduleNextOccurrence(db, row, now);
    }
    return recorded;
  }

  async insertExecutions(db: Queryable, executions: ExecutionValues[]): Promise<void> {
    if (executions.length === 0) return;
    const column = <K extends keyof ExecutionValues>(key: K) => executions.map((execution) => execution[key]);
    await db.query(
      prepared(INSERT_EXECUTIONS, [
        column('jobId'),
        column('attempt'),
        column('status'),
        column('startedAt'),
        column('endedAt'),
        column('exitCode'),
        column('signal'),
        column('error'),
        column('host'),
        column('pid'),
        column('workerId'),
      ]),
    );
  }

  /** A recurring job that ended makes its next occurrence (see nextOccurrence); the key makes it one. */
  private async scheduleNextOccurrence(db: Queryable, row: JobRow, now: number): Promise<void> {
    const next = nextOccurrence(row, now);
    if (next === null) return;
    await db.query(prepared(NEXT_OCCURRENCE, [next.runAt, next.key, now, row.id]));
  }

  /**
   * Locks the dependents of every ended row that has some, in id order, before any is changed: the
   * statements below change them parent by parent, and two batches sharing dependents (a fan-in)
   * would otherwise lock them in opposite orders and deadlock (40P01).
   */
  private async lockDependents(db: Queryable, ended: JobRow[]): Promise<void> {
    const parents = ended.filter((row) => endEffects(row).dependents !== null).map((row) => row.id);
    if (parents.length === 0) return;
    await db.query(
      prepared(
        `SELECT id FROM jobs WHERE id IN (SELECT job_id FROM job_deps WHERE depends_on = ANY($1::int8[]))
         ORDER BY id FOR UPDATE`,
        [parents],
      ),
    );
  }

  private async unblockDependents(db: Queryable, jobId: number): Promise<void> {
    const rows = await this.conn.rows<{ queue: string; blocked_by: number }>(
      db,
      `UPDATE jobs SET blocked_by = blocked_by - 1
       WHERE id IN (SELECT job_id FROM job_deps WHERE depends_on = $1) AND blocked_by > 0
         AND status IN ${sqlList(WAITING)}
       RETURNING queue, blocked_by`,
      [jobId],
    );
    await this.conn.notifyWork(
      db,
      rows.filter((row) => row.blocked_by === 0).map((row) => row.queue),
    );
  }

  /** A dependency ended without completing: its waiting dependents, and theirs, become skipped. */
  async skipDependents(db: Queryable, jobId: number, status: JobStatus): Promise<void> {
    const now = Date.now();
    const waves = skipWaves(jobId, status);
    for (let wave = waves.next(); !wave.done; ) {
      const { parentId, reason } = wave.value;
      const skipped = await this.conn.rows<{ id: number }>(
        db,
        `UPDATE jobs SET status = 'skipped', error = $1, ended_at = $2, updated_at = $2
         WHERE id IN (SELECT job_id FROM job_deps WHERE depends_on = $3) AND status IN ${sqlList(WAITING)}
         RETURNING id`,
        [reason, now, parentId],
      );
      wave = waves.next(skipped.map((row) => row.id));
    }
  }

  async saveCheckpoint(jobId: number, attempt: number, checkpoint: unknown): Promise<void> {
    await this.conn.pool.query(
      prepared('UPDATE jobs SET checkpoint = $1, updated_at = $2 WHERE id = $3 AND run_no = $4', [
        JSON.stringify(checkpoint ?? null),
        Date.now(),
        jobId,
        attempt,
      ]),
    );
  }

  async park(jobId: number, attempt: number): Promise<Job | null> {
    return this.conn.transaction(async (db) => {
      const now = Date.now();
      const current = await this.conn.lockRow(db, jobId);
      if (current && current.run_no === attempt) {
        await this.insertExecutions(db, [executionValues(current, 'suspended', 'suspended', {}, now)]);
      }
      const [row] = await this.conn.rows<JobRow>(
        db,
        `UPDATE jobs SET attempts = greatest(attempts - 1, 0), worker_id = NULL, lease_expires_at = NULL, updated_at = $1
         WHERE id = $2 AND run_no = $3 AND status = 'suspended' RETURNING *`,
        [now, jobId, attempt],
      );
      return row ? jobFromRow(row) : null;
    });
  }

  async settleLost(lost: LostAttempt[]): Promise<void> {
    if (lost.length === 0) return;
    await this.conn.transaction(async (db) => {
      // The rows are locked first: an owner's renewal either committed before this read or waits
      // for this transaction (and then renews nothing, the attempt being settled).
      const now = Date.now();
      const leases = new Map(
        (
          await this.conn.rows<{ id: number; run_no: number; lease_expires_at: number | null }>(
            db,
            'SELECT id, run_no, lease_expires_at FROM jobs WHERE id = ANY($1::int8[]) ORDER BY id FOR UPDATE',
            [[...new Set(lost.map((item) => item.jobId))].sort((a, b) => a - b)],
          )
        ).map((row) => [row.id, row]),
      );
      const lapsed = lost.filter((item) => {
        const row = leases.get(item.jobId);
        if (item.processGone || !row || row.run_no !== item.attempt) return true;
        return row.lease_expires_at == null || row.lease_expires_at < now;
      });
      await this.settleMany(
        db,
        lapsed.map((item) => ({
          jobId: item.jobId,
          attempt: item.attempt,
          outcome: { status: 'failed', error: item.reason },
        })),
      );
    });
  }

  async release(jobId: number, attempt: number, reason: string): Promise<Job | null> {
    return this.conn.transaction(async (db) => {
      const now = Date.now();
      const current = await this.conn.lockRow(db, jobId);
      const owned = current && current.run_no === attempt && ['running', 'suspended'].includes(current.status);
      if (owned) await this.insertExecutions(db, [executionValues(current, 'cancelled', reason, {}, now)]);
      const [row] = await this.conn.rows<JobRow>(
        db,
        `UPDATE jobs SET status = 'pending', attempts = greatest(attempts - 1, 0), worker_id = NULL, pid = NULL,
           pid_start = NULL, lease_expires_at = NULL, run_at = $1, updated_at = $1
         WHERE id = $2 AND run_no = $3 AND status IN ${LIVE} RETURNING *`,
        [now, jobId, attempt],
      );
      if (row) await this.conn.notifyWork(db, [row.queue]);
      return row ? jobFromRow(row) : null;
    });
  }
}

/** An executions row: the attempt, and the job it belongs to. */
export type ExecutionValues = Attempt & { jobId: number; endedAt: number };

/** The executions row of the attempt a job row describes, as it ends. */
export function executionValues(
  row: JobRow,
  status: JobStatus,
  error: string | null,
  exit: { exitCode?: number | null; signal?: string | null },
  now: number,
): ExecutionValues {
  return {
    jobId: row.id,
    attempt: row.run_no,
    status,
    startedAt: row.started_at ?? now,
    endedAt: now,
    exitCode: exit.exitCode ?? null,
    signal: exit.signal ?? null,
    error,
    host: row.host,
    pid: row.pid,
    workerId: row.worker_id,
  };
}
