import type { Allocation } from '../../core/resources.js';
import type { Job } from '../../core/words.js';
import type { FinishedAttempt } from '../attempt-ends.js';
import type { ClaimRequest } from '../engine.js';
import { pickWithinRoom, type QueueRow } from '../records.js';
import { type JobRow, jobFromRow } from '../rows.js';
import { type PostgresAllocations, wantingCte } from './allocations.js';
import type { PostgresConnection, Queryable } from './connection.js';
import { COMPLETE_CTES, claimFilter, claimSet, DEPS_COLUMN, HOLDS_SLOT, Params, prepared } from './sql.js';

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

/** Claim limits up to this are written into the statement (see claimCtes). */
const LITERAL_LIMITS = 64;

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
  // The limit as a literal (for the usual worker sizes): with a parameter, the generic plan of the
  // prepared statement is costed for a tenth of the table, so PostgreSQL planned the statement anew
  // on every call (most of a millisecond for this one); with the literal, the generic plan costs
  // what the custom ones do and is kept. A distinct text per limit: a few per worker at most.
  const limit =
    Number.isInteger(request.limit) && request.limit > 0 && request.limit <= LITERAL_LIMITS
      ? String(request.limit)
      : params.add(request.limit);
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

export class PostgresClaims {
  constructor(
    private readonly conn: PostgresConnection,
    private readonly allocations: PostgresAllocations,
  ) {}

  async claim(request: ClaimRequest): Promise<Job[]> {
    const { claimed, limits } = await this.claimUnlimited(this.conn.pool, request);
    if (limits.limited.size === 0 && !limits.wanting) return claimed;
    return this.conn.transaction((db) => this.claimLimited(db, request, limits));
  }

  /**
   * The common claim in one statement and one round trip: read the queue settings, pick, lock and
   * move to running, skipping rows other claimers hold. It claims nothing when a queue it serves has
   * a capacity (those claims need the advisory lock of claimLimited) and reports the settings.
   */
  private async claimUnlimited(db: Queryable, request: ClaimRequest): Promise<{ claimed: Job[]; limits: QueueLimits }> {
    const params = new Params();
    const ctes = claimCtes(params, request);
    const rows = await this.conn.rows<ClaimRow>(
      db,
      `WITH ${ctes}
       SELECT claimed.*, settings.limits, settings.wanting
       FROM ${SETTINGS} LEFT JOIN claimed ON true`,
      params.values,
    );
    return claimResult(rows, request);
  }

  /**
   * The worker's hot path in one statement, one round trip and one commit: a batch of completions
   * (COMPLETE_CTES) and the claim of the slots they free. Returns the completed rows and the claim.
   */
  async completeAndClaim(
    completions: FinishedAttempt[],
    request: ClaimRequest,
  ): Promise<{ done: JobRow[]; claimed: Job[]; limits: QueueLimits }> {
    const now = Date.now();
    const params = new Params();
    for (const value of completionValues(completions, now)) params.add(value);
    const ctes = claimCtes(params, request);
    // The completions are read (so run) first: every row the statement waits for is locked in id
    // order before the claim. A claim may keep a lock on a row it passes over (SKIP LOCKED rechecks a
    // row another claimer just took, and the lock stays until commit); taken before the completions'
    // locks, a heartbeat that waits for it while holding a row of the batch closes a cycle (40P01).
    const rows = await this.conn.rows<ClaimRow & { kind: 'done' | 'claimed' }>(
      this.conn.pool,
      `WITH ${COMPLETE_CTES}, ${ctes}
       SELECT 'done' AS kind, done.*, NULL::int8[] AS depends_on, NULL::json AS limits, NULL::boolean AS wanting FROM done
       UNION ALL
       SELECT 'claimed', claimed.*, settings.limits, settings.wanting
       FROM ${SETTINGS} LEFT JOIN claimed ON true`,
      params.values,
    );
    const { claimed, limits } = claimResult(
      rows.filter((row) => row.kind === 'claimed'),
      request,
    );
    return { done: rows.filter((row) => row.kind === 'done'), claimed, limits };
  }

