/**
 * The rules both engines apply to job rows, written once: how an attempt's outcome changes its
 * job (retry policy, state machine) and what its end sets off (dependents, the next occurrence of
 * a recurring job), the attempt under way that has no executions row yet, how claim candidates fit
 * in queue capacities, when a dependent may run, where resume and requeue send a job, and how a
 * scheduler's report applies. The engines only read and write rows, with the statements of their
 * dialect; the few statements below are plain SQL both dialects run, given their placeholders.
 */
import { retryDelaySeconds } from '../core/backoff.js';
import { nextTick } from '../core/cron.js';
import { InvalidInputError } from '../core/errors.js';
import type { StoredJobType } from '../core/job-types.js';
import { transition } from '../core/states.js';
import {
  type Attempt,
  emptyCounts,
  FINAL_STATUSES,
  type JobFilter,
  type JobStatus,
  type Outcome,
  type StatusCounts,
} from '../core/words.js';
import type { ObservedState, QueueInfo } from './engine.js';
import { type JobRow, jobFromRow } from './rows.js';

/** A dependency in one of these states ended without completing: its dependents cannot run. */
export const ENDED_BADLY: readonly JobStatus[] = ['failed', 'timeout', 'cancelled', 'skipped'];
/** A dependent waits for its dependencies in these states (an end of one reaches it there). */
export const WAITING: readonly JobStatus[] = ['pending', 'suspended'];

/** A SQL list of states, for statements: `('pending', 'suspended')`. */
export function sqlList(statuses: readonly JobStatus[]): string {
  return `(${statuses.map((status) => `'${status}'`).join(', ')})`;
}

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

/** What the end of an attempt sets off, once its row is settled. */
export function endEffects(row: JobRow): { dependents: 'unblock' | 'skip' | null; nextOccurrence: boolean } {
  const status = row.status as JobStatus;
  const ended = status !== 'pending'; // pending: a retry, not an end
  let dependents: 'unblock' | 'skip' | null = null;
  if (row.has_dependents === 1 && status === 'completed') dependents = 'unblock';
  else if (row.has_dependents === 1 && ended) dependents = 'skip';
  return { dependents, nextOccurrence: row.cron !== null && ended };
}

/** Why the waiting dependents of a job that ended without completing are skipped. */
export function skipReason(parentId: number, status: JobStatus): string {
  return `dependency ${parentId} ended ${status}`;
}

/** Why a dependent of a skipped job is skipped in turn (the reason carries the whole chain). */
export function cascadedSkipReason(skippedId: number, parentReason: string): string {
  return `dependency ${skippedId} was skipped (${parentReason})`;
}

/**
 * Skips the waiting dependents of a job that ended without completing, and theirs, wave by wave.
 * `skipChildren(parentId, reason)` skips the waiting dependents of one job and returns their ids;
 * a generator, so the SQLite engine drives it synchronously and the PostgreSQL engine with awaits.
 */
export function* skipWaves(
  jobId: number,
  status: JobStatus,
): Generator<{ parentId: number; reason: string }, void, number[]> {
  let frontier = [{ parentId: jobId, reason: skipReason(jobId, status) }];
  while (frontier.length > 0) {
    const next: { parentId: number; reason: string }[] = [];
    for (const parent of frontier) {
      const skipped: number[] = yield parent;
      for (const id of skipped) next.push({ parentId: id, reason: cascadedSkipReason(id, parent.reason) });
    }
    frontier = next;
  }
}

/**
 * The insert of a recurring job's next occurrence: a copy of the ended job's definition, pending
 * at the next tick under its own key (so a second try by another process inserts nothing).
 */
export function nextOccurrenceSql(at: { runAt: string; key: string; now: string; id: string }): string {
  return `INSERT INTO jobs (name, type, status, scheduler, queue, priority, command, argv, cwd, env, resources,
    time_limit_s, max_attempts, retry_delay_s, retry_backoff, retry_max_delay_s, retry_jitter, run_at,
    blocked_by, key, tenant, user_name, params, job_group, cron, created_at, updated_at)
  SELECT name, type, 'pending', scheduler, queue, priority, command, argv, cwd, env, resources,
    time_limit_s, max_attempts, retry_delay_s, retry_backoff, retry_max_delay_s, retry_jitter, ${at.runAt},
    0, ${at.key}, tenant, user_name, params, job_group, cron, ${at.now}, ${at.now}
  FROM jobs WHERE id = ${at.id} ON CONFLICT DO NOTHING`;
}

