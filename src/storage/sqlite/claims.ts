import type { Allocation } from '../../core/resources.js';
import type { Job } from '../../core/words.js';
import type { ClaimRequest } from '../engine.js';
import { pickWithinRoom } from '../records.js';
import type { SqliteAllocations } from './allocations.js';
import type { SqliteConnection } from './connection.js';
import { claimFilter, HOLDS_SLOT } from './sql.js';

export class SqliteClaims {
  constructor(
    private readonly conn: SqliteConnection,
    private readonly allocations: SqliteAllocations,
  ) {}

  async claim(request: ClaimRequest): Promise<Job[]> {
    return this.conn.write(() => this.claimNow(request));
  }

  /** Claims inside the current write transaction. */
  claimNow(request: ClaimRequest): Job[] {
    const now = request.now ?? Date.now();
    {
      const allocations = new Map<number, Allocation>();
      const ids = this.pickRunnable(request, now, allocations);
      if (ids.length === 0) return [];
      // Set-wise statements per batch, not per job: the claim is the hot path. The attempt's
      // executions row is written when it ends; until then the job row describes it (see jobs.ts get()).
      // The batch's rows are read after the update, as JSON arrays (see connection.jobRows): that
      // costs less than RETURNING *, which SQLite gathers in a temporary table first.
      const batch = JSON.stringify(ids);
      this.conn
        .sql(
          `UPDATE jobs SET status = 'running', attempts = attempts + 1, run_no = run_no + 1, worker_id = ?, host = ?,
           machine = ?, pid = NULL, pid_start = NULL, started_at = ?, ended_at = NULL, lease_expires_at = ?, exit_code = NULL,
           signal = NULL, error = NULL, error_stack = NULL, updated_at = ?
         WHERE id IN (SELECT value FROM json_each(?))`,
        )
        .run(request.workerId, request.host, request.machine ?? null, now, now + request.leaseMs, now, batch);
      const rows = this.conn.jobRows('WHERE id IN (SELECT value FROM json_each(?))').all(batch);
      const order = new Map(ids.map((id, index) => [id, index]));
      rows.sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0));
      // Local resources: what each started attempt holds, recorded in the claim's transaction.
      if (allocations.size > 0)
        this.allocations.record(allocations, new Map(rows.map((row) => [row.id, row.run_no])), request);
      return this.conn.attachDeps(rows);
    }
  }

  /**
   * The ids to claim: runnable jobs in priority order, skipping paused queues and queues whose
   * capacity is used up. Claims are serialized by the write lock, so capacities hold across workers.
   * A resource-aware claim fills `allocations` with what each picked job will hold.
   */
  private pickRunnable(request: ClaimRequest, now: number, allocations: Map<number, Allocation>): number[] {
    const limits = this.conn
      .sql('SELECT name, capacity, paused FROM queues WHERE capacity IS NOT NULL OR paused = 1')
      .all() as {
      name: string;
      capacity: number | null;
      paused: number;
    }[];
    const room = new Map<string, number>();
    const closed = new Set<string>();
    for (const limit of limits) {
      if (limit.paused) closed.add(limit.name);
      else if (limit.capacity !== null) {
        const running = this.conn
          .sql(`SELECT count(*) FROM jobs WHERE queue = ? AND ${HOLDS_SLOT}`)
          .pluck()
          .get(limit.name) as number;
        if (running >= limit.capacity) closed.add(limit.name);
        else room.set(limit.name, limit.capacity - running);
      }
    }
    const picked: number[] = [];
    if (request.resources) {
      const { selected, queues } = this.allocations.pick({ ...request, resources: request.resources }, now, closed);
      const fitting = selected.map((choice) => ({ id: choice.id, queue: queues.get(choice.id) as string }));
      pickWithinRoom(fitting, room, closed, picked, request.limit);
      for (const choice of selected) {
        if (choice.allocation && picked.includes(choice.id)) allocations.set(choice.id, choice.allocation);
      }
      return picked;
    }
    // A second round is needed only when a capacity filled up while walking the first.
    for (let round = 0; round < 4 && picked.length < request.limit; round++) {
      const { clause, args } = claimFilter(request, closed);
      const candidates = this.conn
        .sql(
          // INDEXED BY: without it the planner may pick the state index and sort every pending job.
          `SELECT id, queue FROM jobs INDEXED BY jobs_claim
         WHERE status = 'pending' AND blocked_by = 0 AND scheduler = ? AND run_at <= ? ${clause}
         ORDER BY priority DESC, id LIMIT ?`,
          // Jobs picked in an earlier round are still pending in the table: fetch past them.
        )
        .all(request.scheduler, now, ...args, request.limit + picked.length) as { id: number; queue: string }[];
      const filled = pickWithinRoom(candidates, room, closed, picked, request.limit);
      if (!filled || candidates.length === 0) break;
    }
    return picked;
  }
}
