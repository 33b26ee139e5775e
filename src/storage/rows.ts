/**
 * Reading rows into docket's records. Both engines store the same columns (times as integer
 * milliseconds, JSON as text), so one mapping serves both; inserts.ts writes them.
 */
import type { AllocationRecord, Inventory } from '../core/resources.js';
import type { NewJob } from '../core/spec.js';
import type { Attempt, Job, JobStatus, RetryPolicy, SchedulerName, WorkerInfo } from '../core/words.js';
import type { SuspectAttempt } from './engine.js';

export interface JobRow {
  id: number;
  name: string;
  type: string;
  status: string;
  scheduler: string;
  scheduler_job_id: string | null;
  scheduler_reason?: string | null;
  queue: string;
  priority: number;
  command: string | null;
  argv: string | null;
  cwd: string;
  env: string;
  resources: string;
  time_limit_s: number | null;
  attempts: number;
  run_no: number;
  max_attempts: number;
  retry_delay_s: number;
  retry_backoff: string;
  retry_max_delay_s: number | null;
  retry_jitter: number;
  job_group: string | null;
  checkpoint: string | null;
  cron: string | null;
  has_dependents: number;
  restarted_from: number | null;
  run_at: number;
  blocked_by: number;
  key: string | null;
  tenant: string;
  user_name: string | null;
  params: string | null;
  result: string | null;
  progress: number | null;
  progress_message: string | null;
  exit_code: number | null;
  signal: string | null;
  error: string | null;
  error_stack: string | null;
  host: string | null;
  pid: number | null;
  pid_start: number | null;
  worker_id: string | null;
  /** The machine identity of the attempt's worker (worker/machine.ts). */
  machine?: string | null;
  lease_expires_at: number | null;
  created_at: number;
  started_at: number | null;
  ended_at: number | null;
  updated_at: number;
}

export interface ExecutionRow {
  job_id: number;
  attempt: number;
  status: string;
  started_at: number;
  ended_at: number | null;
  exit_code: number | null;
  signal: string | null;
  error: string | null;
  host: string | null;
  pid: number | null;
  worker_id: string | null;
}

export interface WorkerRow {
  id: string;
  host: string;
  machine: string | null;
  pid: number;
  pid_start: number | null;
  queues: string;
  concurrency: number;
  wake_address: string | null;
  started_at: number;
  heartbeat_at: number;
  inventory?: string | null;
  types?: string | null;
}

export interface AllocationRow {
  job_id: number;
  attempt: number;
  host: string;
  worker_id: string;
  gpus: string;
  cpus: string;
  memory_bytes: number | string;
  pinned: number;
  memory_enforced: number;
}

export function allocationFromRow(row: AllocationRow): AllocationRecord {
  return {
    jobId: Number(row.job_id),
    attempt: row.attempt,
    host: row.host,
    workerId: row.worker_id,
    gpus: JSON.parse(row.gpus),
    cpus: JSON.parse(row.cpus),
    memoryBytes: Number(row.memory_bytes),
    pinned: row.pinned === 1,
    memoryEnforced: row.memory_enforced === 1,
  };
}

const parse = (text: string | null): unknown => (text == null ? null : JSON.parse(text));