/**
 * Where `resume` sends a suspended job: back to running when what was stopped is still there to
 * continue in place — a command's stopped process, or a job an external scheduler had started
 * (SLURM resumes it; its worker id names that scheduler while the submission has started) — and
 * to pending, to start over, otherwise.
 */
export function resumeTarget(row: JobRow): 'running' | 'pending' {
  const inPlace = row.pid != null || (row.scheduler_job_id != null && row.worker_id != null);
  return inPlace && row.ended_at == null && row.run_no > 0 ? 'running' : 'pending';
}

/**
 * The update of `requeue`: the job pending again as if new — no attempts counted, waiting for its
 * unfinished dependencies, and nothing of the previous runs (outcome, process, lease, host,
 * scheduler id) left on the row. Their executions rows stay as history.
 */
export function requeueSql(at: { now: string; blockedBy: string; id: string }): string {
  return `UPDATE jobs SET status = 'pending', attempts = 0, run_at = ${at.now}, blocked_by = ${at.blockedBy},
    exit_code = NULL, signal = NULL, error = NULL, error_stack = NULL, result = NULL, progress = NULL,
    progress_message = NULL, pid = NULL, pid_start = NULL, worker_id = NULL, host = NULL, lease_expires_at = NULL,
    started_at = NULL, ended_at = NULL, scheduler_job_id = NULL, updated_at = ${at.now}
  WHERE id = ${at.id} RETURNING *`;
}

/**
 * How `ignore` treats the job its submit found or created: one already ignored stands as it is;
 * one skipped for its dependency is only marked ignored; any other existing job moves to skipped
 * through the state machine (which refuses a running or final one).
 */
export function ignoreMove(
  job: { id: number; status: JobStatus; error: string | null },
  created: boolean,
): 'done' | 'mark' {
  if (job.status === 'skipped' && job.error === 'ignored') return 'done';
  if (!created && job.status !== 'skipped') transition(job.id, job.status, 'skipped', 'skip');
  return 'mark';
}

/** What a scheduler's report does to its job (see planReport). */
export interface ReportPlan {
  /** The job started since the last look (or even ran to its end): a new attempt begins. */
  start: { workerId: string; host: string | null; startedAt: number } | null;
  /** Then a move to running or suspended (null for none)… */
  move: JobStatus | null;
  /** …or the end of the attempt (null for none). */
  end: Outcome | null;
}

/**
 * What a scheduler's report changes, or null for nothing: a job whose record names another
 * submission or changed since the scheduler was asked is left alone, final records stand, and a
 * pending report changes nothing (queued as docket thinks, held by a docket suspend, or requeued
 * by SLURM itself, which keeps the same attempt going). Moves go through the state machine.
 */
export function planReport(row: JobRow, report: ObservedState, now: number): ReportPlan | null {
  if (row.scheduler_job_id !== report.schedulerJobId) return null;
  if (row.status !== report.seen.status || Number(row.updated_at) !== report.seen.updatedAt) return null;
  const from = row.status as JobStatus;
  if (FINAL_STATUSES.includes(from) || report.status === from || report.status === 'pending') return null;
  let start: ReportPlan['start'] = null;
  let current = from;
  if (from === 'pending') {
    current = transition(row.id, from, 'running', 'claim');
    start = {
      workerId: `${row.scheduler}:${report.schedulerJobId}`,
      host: report.host ?? null,
      startedAt: report.startedAt ?? report.endedAt ?? now,
    };
    if (report.status === 'running') return { start, move: null, end: null };
  }
  if (report.status === 'running' || report.status === 'suspended') {
    return { start, move: transition(row.id, current, report.status), end: null };
  }
  const end: Outcome = {
    status: report.status as Outcome['status'],
    exitCode: report.exitCode ?? null,
    signal: report.signal ?? null,
    error: report.error ?? null,
  };
  return { start, move: null, end };
}

/**
 * The scheduler's reason to store for a job it holds (squeue `%r`), or undefined when the record
 * already says it or the report is not about the job's current, pending submission.
 */
export function reportedReason(row: JobRow, report: ObservedState): string | null | undefined {
  if (row.scheduler_job_id !== report.schedulerJobId || row.status !== 'pending' || report.status !== 'pending') {
    return undefined;
  }
  const reason = report.reason ?? null;
  return reason === (row.scheduler_reason ?? null) ? undefined : reason;
}

/** The columns `list` filters by equality, with the filter's values (undefined ones are left out). */
export function listEqualities(filter: JobFilter): [string, string | undefined][] {
  return [
    ['queue', filter.queue],
    ['scheduler', filter.scheduler],
    ['tenant', filter.tenant],
    ['type', filter.type],
    ['key', filter.key],
  ];
}
