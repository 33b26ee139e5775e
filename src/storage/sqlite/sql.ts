/** The embedded engine's SQL pieces: the job insert, the new job's record, and WHERE builders. */
import type { NewJob } from '../../core/spec.js';
import type { JobStatus } from '../../core/words.js';
import type { ClaimRequest } from '../engine.js';
import { JOB_INSERT_COLUMNS, jobInsertValues } from '../inserts.js';

const INSERT_HEAD = `INSERT INTO jobs (${JOB_INSERT_COLUMNS.join(', ')}, created_at, updated_at) VALUES`;
const ROW_PLACEHOLDERS = `(${Array.from({ length: JOB_INSERT_COLUMNS.length + 2 }, () => '?').join(', ')})`;

export const INSERT_JOB = `${INSERT_HEAD} ${ROW_PLACEHOLDERS}`;

/** An insert of `rows` jobs in one statement (a bulk submit pays one statement per chunk, not per job). */
export function insertJobsSql(rows: number): string {
  return `${INSERT_HEAD} ${Array.from({ length: rows }, () => ROW_PLACEHOLDERS).join(', ')}`;
}

/** The values of one job's row in INSERT_JOB, in order (created and updated now). */
export function insertValues(
  job: NewJob,
  status: JobStatus,
  blockedBy: number,
  skipReason: string | null,
  now: number,
): unknown[] {
  const values = jobInsertValues(job, { status, blockedBy, skipReason }, now);
  values.push(now, now); // created_at, updated_at
  return values;
}

/** A WHERE clause for equality filters (undefined ones left out) and an optional status list. */
export function whereClause(
  equals: [string, string | undefined][],
  statuses?: readonly JobStatus[],
): { clause: string; args: unknown[] } {
  const where: string[] = [];
  const args: unknown[] = [];
  if (statuses?.length) {
    where.push(`status IN (${statuses.map(() => '?').join(',')})`);
    args.push(...statuses);
  }
  for (const [column, value] of equals) {
    if (value === undefined) continue;
    where.push(`${column} = ?`);
    args.push(value);
  }
  return { clause: where.length ? `WHERE ${where.join(' AND ')}` : '', args };
}

/** The SQL filter of a claim: the worker's queues and job types, minus closed queues. */
export function claimFilter(
  request: Pick<ClaimRequest, 'queues' | 'types' | 'onlyIds'>,
  closed: Set<string>,
): { clause: string; args: (string | number)[] } {
  const queues = queueClause(request.queues);
  const parts = [queues.clause];
  const args: (string | number)[] = [...queues.args];
  if (!request.types.includes('*')) {
    parts.push(`AND type IN (${request.types.map(() => '?').join(',')})`);
    args.push(...request.types);
  }
  if (request.onlyIds) {
    parts.push(`AND id IN (${request.onlyIds.map(() => '?').join(',')})`);
    args.push(...request.onlyIds);
  }
  if (closed.size > 0) {
    parts.push(`AND queue NOT IN (${[...closed].map(() => '?').join(',')})`);
    args.push(...closed);
  }
  return { clause: parts.filter(Boolean).join(' '), args };
}

/** The SQL filter for a worker's queue list; `*` means every queue. */
export function queueClause(queues: readonly string[]): { clause: string; args: string[] } {
  if (queues.includes('*')) return { clause: '', args: [] };
  return { clause: `AND queue IN (${queues.map(() => '?').join(',')})`, args: [...queues] };
}

/**
 * The jobs that take a slot of their queue's capacity: running ones, and suspended ones whose
 * process is only stopped (SIGSTOP) — resuming continues them in place, so they keep their slot.
 */
export const HOLDS_SLOT =
  "(status = 'running' OR (status = 'suspended' AND pid IS NOT NULL AND worker_id IS NOT NULL))";
/** Rows per multi-row insert: 29 values each stays far below SQLite's limit on bound values. */
export const BULK_ROWS = 64;