export function jobFromRow(row: JobRow, dependsOn: number[] = []): Job {
  return {
    id: row.id,
    name: row.name,
    type: row.type,
    status: row.status as JobStatus,
    scheduler: row.scheduler as SchedulerName,
    schedulerJobId: row.scheduler_job_id,
    schedulerReason: row.scheduler_reason ?? null,
    queue: row.queue,
    priority: row.priority,
    command: row.command,
    argv: parse(row.argv) as string[] | null,
    cwd: row.cwd,
    env: JSON.parse(row.env),
    resources: JSON.parse(row.resources),
    timeLimitSeconds: row.time_limit_s,
    attempts: row.attempts,
    runNo: row.run_no,
    maxAttempts: row.max_attempts,
    retry: {
      delaySeconds: row.retry_delay_s,
      backoff: row.retry_backoff as RetryPolicy['backoff'],
      jitter: row.retry_jitter === 1,
      maxDelaySeconds: row.retry_max_delay_s,
    },
    group: row.job_group,
    cron: row.cron,
    checkpoint: parse(row.checkpoint),
    runAt: row.run_at,
    dependsOn,
    blockedBy: row.blocked_by,
    hasDependents: row.has_dependents === 1,
    restartedFrom: row.restarted_from === null || row.restarted_from === undefined ? null : Number(row.restarted_from),
    key: row.key,
    tenant: row.tenant,
    user: row.user_name,
    params: parse(row.params),
    result: parse(row.result),
    progress: row.progress,
    progressMessage: row.progress_message,
    exitCode: row.exit_code,
    signal: row.signal,
    error: row.error,
    errorStack: row.error_stack,
    host: row.host,
    pid: row.pid,
    pidStart: row.pid_start,
    workerId: row.worker_id,
    leaseExpiresAt: row.lease_expires_at,
    createdAt: row.created_at,
    startedAt: row.started_at,
    endedAt: row.ended_at,
    updatedAt: row.updated_at,
  };
}

export function attemptFromRow(row: ExecutionRow): Attempt {
  return {
    attempt: row.attempt,
    status: row.status as JobStatus,
    startedAt: row.started_at,
    endedAt: row.ended_at,
    exitCode: row.exit_code,
    signal: row.signal,
    error: row.error,
    host: row.host,
    pid: row.pid,
    workerId: row.worker_id,
  };
}

export function workerFromRow(row: WorkerRow): WorkerInfo {
  return {
    id: row.id,
    host: row.host,
    machine: row.machine ?? null,
    pid: row.pid,
    pidStart: row.pid_start,
    queues: JSON.parse(row.queues),
    concurrency: row.concurrency,
    wakeAddress: row.wake_address,
    startedAt: row.started_at,
    heartbeatAt: row.heartbeat_at,
    inventory: row.inventory ? (JSON.parse(row.inventory) as Inventory) : null,
    types: row.types ? (JSON.parse(row.types) as string[]) : null,
  };
}

/** The record of a job just inserted, built from what was given (nothing to read back or parse). */
export function newJobRecord(
  id: number,
  job: NewJob,
  status: JobStatus,
  blockedBy: number,
  skipReason: string | null,
  now: number,
): Job {
  // Written out field by field: a spread plus added fields makes V8 fall back to slow dictionary objects.
  return {
    id,
    name: job.name,
    type: job.type,
    status,
    scheduler: job.scheduler,
    schedulerJobId: null,
    schedulerReason: null,
    queue: job.queue,
    priority: job.priority,
    command: job.command,
    argv: job.argv,
    cwd: job.cwd,
    env: job.env,
    resources: job.resources,
    timeLimitSeconds: job.timeLimitSeconds,
    attempts: 0,
    runNo: 0,
    maxAttempts: job.maxAttempts,
    retry: job.retry,
    runAt: job.runAt,
    dependsOn: job.dependsOn,
    group: job.group,
    cron: job.cron,
    key: job.key,
    tenant: job.tenant,
    user: job.user,
    params: job.params,
    blockedBy,
    hasDependents: false,
    restartedFrom: job.restartedFrom,
    checkpoint: null,
    result: null,
    progress: null,
    progressMessage: null,
    exitCode: null,
    signal: null,
    error: skipReason,
    errorStack: null,
    host: null,
    pid: null,
    pidStart: null,
    workerId: null,
    leaseExpiresAt: null,
    createdAt: now,
    startedAt: null,
    endedAt: skipReason ? now : null,
    updatedAt: now,
  };
}

/** The row of a live attempt as reconciliation judges it. */
export function suspectFromRow(row: JobRow): SuspectAttempt {
  return {
    id: row.id,
    runNo: row.run_no,
    status: row.status as JobStatus,
    workerId: row.worker_id as string,
    host: row.host,
    machine: row.machine ?? null,
    pid: row.pid,
    pidStart: row.pid_start,
    leaseExpiresAt: row.lease_expires_at,
  };
}
