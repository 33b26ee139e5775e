/**
 * What the engines' inserts write: each table's columns in one order and a record's values in
 * that order (times as integer milliseconds, JSON as text), so both engines write the same row
 * the same way; rows.ts reads them back.
 */
import type { AllocationRecord } from '../core/resources.js';
import type { NewJob } from '../core/spec.js';
import type { JobStatus, WorkerInfo } from '../core/words.js';

/** The columns a submit writes, in the order of jobInsertValues (both engines' inserts use it). */
export const JOB_INSERT_COLUMNS = [
  'name',
  'type',
  'status',
  'scheduler',
  'queue',
  'priority',
  'command',
  'argv',
  'cwd',
  'env',
  'resources',
  'time_limit_s',
  'max_attempts',
  'retry_delay_s',
  'retry_backoff',
  'retry_max_delay_s',
  'retry_jitter',
  'run_at',
  'blocked_by',
  'key',
  'tenant',
  'user_name',
  'params',
  'job_group',
  'cron',
  'error',
  'ended_at',
  'restarted_from',
] as const;

/** A column a submit writes. */
export type JobInsertColumn = (typeof JOB_INSERT_COLUMNS)[number];

/** A new job's state as its dependencies make it (see dependencyState). */
export interface NewJobState {
  status: JobStatus;
  blockedBy: number;
  skipReason: string | null;
}

/** One new job's values, in the order of JOB_INSERT_COLUMNS. */
export function jobInsertValues(job: NewJob, state: NewJobState, now: number): unknown[] {
  return [
    job.name,
    job.type,
    state.status,
    job.scheduler,
    job.queue,
    job.priority,
    job.command,
    job.argv ? JSON.stringify(job.argv) : null,
    job.cwd,
    JSON.stringify(job.env),
    JSON.stringify(job.resources),
    job.timeLimitSeconds,
    job.maxAttempts,
    job.retry.delaySeconds,
    job.retry.backoff,
    job.retry.maxDelaySeconds,
    job.retry.jitter ? 1 : 0,
    job.runAt,
    state.blockedBy,
    job.key,
    job.tenant,
    job.user,
    job.params === null ? null : JSON.stringify(job.params),
    job.group,
    job.cron,
    state.skipReason,
    state.skipReason ? now : null,
    job.restartedFrom,
  ];
}

/** The columns a worker's registration writes, in the order of workerValues. */
export const WORKER_COLUMNS =
  'id, host, machine, pid, pid_start, queues, concurrency, wake_address, started_at, heartbeat_at, inventory, types';

/** A worker's registration values, in the order of WORKER_COLUMNS. */
export function workerValues(worker: WorkerInfo): unknown[] {
  return [
    worker.id,
    worker.host,
    worker.machine ?? null,
    worker.pid,
    worker.pidStart,
    JSON.stringify(worker.queues),
    worker.concurrency,
    worker.wakeAddress,
    worker.startedAt,
    worker.heartbeatAt,
    worker.inventory ? JSON.stringify(worker.inventory) : null,
    worker.types ? JSON.stringify(worker.types) : null,
  ];
}

/**
 * A worker's registration: a new row, or for a known id (a worker registering again) the fresh
 * process, queues and job types, the larger concurrency, and the wake address and inventory it had when the
 * new ones are missing. `placeholder` writes the dialect's parameter at an index; `greatest` is the dialect's name for the larger of two values.
 */
export function registerWorkerSql(placeholder: (index: number) => string, greatest: 'greatest' | 'max'): string {
  const placeholders = WORKER_COLUMNS.split(', ').map((_, index) => placeholder(index));
  return `INSERT INTO workers (${WORKER_COLUMNS}) VALUES (${placeholders.join(', ')})
    ON CONFLICT (id) DO UPDATE SET machine = excluded.machine, pid = excluded.pid, pid_start = excluded.pid_start,
      queues = excluded.queues, concurrency = ${greatest}(excluded.concurrency, workers.concurrency),
      wake_address = coalesce(excluded.wake_address, workers.wake_address), heartbeat_at = excluded.heartbeat_at,
      inventory = coalesce(excluded.inventory, workers.inventory), types = excluded.types`;
}

/** The values of an allocations row, in the column order of INSERT INTO allocations (…). */
export const ALLOCATION_COLUMNS = 'job_id, attempt, host, worker_id, gpus, cpus, memory_bytes, pinned, memory_enforced';
export function allocationValues(record: AllocationRecord): unknown[] {
  return [
    record.jobId,
    record.attempt,
    record.host,
    record.workerId,
    JSON.stringify(record.gpus),
    JSON.stringify(record.cpus),
    record.memoryBytes,
    record.pinned ? 1 : 0,
    record.memoryEnforced ? 1 : 0,
  ];
}