  /**
   * Claims when some queues have a capacity: their advisory locks serialize the claimers of those
   * queues (on every machine), the running count is read under the lock, and candidates beyond a
   * queue's room are left for later rounds or other queues.
   */
  async claimLimited(db: Queryable, request: ClaimRequest, limits: QueueLimits): Promise<Job[]> {
    const names = [...limits.limited.keys()].sort(); // one lock order everywhere: no deadlocks
    await db.query(
      prepared('SELECT pg_advisory_xact_lock(hashtextextended($1 || q, 0)) FROM unnest($2::text[]) AS q', [
        `docket:queue:${this.conn.schema}:`,
        names,
      ]),
    );
    const running = await this.conn.rows<{ queue: string; n: number }>(
      db,
      `SELECT queue, count(*)::int AS n FROM jobs WHERE ${HOLDS_SLOT} AND queue = ANY($1::text[]) GROUP BY queue`,
      [names],
    );
    const room = new Map(names.map((name) => [name, limits.limited.get(name) as number]));
    for (const row of running) room.set(row.queue, (room.get(row.queue) ?? 0) - row.n);
    const closed = new Set(limits.closed);
    for (const [name, left] of room) if (left <= 0) closed.add(name);
    const now = request.now ?? Date.now();
    const picked: number[] = [];
    const allocations = new Map<number, Allocation>();
    if (request.resources) {
      // Local resources: candidates chosen by what fits this host (see allocations.ts).
      const resources = request.resources;
      const { selected, queues } = await this.allocations.pick(db, { ...request, resources }, now, closed);
      const fitting = selected.map((choice) => ({ id: choice.id, queue: queues.get(choice.id) as string }));
      pickWithinRoom(fitting, room, closed, picked, request.limit);
      for (const choice of selected) {
        if (choice.allocation && picked.includes(choice.id)) allocations.set(choice.id, choice.allocation);
      }
    }
    for (let round = 0; !request.resources && round < 4 && picked.length < request.limit; round++) {
      const params = new Params();
      const scheduler = params.add(request.scheduler);
      const at = params.add(now);
      const filter = claimFilter(params, { ...request, onlyIds: request.onlyIds }, closed);
      const exclude = picked.length > 0 ? `AND NOT (id = ANY(${params.add(picked)}::int8[]))` : '';
      const limit = params.add(request.limit - picked.length);
      const candidates = await this.conn.rows<{ id: number; queue: string }>(
        db,
        `SELECT id, queue FROM jobs
         WHERE status = 'pending' AND blocked_by = 0 AND scheduler = ${scheduler} AND run_at <= ${at} ${filter} ${exclude}
         ORDER BY priority DESC, id LIMIT ${limit} FOR UPDATE SKIP LOCKED`,
        params.values,
      );
      const filled = pickWithinRoom(candidates, room, closed, picked, request.limit);
      if (!filled || candidates.length === 0) break;
    }
    if (picked.length === 0) return [];
    const params = new Params();
    const ids = params.add(picked);
    const at = params.add(now);
    const set = claimSet(params, request, now, at);
    const rows = await this.conn.rows<JobRow & { depends_on: number[] | null }>(
      db,
      `UPDATE jobs AS j SET ${set} WHERE j.id = ANY(${ids}::int8[]) RETURNING j.*, ${DEPS_COLUMN}`,
      params.values,
    );
    const order = new Map(picked.map((id, index) => [id, index]));
    rows.sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0));
    if (allocations.size > 0) {
      const attempts = new Map(rows.map((row) => [Number(row.id), row.run_no]));
      await this.allocations.record(db, allocations, attempts, request);
    }
    return rows.map((row) => jobFromRow(row, row.depends_on ?? []));
  }
}
