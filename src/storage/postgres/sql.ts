/**
 * The PostgreSQL engine's SQL pieces: set-wise statements that take whole batches as arrays
 * (`unnest`), so a batch costs one round trip, and builders for filters with numbered parameters.
 */
import { createHash } from 'node:crypto';
import type { QueryConfig } from 'pg';
import type { NewJob } from '../../core/spec.js';
import type { JobStatus } from '../../core/words.js';
import { JOB_INSERT_COLUMNS, type JobInsertColumn, jobInsertValues, type NewJobState } from '../inserts.js';

/**
 * A named (prepared) statement: PostgreSQL plans it once per connection instead of per call. The
 * name follows from the text, so every distinct text gets its own plan.
 */
export function prepared(text: string, values: unknown[]): QueryConfig {
  let name = names.get(text);
  if (name === undefined) {
    name = `d${createHash('sha1').update(text).digest('hex').slice(0, 16)}`;
    names.set(text, name);
  }
  return { name, text, values };
}
const names = new Map<string, string>();

/** The PostgreSQL type of each column a submit writes (the array casts of a batch insert). */
const JOB_COLUMN_TYPES: Record<JobInsertColumn, string> = {
  name: 'text',
  type: 'text',
  status: 'text',
  scheduler: 'text',
  queue: 'text',
  priority: 'int',
  command: 'text',
  argv: 'text',
  cwd: 'text',
  env: 'text',
  resources: 'text',
  time_limit_s: 'float8',
  max_attempts: 'int',
  retry_delay_s: 'float8',
  retry_backoff: 'text',
  retry_max_delay_s: 'float8',
  retry_jitter: 'int2',
  run_at: 'int8',
  blocked_by: 'int',
  key: 'text',
  tenant: 'text',
  user_name: 'text',
  params: 'text',
  job_group: 'text',
  cron: 'text',
  error: 'text',
  ended_at: 'int8',
  restarted_from: 'int8',
};
const JOB_COLUMNS: [string, string][] = JOB_INSERT_COLUMNS.map((name) => [name, JOB_COLUMN_TYPES[name]]);

/**
 * Inserts one job (plain values, cheaper to send and parse than arrays) and, in the same
 * statement, tells listening workers when its queue has new runnable work.
 */
export const INSERT_ONE_JOB = (() => {
  const names = JOB_COLUMNS.map(([name]) => name).join(', ');
  const now = `$${JOB_COLUMNS.length + 1}`;
  return `WITH inserted AS (
  INSERT INTO jobs (${names}, created_at, updated_at)
  VALUES (${JOB_COLUMNS.map(([, type], i) => `$${i + 1}::${type}`).join(', ')}, ${now}, ${now})
  ON CONFLICT (tenant, type, key) WHERE key IS NOT NULL DO NOTHING
  RETURNING id, queue, status, scheduler
), woken AS (
  SELECT pg_notify($${JOB_COLUMNS.length + 2}, 'w:' || queue) FROM inserted WHERE status = 'pending' AND scheduler = 'local'
)
SELECT id, (SELECT count(*) FROM woken) AS woken FROM inserted`;
})();

/**
 * Inserts a batch in one statement: one array per column ($1…), the ids drawn from the table's
 * sequence (a regclass parameter, converted once) in the order of the arrays, and every row back
 * with its id and whether it was inserted (a key already taken leaves it out), in that order.
 * Listening workers hear of the queues with new runnable jobs from the same statement.
 */
