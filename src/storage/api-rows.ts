/** Row mappings of the HTTP API's tables (tokens, job events), shared by both engines. */
import type { FinishedSummary } from '../core/stats.js';
import type { JobStatus } from '../core/words.js';
import type { ApiToken, AttemptCount, FinishedTimes, JobEventRecord, NewApiToken, TokenRole } from './engine.js';

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

export interface FinishedRow {
  queue: string;
  type: string;
  status: string;
  created_at: number;
  run_at: number;
  started_at: number | null;
  ended_at: number;
}

export function finishedFromRow(row: FinishedRow): FinishedTimes {
  return {
    queue: row.queue,
    type: row.type,
    status: row.status as JobStatus,
    createdAt: Number(row.created_at),
    runAt: Number(row.run_at),
    startedAt: row.started_at === null ? null : Number(row.started_at),
    endedAt: Number(row.ended_at),
  };
}

export const FINISHED_SQL = `SELECT queue, type, status, created_at, run_at, started_at, ended_at FROM jobs`;
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
