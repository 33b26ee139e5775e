/** Row mappings of the HTTP API's tables (tokens, job events), shared by both engines. */
import type { FinishedSummary } from '../core/stats.js';
import type { JobStatus } from '../core/words.js';
import { FINAL_STATUSES } from '../core/words.js';
import type { ApiToken, AttemptCount, FinishedHistogram, JobEventRecord, NewApiToken, TokenRole } from './engine.js';

export interface TokenRow {
  id: number;
  name: string | null;
  tenant: string;
  user_name: string | null;
  role: string;
  prefix: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
}

export function tokenFromRow(row: TokenRow): ApiToken {
  return {
    id: Number(row.id),
    name: row.name,
    tenant: row.tenant,
    user: row.user_name,
    role: row.role as TokenRole,
    prefix: row.prefix,
    createdAt: Number(row.created_at),
    expiresAt: row.expires_at === null ? null : Number(row.expires_at),
    revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
  };
}

/** The values of a token insert, in the column order of TOKEN_COLUMNS. */
export const TOKEN_COLUMNS = 'name, tenant, user_name, role, token_hash, prefix, created_at, expires_at';
export function tokenValues(token: NewApiToken): unknown[] {
  return [
    token.name,
    token.tenant,
    token.user,
    token.role,
    token.tokenHash,
    token.prefix,
    token.createdAt,
    token.expiresAt,
  ];
}

export interface EventRow {
  id: number;
  at: number;
  job_id: number;
  tenant: string;
  queue: string;
  type: string;
  kind: string;
  status: string;
  progress: number | null;
}

export function eventFromRow(row: EventRow): JobEventRecord {
  return {
    id: Number(row.id),
    at: Number(row.at),
    jobId: Number(row.job_id),
    tenant: row.tenant,
    queue: row.queue,
    type: row.type,
    kind: row.kind as JobEventRecord['kind'],
    status: row.status as JobStatus,
    progress: row.progress,
  };
}

/**
 * The run and wait time histograms of finished jobs, counted by the store in one pass over the
 * jobs (no job reaches the server: a scrape costs the same memory with a million jobs stored).
 * `greatest` is the engine's two-argument maximum (SQLite's scalar `max`, PostgreSQL's `greatest`).
 */
export function finishedHistogramsSql(boundsMs: number[], greatest: 'max' | 'greatest'): string {
  const bucket = (column: string) =>
    `CASE ${boundsMs.map((bound, index) => `WHEN ${column} <= ${Number(bound)} THEN ${index}`).join(' ')} ELSE ${boundsMs.length} END`;
  const measure = (name: string, column: string) =>
    `SELECT queue, '${name}' AS measure, ${bucket(column)} AS bucket, count(*) AS n, sum(${column}) AS total_ms
     FROM finished GROUP BY 1, 3`;
  return `WITH finished AS MATERIALIZED (
      SELECT queue, ${greatest}(0, ended_at - started_at) AS run_ms,
        ${greatest}(0, started_at - ${greatest}(created_at, run_at)) AS wait_ms
      FROM jobs WHERE status IN (${FINAL_STATUSES.map((status) => `'${status}'`).join(', ')})
        AND started_at IS NOT NULL AND ended_at IS NOT NULL)
    ${measure('run', 'run_ms')} UNION ALL ${measure('wait', 'wait_ms')}`;
}

export interface HistogramRow {
  queue: string;
  measure: string;
  bucket: number;
  n: number;
  total_ms: number;
}

export function histogramsFromRows(rows: HistogramRow[], boundsMs: number[]): FinishedHistogram[] {
  const byKey = new Map<string, FinishedHistogram>();
  for (const row of rows) {
    const measure = row.measure as FinishedHistogram['measure'];
    const key = JSON.stringify([row.queue, measure]);
    let histogram = byKey.get(key);
    if (!histogram) {
      histogram = { queue: row.queue, measure, counts: boundsMs.map(() => 0).concat(0), sumMs: 0, count: 0 };
      byKey.set(key, histogram);
    }
    const n = Number(row.n);
    histogram.counts[Number(row.bucket)] = n;
    histogram.sumMs += Number(row.total_ms);
    histogram.count += n;
  }
  return [...byKey.values()];
}

export const ATTEMPT_COUNTS_SQL = `SELECT j.queue, j.type, e.status AS outcome, count(*) AS count
  FROM executions e JOIN jobs j ON j.id = e.job_id WHERE e.ended_at IS NOT NULL GROUP BY j.queue, j.type, e.status`;

export function attemptCountFromRow(row: {
  queue: string;
  type: string;
  outcome: string;
  count: number;
}): AttemptCount {
  return { queue: row.queue, type: row.type, outcome: row.outcome as JobStatus, count: Number(row.count) };
}

/** A row of finished counts: jobs per minute of the window and outcome. */
export interface FinishedCountRow {
  minute: number;
  status: string;
  n: number;
}

export function finishedCountFromRow(row: FinishedCountRow): FinishedSummary['counts'][number] {
  return { minute: Number(row.minute), status: row.status as JobStatus, count: Number(row.n) };
}

/** A row of wait/run percentiles (milliseconds; null when no job started) of a minute, or the whole window. */
export interface FinishedTimesRow {
  minute: number | null;
  wait_p50: number | null;
  wait_p95: number | null;
  run_p50: number | null;
  run_p95: number | null;
}

export function finishedTimesFromRow(row: FinishedTimesRow): FinishedSummary['times'][number] {
  const seconds = (ms: number | null) => (ms === null ? null : Number(ms) / 1000);
  return {
    minute: row.minute === null ? null : Number(row.minute),
    wait: { p50: seconds(row.wait_p50), p95: seconds(row.wait_p95) },
    run: { p50: seconds(row.run_p50), p95: seconds(row.run_p95) },
  };
}