export const INSERT_JOBS = (() => {
  const names = JOB_COLUMNS.map(([name]) => name).join(', ');
  const next = JOB_COLUMNS.length;
  // WITH ORDINALITY and the ORDER BY make the submit order explicit: the ids are drawn in it
  // (PostgreSQL evaluates a volatile select list after the sort) and the rows come back in it.
  return `WITH source AS MATERIALIZED (
  SELECT nextval($${next + 1}::regclass) AS id, t.*
  FROM unnest(${JOB_COLUMNS.map(([, type], i) => `$${i + 1}::${type}[]`).join(', ')}) WITH ORDINALITY AS t(${names}, ord)
  ORDER BY t.ord
), inserted AS (
  INSERT INTO jobs (id, ${names}, created_at, updated_at)
  SELECT id, ${names}, $${next + 2}, $${next + 2} FROM source
  ON CONFLICT (tenant, type, key) WHERE key IS NOT NULL DO NOTHING
  RETURNING id, queue, status, scheduler
), woken AS (
  SELECT pg_notify($${next + 3}, 'w:' || queue) FROM (SELECT DISTINCT queue FROM inserted
    WHERE status = 'pending' AND scheduler = 'local') AS queues
)
SELECT s.id, i.id IS NOT NULL AS created, (SELECT count(*) FROM woken) AS woken
FROM source AS s LEFT JOIN inserted AS i ON i.id = s.id ORDER BY s.ord`;
})();

/** The values of INSERT_ONE_JOB for one job. */
export function insertValues(job: NewJob, state: NewJobState, now: number): unknown[] {
  return jobInsertValues(job, state, now);
}

/** The column arrays of INSERT_JOBS for these jobs, in the order of JOB_INSERT_COLUMNS. */
export function insertArrays(jobs: NewJob[], states: NewJobState[], now: number): unknown[][] {
  const arrays: unknown[][] = JOB_INSERT_COLUMNS.map(() => new Array(jobs.length));
  jobs.forEach((job, row) => {
    const values = jobInsertValues(job, states[row] as NewJobState, now);
    values.forEach((value, column) => {
      (arrays[column] as unknown[])[row] = value;
    });
  });
  return arrays;
}

/** Writes the outcomes of a batch of attempts to their job rows. */
export const SETTLE_JOBS = `UPDATE jobs AS j SET status = u.status, exit_code = u.exit_code, signal = u.signal,
    error = u.error, error_stack = u.error_stack, result = u.result, ended_at = u.ended_at, run_at = u.run_at,
    progress = u.progress, lease_expires_at = NULL, updated_at = $11
  FROM unnest($1::int8[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int8[],
    $9::int8[], $10::float8[]) AS u(id, status, exit_code, signal, error, error_stack, result, ended_at, run_at, progress)
  WHERE j.id = u.id`;

/** Writes the executions rows of a batch of ended attempts (a second report only fills in blanks). */
export const INSERT_EXECUTIONS = `INSERT INTO executions
    (job_id, attempt, status, started_at, ended_at, exit_code, signal, error, host, pid, worker_id)
  SELECT * FROM unnest($1::int8[], $2::int[], $3::text[], $4::int8[], $5::int8[], $6::int[], $7::text[], $8::text[],
    $9::text[], $10::int[], $11::text[])
  ON CONFLICT (job_id, attempt) DO UPDATE SET exit_code = coalesce(executions.exit_code, excluded.exit_code),
    signal = coalesce(executions.signal, excluded.signal)`;

/** Each job's dependencies, as a column of a statement over `jobs AS j`. */
export const DEPS_COLUMN =
  '(SELECT array_agg(d.depends_on ORDER BY d.depends_on) FROM job_deps AS d WHERE d.job_id = j.id) AS depends_on';

/**
 * Records a batch of completions in one statement, so atomically: the job rows and their executions
 * rows. Only attempts that still own a running job without dependents or a cron schedule qualify;
 * the rest (rows it does not return) take the general path, whose separate statements see
 * dependents submitted while this one waited for a row lock — this statement's snapshot would not.
 * The conditions are checked on the rows as `locked` read them: FOR UPDATE returns the newest
 * version of a row it waited for, so a job that just gained a dependent drops out here.
 *
 * The rows are found by id only (the primary key). A condition on `jobs.status` here let the
 * planner read the jobs_active index for status 'running', whose entries for rows that completed
 * since the last vacuum are still there: a scan that grew with every job drained.
 */
