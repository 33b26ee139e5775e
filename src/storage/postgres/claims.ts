/**
 * The PostgreSQL claim, as SQL pieces the engine composes: the claim's CTEs (alone, or after a batch
 * of completions in one statement), how its rows read back, and which queues need the advisory
 * lock of a capacity.
 */
import type { Job } from '../../core/words.js';
import type { ClaimRequest, FinishedAttempt } from '../engine.js';
import type { QueueRow } from '../records.js';
import { type JobRow, jobFromRow } from '../rows.js';
import { wantingCte } from './allocations.js';
import { claimFilter, claimSet, DEPS_COLUMN, type Params } from './sql.js';

/** Paused queues (closed), and the queues a claim could take from that have a capacity (limited). */
export interface QueueLimits {
  closed: Set<string>;
  limited: Map<string, number>;
  /** Local resources: a runnable job of the claimer's asks for some, so the resource-aware path claims. */
  wanting: boolean;
}

export function queueLimits(rows: QueueRow[], request: ClaimRequest, wanting = false): QueueLimits {
  const closed = new Set<string>();
  const limited = new Map<string, number>();
  const serves = (queue: string) => request.queues.includes('*') || request.queues.includes(queue);
  for (const row of rows) {
    if (row.paused) closed.add(row.name);
    else if (row.capacity !== null && serves(row.name)) limited.set(row.name, row.capacity);
  }
  return { closed, limited, wanting };
}

export type ClaimRow = JobRow & { depends_on: number[] | null; limits: QueueRow[] | null; wanting?: boolean | null };

/** The settings row every one-statement claim returns beside its claimed rows (limits, wanting). */
export const SETTINGS = `(SELECT json_agg(limits) AS limits, EXISTS (SELECT 1 FROM wanting) AS wanting FROM limits) AS settings`;

/**
 * The claim's CTEs (wanting, limits, picked, claimed), parameters added to `params`. `picked` skips paused
 * queues and queues with a capacity, and takes nothing at all when the claimer serves a queue with
 * a capacity: those claims need claimLimited's advisory lock.
 */
export function claimCtes(params: Params, request: ClaimRequest): string {
  const now = request.now ?? Date.now();
  const scheduler = params.add(request.scheduler);
  const at = params.add(now);
  const filter = claimFilter(params, request, []);
  const served = request.queues.includes('*') ? '' : `AND name = ANY(${params.add(request.queues)}::text[])`;
  const limit = params.add(request.limit);
  const set = claimSet(params, request, now, at);
  // Local resources: a resource-aware claimer leaves jobs that ask for some to the path that allocates.
  const wanting = request.resources
    ? `${wantingCte(params, request, scheduler, at)},`
    : 'wanting AS (SELECT 1 AS one WHERE false),';
  return `${wanting} limits AS (
    SELECT name, capacity, paused FROM queues WHERE capacity IS NOT NULL OR paused = 1
  ), picked AS (
    SELECT id FROM jobs
    WHERE status = 'pending' AND blocked_by = 0 AND scheduler = ${scheduler} AND run_at <= ${at} ${filter}
      AND NOT EXISTS (SELECT 1 FROM limits WHERE limits.name = jobs.queue)
      AND NOT EXISTS (SELECT 1 FROM limits WHERE capacity IS NOT NULL AND paused = 0 ${served})
      AND NOT EXISTS (SELECT 1 FROM wanting)
    ORDER BY priority DESC, id LIMIT ${limit} FOR UPDATE SKIP LOCKED
  ), claimed AS (
    UPDATE jobs AS j SET ${set} FROM picked WHERE j.id = picked.id RETURNING j.*, ${DEPS_COLUMN}
  )`;
}

export function claimResult(rows: ClaimRow[], request: ClaimRequest): { claimed: Job[]; limits: QueueLimits } {
  const limits = queueLimits(rows[0]?.limits ?? [], request, rows[0]?.wanting === true);
  const claimed = rows
    .filter((row) => row.id !== null)
    .sort((a, b) => b.priority - a.priority || a.id - b.id)
    .map((row) => jobFromRow(row, row.depends_on ?? []));
  return { claimed, limits };
}

/** The parameters of COMPLETE_CTES ($1–$6). */
export function completionValues(completions: FinishedAttempt[], now: number): unknown[] {
  return [
    completions.map((item) => item.jobId),
    completions.map((item) => item.attempt),
    completions.map((item) => item.outcome.exitCode ?? null),
    completions.map((item) => item.outcome.signal ?? null),
    completions.map((item) => (item.outcome.result === undefined ? null : JSON.stringify(item.outcome.result))),
    now,
  ];
}
