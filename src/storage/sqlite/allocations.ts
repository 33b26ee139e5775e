/**
 * The embedded engine's part of local resources: the resource-aware pick of a claim (inside the
 * claim's write transaction, which serializes every claim on the machine) and the allocations
 * table. See ResourceClaim in ../ports/queue.ts.
 */
import type Database from 'better-sqlite3';
import { selectFitting } from '../../core/fit.js';
import {
  type Allocation,
  type AllocationRecord,
  asksForResources,
  type ClaimCandidate,
  type Selected,
} from '../../core/resources.js';
import type { AllocationFilter, ClaimRequest } from '../engine.js';
import { ALLOCATION_COLUMNS, allocationValues } from '../inserts.js';
import { type AllocationRow, allocationFromRow } from '../rows.js';
import { claimFilter } from './sql.js';

/** Candidates read past the claim's limit, so jobs that do not fit yet can be passed over. */
const WINDOW_EXTRA = 32;
/** When some candidates ask for resources, how many a claim looks at. */
const WIDE_WINDOW = 512;

/** Allocations of attempts that hold them now (running or suspended under a worker). */
const HELD = `SELECT a.* FROM jobs AS j JOIN allocations AS a ON a.job_id = j.id AND a.attempt = j.run_no
  WHERE j.status IN ('running', 'suspended') AND j.worker_id IS NOT NULL`;

export class SqliteAllocations {
  constructor(private readonly sql: (text: string) => Database.Statement) {}

  /**
   * The jobs a resource-aware claim starts, in order, with what each will hold: runnable jobs of the
   * claimer's queues in claim order (skipping `closed` queues), chosen by `request.resources`.
   */
  pick(
    request: ClaimRequest & { resources: NonNullable<ClaimRequest['resources']> },
    now: number,
    closed: Set<string>,
  ): {
    selected: Selected[];
    queues: Map<number, string>;
  } {
    // The first `limit` candidates first: when none of them asks for resources they are the pick
    // (jobs that ask for nothing always fit, and no more than `limit` are taken), and most claims
    // stop here without reading the window behind them.
    let candidates = this.candidates(request, now, closed, request.limit);
    const asks = candidates.some((candidate) => asksForResources(candidate.resources));
    if (asks && candidates.length === request.limit) {
      candidates = this.candidates(request, now, closed, request.limit + WINDOW_EXTRA);
      if (candidates.length === request.limit + WINDOW_EXTRA) {
        candidates = this.candidates(request, now, closed, WIDE_WINDOW);
      }
    }
    // Jobs that ask for nothing need no look at what the host holds.
    const held = asks ? this.held(request.host) : [];
    const selected = selectFitting(request.resources.inventory, held, candidates, request.limit);
    return { selected, queues: new Map(candidates.map((candidate) => [candidate.id, candidate.queue])) };
  }

  private candidates(request: ClaimRequest, now: number, closed: Set<string>, window: number): ClaimCandidate[] {
    const { clause, args } = claimFilter(request, closed);
    const rows = this.sql(
      `SELECT id, queue, resources FROM jobs INDEXED BY jobs_claim
       WHERE status = 'pending' AND blocked_by = 0 AND scheduler = ? AND run_at <= ? ${clause}
       ORDER BY priority DESC, id LIMIT ?`,
    ).all(request.scheduler, now, ...args, window) as { id: number; queue: string; resources: string }[];
    return rows.map((row) => ({
      id: row.id,
      queue: row.queue,
      resources: row.resources === '{}' ? {} : JSON.parse(row.resources),
    }));
  }

  /** What attempts on `host` hold now. */
  held(host: string): AllocationRecord[] {
    const rows = this.sql(`${HELD} AND j.host = ?`).all(host) as AllocationRow[];
    return rows.map(allocationFromRow);
  }

  /** Records what the attempts a claim started hold (`attempts`: job id → its new run number). */
  record(
    allocations: Map<number, Allocation>,
    attempts: Map<number, number>,
    claimer: { host: string; workerId: string },
  ): void {
    const insert = this.sql(
      `INSERT OR REPLACE INTO allocations (${ALLOCATION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    for (const [jobId, allocation] of allocations) {
      const attempt = attempts.get(jobId);
      if (attempt === undefined) continue;
      insert.run(
        ...allocationValues({ ...allocation, jobId, attempt, host: claimer.host, workerId: claimer.workerId }),
      );
    }
  }

  list(filter: AllocationFilter): AllocationRecord[] {
    if (filter.held) {
      const rows = this.sql(HELD).all() as AllocationRow[];
      const ids = filter.jobIds ? new Set(filter.jobIds) : null;
      return rows.map(allocationFromRow).filter((record) => !ids || ids.has(record.jobId));
    }
    const rows = this.sql(
      'SELECT * FROM allocations WHERE job_id IN (SELECT value FROM json_each(?)) ORDER BY job_id, attempt',
    ).all(JSON.stringify(filter.jobIds ?? [])) as AllocationRow[];
    return rows.map(allocationFromRow);
  }
}
