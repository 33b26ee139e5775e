/**
 * The rules both engines apply to job rows, written once: how an attempt's outcome changes its
 * job (retry policy, state machine), the attempt under way that has no executions row yet, how
 * claim candidates fit in queue capacities, when a dependent may run, and the next occurrence of a
 * recurring job. The engines only read and write rows.
 */
import { retryDelaySeconds } from '../core/backoff.js';
import { nextTick } from '../core/cron.js';
import { InvalidInputError } from '../core/errors.js';
import type { StoredJobType } from '../core/job-types.js';
import { transition } from '../core/states.js';
import { type Attempt, emptyCounts, type JobStatus, type Outcome, type StatusCounts } from '../core/words.js';
import type { QueueInfo } from './engine.js';
import { type JobRow, jobFromRow } from './rows.js';

const ENDED_BADLY: readonly JobStatus[] = ['failed', 'timeout', 'cancelled', 'skipped'];

/**
 * Applies an attempt's outcome to its job row, in place (a spread copy with changed fields would be
 * a slow dictionary object): back to pending with run-at from the backoff when a failure or
 * timeout has attempts left, else the outcome's state. The move goes through the state machine.
 */
export function applyOutcome(row: JobRow, outcome: Outcome, now: number): void {
  const retry = (outcome.status === 'failed' || outcome.status === 'timeout') && row.attempts < row.max_attempts;
  const status = transition(row.id, row.status as JobStatus, retry ? 'pending' : outcome.status);
  if (retry) row.run_at = now + retryDelaySeconds(jobFromRow(row).retry, row.attempts) * 1000;
  row.status = status;
  row.exit_code = outcome.exitCode ?? null;
  row.signal = outcome.signal ?? null;
  row.error = outcome.error ?? null;
  row.error_stack = outcome.errorStack ?? null;
  row.result = outcome.result === undefined ? null : JSON.stringify(outcome.result);
  row.ended_at = retry ? null : now;
  row.lease_expires_at = null;
  row.updated_at = now;
  if (status === 'completed') row.progress = 1;
}

/** The attempt under way, which has no executions row until it ends: the job row describes it. */
export function liveAttempt(row: JobRow, recorded: Attempt[]): Attempt | null {
  const live = row.worker_id !== null && (row.status === 'running' || row.status === 'suspended');
  if (!live || recorded.some((execution) => execution.attempt === row.run_no)) return null;
  return {
    attempt: row.run_no,
    status: row.status as JobStatus,
    startedAt: row.started_at ?? row.updated_at,
    endedAt: null,
    exitCode: null,
    signal: null,
    error: null,
    host: row.host,
    pid: row.pid,
    workerId: row.worker_id,
  };
}

/**
 * Walks claim candidates (in priority order) into `picked`, taking no more from a queue than its
 * room. Returns true when a queue filled up on the way (then a further round may find more).
 */
export function pickWithinRoom(
  candidates: { id: number; queue: string }[],
  room: Map<string, number>,
  closed: Set<string>,
  picked: number[],
  limit: number,
): boolean {
  let filled = false;
  for (const candidate of candidates) {
    if (picked.includes(candidate.id) || closed.has(candidate.queue)) continue;
    const left = room.get(candidate.queue);
    if (left !== undefined) {
      if (left <= 0) {
        closed.add(candidate.queue);
        filled = true;
        continue;
      }
      room.set(candidate.queue, left - 1);
    }
    picked.push(candidate.id);
    if (picked.length === limit) break;
  }
  return filled;
}

/** How many dependencies are not yet completed, and whether one already ended without completing. */
export function dependencyState(
  parents: number[],
  statusOf: (id: number) => JobStatus | undefined,
): { status: JobStatus; blockedBy: number; skipReason: string | null } {
  let blockedBy = 0;
  for (const parent of parents) {
    const status = statusOf(parent);
    if (status === undefined) {
      throw new InvalidInputError('after', `job ${parent} does not exist; depend only on existing jobs`);
    }
    if (status === 'completed') continue;
    if (ENDED_BADLY.includes(status)) {
      return { status: 'skipped', blockedBy, skipReason: `dependency ${parent} ended ${status}` };
    }
    blockedBy++;
  }
  return { status: 'pending', blockedBy, skipReason: null };
}

/**
 * The next occurrence of a recurring job that ended: the first tick after now (ticks missed while
 * no worker ran collapse into one run), keyed by series and tick so that it is created exactly
 * once however many processes try. Null when the expression has no further tick.
 */
export function nextOccurrence(row: JobRow, now: number): { runAt: number; key: string } | null {
  const tick = nextTick(row.cron as string, Math.max(now, row.run_at));
  if (tick === null) return null;
  const series = row.key?.split('@')[0] ?? `cron:${row.id}`;
  return { runAt: tick, key: `${series}@${new Date(tick).toISOString()}` };
}

/** Counts by state from `status, n` rows, every state present. */
export function countsFrom(rows: { status: JobStatus; n: number }[]): StatusCounts {
  const counts = emptyCounts();
  for (const row of rows) {
    counts[row.status] = row.n;
    counts.total += row.n;
  }
  return counts;
}

/** A row of the queues table. */
export interface QueueRow {
  name: string;
  capacity: number | null;
  paused: number;
}

/** Every queue that has settings or jobs, with a count for every state, by name. */
export function queueInfos(
  settings: QueueRow[],
  counts: { queue: string; status: JobStatus; n: number }[],
): QueueInfo[] {
  const queues = new Map<string, QueueInfo>();
  const entry = (name: string) => {
    let queue = queues.get(name);
    if (!queue) {
      queue = { name, capacity: null, paused: false, counts: emptyCounts() };
      queues.set(name, queue);
    }
    return queue;
  };
  for (const row of settings) Object.assign(entry(row.name), { capacity: row.capacity, paused: row.paused === 1 });
  for (const row of counts) {
    const queueCounts = entry(row.queue).counts;
    queueCounts[row.status] = row.n;
    queueCounts.total += row.n;
  }
  return [...queues.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** A row of the job_types table. */
export interface JobTypeRow {
  name: string;
  queue: string | null;
  job_group: string | null;
  params_schema: string | null;
  defaults: string;
  suspendable: number;
  cron: string | null;
}

/** The columns of a job type's row (name, queue, group, params schema, defaults, suspendable, cron). */
export function jobTypeValues(
  type: StoredJobType,
): [string, string | null, string | null, string | null, string, number, string | null] {
  const { name, queue, group, paramsSchema, suspendable, cron, ...defaults } = type;
  return [
    name,
    queue ?? null,
    group ?? null,
    paramsSchema ? JSON.stringify(paramsSchema) : null,
    JSON.stringify(defaults),
    suspendable ? 1 : 0,
    cron ?? null,
  ];
}

export function jobTypeFromRow(row: JobTypeRow): StoredJobType {
  return {
    ...JSON.parse(row.defaults),
    name: row.name,
    ...(row.queue !== null && { queue: row.queue }),
    ...(row.job_group !== null && { group: row.job_group }),
    ...(row.params_schema !== null && { paramsSchema: JSON.parse(row.params_schema) }),
    suspendable: row.suspendable === 1,
    ...(row.cron !== null && { cron: row.cron }),
  };
}
