/**
 * The PostgreSQL engine's part of local resources: the resource-aware pick of a claim and the
 * allocations table. Claims on one host are serialized by an advisory lock named after the host
 * (what the host's attempts hold is read under it); only the jobs chosen are locked, with SKIP
 * LOCKED as in every claim. See ResourceClaim in ../ports/queue.ts.
 */
import { selectFitting } from '../../core/fit.js';
import type { Allocation, AllocationRecord, ClaimCandidate, Selected } from '../../core/resources.js';
import type { AllocationFilter, ClaimRequest } from '../engine.js';
import { type AllocationRow, allocationFromRow } from '../rows.js';
import type { PostgresConnection, Queryable } from './connection.js';
import { claimFilter, Params, prepared } from './sql.js';

/** How many runnable jobs a resource-aware claim looks at (jobs that do not fit yet are passed over). */
const WINDOW = 512;

const HELD = `SELECT a.* FROM jobs AS j JOIN allocations AS a ON a.job_id = j.id AND a.attempt = j.run_no
  WHERE j.status IN ('running', 'suspended') AND j.worker_id IS NOT NULL`;

/**
 * The CTE `wanting`: a runnable job of the claimer's that asks for resources (at most one row). The
 * one-statement claim takes nothing when it finds one, and leaves the claim to the path below.
 *
 * It must read the (usually empty) index jobs_wanting, never jobs_claim, which holds every runnable
 * job: `blocked_by < 1` (the same as `= 0` for a count) keeps jobs_claim's predicate from being
 * implied, so the planner cannot pick it. Before a table's first ANALYZE it did, and each claim
 * then read every pending job (5 ms with 20,000 queued; PERFORMANCE in the README).
 */
export function wantingCte(params: Params, request: ClaimRequest, scheduler: string, at: string): string {
  const filter = claimFilter(params, request, []);
  return `wanting AS (
    SELECT 1 AS one FROM jobs
    WHERE status = 'pending' AND resources <> '{}' AND blocked_by < 1 AND scheduler = ${scheduler} AND run_at <= ${at}
      ${filter}
    LIMIT 1
  )`;
}

export class PostgresAllocations {
  constructor(private readonly conn: PostgresConnection) {}

  /** Inside the claim's transaction: the jobs to start, in order, with what each will hold. */
  async pick(
    db: Queryable,
    request: ClaimRequest & { resources: NonNullable<ClaimRequest['resources']> },
    now: number,
    closed: Set<string>,
  ): Promise<{ selected: Selected[]; queues: Map<number, string> }> {
    await db.query(
      prepared('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
        `docket:host:${this.conn.schema}:${request.host}`,
      ]),
    );
    const params = new Params();
    const scheduler = params.add(request.scheduler);
    const at = params.add(now);
    const filter = claimFilter(params, request, closed);
    const rows = await this.conn.rows<{ id: string | number; queue: string; resources: string }>(
      db,
      `SELECT id, queue, resources FROM jobs
       WHERE status = 'pending' AND blocked_by = 0 AND scheduler = ${scheduler} AND run_at <= ${at} ${filter}
       ORDER BY priority DESC, id LIMIT ${params.add(WINDOW)}`,
      params.values,
    );
    const candidates: ClaimCandidate[] = rows.map((row) => ({
      id: Number(row.id),
      queue: row.queue,
      resources: JSON.parse(row.resources),
    }));
    const held = (await this.conn.rows<AllocationRow>(db, `${HELD} AND j.host = $1`, [request.host])).map(
      allocationFromRow,
    );
    const chosen = selectFitting(request.resources.inventory, held, candidates, request.limit);
    // Only the chosen rows are locked (not the whole window, which would hide it from claimers on
    // other hosts); one that another claimer took meanwhile is dropped, and the others' devices stay
    // valid, since each was free on its own.
    const ids = chosen.map((choice) => choice.id);
    const locked = new Set(
      ids.length === 0
        ? []
        : (
            await this.conn.rows<{ id: number }>(
              db,
              "SELECT id FROM jobs WHERE id = ANY($1::int8[]) AND status = 'pending' ORDER BY id FOR UPDATE SKIP LOCKED",
              [ids],
            )
          ).map((row) => Number(row.id)),
    );
    const selected = chosen.filter((choice) => locked.has(choice.id));
    return { selected, queues: new Map(candidates.map((candidate) => [candidate.id, candidate.queue])) };
  }

  /** Records what the attempts a claim started hold (`attempts`: job id → its new run number). */
  async record(
    db: Queryable,
    allocations: Map<number, Allocation>,
    attempts: Map<number, number>,
    claimer: { host: string; workerId: string },
  ): Promise<void> {
    const records = [...allocations]
      .filter(([jobId]) => attempts.has(jobId))
      .map(([jobId, allocation]) => ({ ...allocation, jobId, attempt: attempts.get(jobId) as number }));
    if (records.length === 0) return;
    await db.query(
      prepared(
        `INSERT INTO allocations (job_id, attempt, host, worker_id, gpus, cpus, memory_bytes, pinned, memory_enforced)
         SELECT job_id, attempt, $3, $4, gpus, cpus, memory_bytes, pinned, memory_enforced
         FROM unnest($1::int8[], $2::int[], $5::text[], $6::text[], $7::int8[], $8::int2[], $9::int2[])
           AS t(job_id, attempt, gpus, cpus, memory_bytes, pinned, memory_enforced)
         ON CONFLICT (job_id, attempt) DO UPDATE SET host = excluded.host, worker_id = excluded.worker_id,
           gpus = excluded.gpus, cpus = excluded.cpus, memory_bytes = excluded.memory_bytes,
           pinned = excluded.pinned, memory_enforced = excluded.memory_enforced`,
        [
          records.map((record) => record.jobId),
          records.map((record) => record.attempt),
          claimer.host,
          claimer.workerId,
          records.map((record) => JSON.stringify(record.gpus)),
          records.map((record) => JSON.stringify(record.cpus)),
          records.map((record) => record.memoryBytes),
          records.map((record) => (record.pinned ? 1 : 0)),
          records.map((record) => (record.memoryEnforced ? 1 : 0)),
        ],
      ),
    );
  }

  async list(filter: AllocationFilter): Promise<AllocationRecord[]> {
    const pool = this.conn.pool;
    if (filter.held) {
      const rows = await this.conn.rows<AllocationRow>(pool, HELD);
      const ids = filter.jobIds ? new Set(filter.jobIds) : null;
      return rows.map(allocationFromRow).filter((record) => !ids || ids.has(record.jobId));
    }
    const rows = await this.conn.rows<AllocationRow>(
      pool,
      'SELECT * FROM allocations WHERE job_id = ANY($1::int8[]) ORDER BY job_id, attempt',
      [filter.jobIds ?? []],
    );
    return rows.map(allocationFromRow);
  }
}