export const COMPLETE_CTES = `input AS (
  SELECT * FROM unnest($1::int8[], $2::int[], $3::int[], $4::text[], $5::text[])
    AS t(id, attempt, exit_code, signal, result)
), locked AS MATERIALIZED (
  SELECT id, run_no, status, has_dependents, cron FROM jobs WHERE id = ANY($1::int8[]) ORDER BY id FOR UPDATE
), done AS (
  UPDATE jobs AS j SET status = 'completed', exit_code = i.exit_code, signal = i.signal, error = NULL,
    error_stack = NULL, result = i.result, ended_at = $6, progress = 1, lease_expires_at = NULL, updated_at = $6
  FROM locked AS l JOIN input AS i ON i.id = l.id AND i.attempt = l.run_no
  WHERE j.id = l.id AND l.status = 'running' AND l.has_dependents = 0 AND l.cron IS NULL
  RETURNING j.*
), history AS (
  INSERT INTO executions (job_id, attempt, status, started_at, ended_at, exit_code, signal, error, host, pid, worker_id)
  SELECT id, run_no, 'completed', coalesce(started_at, $6), $6, exit_code, signal, NULL, host, pid, worker_id FROM done
  ON CONFLICT (job_id, attempt) DO UPDATE SET exit_code = coalesce(executions.exit_code, excluded.exit_code),
    signal = coalesce(executions.signal, excluded.signal)
)`;

export const COMPLETE_JOBS = `WITH ${COMPLETE_CTES} SELECT done.* FROM done`;

/** Numbered parameters for a statement built piece by piece. */
export class Params {
  readonly values: unknown[] = [];

  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/** The SET list that moves claimed rows (`jobs AS j`) to running under the claimer's lease, as of `at`. */
export function claimSet(
  params: Params,
  request: { workerId: string; host: string; machine?: string | null; leaseMs: number },
  now: number,
  at: string,
): string {
  return `status = 'running', attempts = j.attempts + 1, run_no = j.run_no + 1,
    worker_id = ${params.add(request.workerId)}, host = ${params.add(request.host)},
    machine = ${params.add(request.machine ?? null)}::text, pid = NULL, pid_start = NULL,
    started_at = ${at}, ended_at = NULL, lease_expires_at = ${params.add(now + request.leaseMs)}, exit_code = NULL,
    signal = NULL, error = NULL, error_stack = NULL, updated_at = ${at}`;
}

/** WHERE conditions for equality filters (undefined ones left out) and an optional status list. */
export function whereClause(
  params: Params,
  equals: [string, string | undefined][],
  statuses?: readonly JobStatus[],
): string {
  const where: string[] = [];
  if (statuses?.length) where.push(`status = ANY(${params.add(statuses)}::text[])`);
  for (const [column, value] of equals) if (value !== undefined) where.push(`${column} = ${params.add(value)}`);
  return where.length ? `WHERE ${where.join(' AND ')}` : '';
}

/** The claim filter: the worker's queues and job types, the jobs asked for, minus closed queues. */
export function claimFilter(
  params: Params,
  request: { queues: readonly string[]; types: readonly string[]; onlyIds?: readonly number[] },
  closed: Iterable<string>,
): string {
  const parts: string[] = [];
  if (!request.queues.includes('*')) parts.push(`AND queue = ANY(${params.add(request.queues)}::text[])`);
  if (!request.types.includes('*')) parts.push(`AND type = ANY(${params.add(request.types)}::text[])`);
  if (request.onlyIds) parts.push(`AND id = ANY(${params.add(request.onlyIds)}::int8[])`);
  const closedList = [...closed];
  if (closedList.length > 0) parts.push(`AND NOT (queue = ANY(${params.add(closedList)}::text[]))`);
  return parts.join(' ');
}

/** The states in which an attempt runs (or is stopped in place) and owns its job. */
export const LIVE = "('running', 'suspended')";
/**
 * The jobs that take a slot of their queue's capacity: running ones, and suspended ones whose
 * process is only stopped (SIGSTOP) — resuming continues them in place, so they keep their slot.
 */
export const HOLDS_SLOT =
  "(status = 'running' OR (status = 'suspended' AND pid IS NOT NULL AND worker_id IS NOT NULL))";
