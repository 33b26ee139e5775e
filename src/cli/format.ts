/** How the CLI shows records: snake_case JSON documents, and readable tables for people. */
import type { Inventory } from '../core/resources.js';
import type { Attempt, Job, JobWithAttempts, StatusCounts } from '../core/words.js';
import { JOB_STATUSES } from '../core/words.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** The JSON form of a job (the contract of `--json`). */
export function jobJson(job: Job): Record<string, unknown> {
  return {
    id: job.id,
    name: job.name,
    type: job.type,
    status: job.status,
    scheduler: job.scheduler,
    scheduler_job_id: job.schedulerJobId,
    queue: job.queue,
    priority: job.priority,
    command: job.command,
    argv: job.argv,
    cwd: job.cwd,
    env: job.env,
    attempts: job.attempts,
    max_attempts: job.maxAttempts,
    retry: {
      delay_s: job.retry.delaySeconds,
      backoff: job.retry.backoff,
      jitter: job.retry.jitter,
      max_delay_s: job.retry.maxDelaySeconds,
    },
    group: job.group,
    cron: job.cron,
    run_at: iso(job.runAt),
    depends_on: job.dependsOn,
    blocked: job.status === 'pending' && job.blockedBy > 0,
    key: job.key,
    tenant: job.tenant,
    user: job.user,
    params: job.params,
    result: job.result,
    exit_code: job.exitCode,
    signal: job.signal,
    error: job.error,
    error_stack: job.errorStack,
    progress: job.progress,
    progress_message: job.progressMessage,
    created_at: iso(job.createdAt),
    started_at: iso(job.startedAt),
    ended_at: iso(job.endedAt),
    pid: job.pid,
    host: job.host,
    worker_id: job.workerId,
    resources: resourcesJson(job),
    time_limit_s: job.timeLimitSeconds,
    pending_reason: job.pendingReason ?? null,
  };
}

function resourcesJson(job: Job): Record<string, unknown> {
  const r = job.resources;
  return {
    cpu_count: r.cpuCount ?? null,
    memory_bytes: r.memoryBytes ?? null,
    gpu_count: r.gpuCount ?? null,
    partition: r.partition ?? null,
    account: r.account ?? null,
    pin: r.pin ?? null,
  };
}

export function attemptJson(attempt: Attempt): Record<string, unknown> {
  return {
    attempt: attempt.attempt,
    status: attempt.status,
    started_at: iso(attempt.startedAt),
    ended_at: iso(attempt.endedAt),
    exit_code: attempt.exitCode,
    signal: attempt.signal,
    error: attempt.error,
    host: attempt.host,
    pid: attempt.pid,
    worker_id: attempt.workerId,
    allocation: attempt.allocation
      ? {
          gpus: attempt.allocation.gpus,
          cpus: attempt.allocation.cpus,
          memory_bytes: attempt.allocation.memoryBytes,
          pinned: attempt.allocation.pinned,
          memory_enforced: attempt.allocation.memoryEnforced,
        }
      : null,
  };
}

export function jobWithAttemptsJson(job: JobWithAttempts): Record<string, unknown> {
  return { ...jobJson(job), executions: job.executions.map(attemptJson) };
}

/** A plain aligned table; the last column may be long and is not padded. */
export function table(headers: string[], rows: (string | number | null)[][]): string {
  const cells = [headers, ...rows.map((row) => row.map((cell) => (cell === null ? '-' : String(cell))))];
  const widths = headers.map((_, column) => Math.max(...cells.map((row) => (row[column] ?? '').length)));
  return cells
    .map((row) =>
      row
        .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** A job's state as people want to read it: pending jobs say whether they are delayed or blocked. */
export function statusLabel(job: Job, now = Date.now()): string {
  if (job.status !== 'pending') return job.status;
  if (job.blockedBy > 0) return 'pending (blocked)';
  if (job.runAt > now) return 'pending (delayed)';
  return 'pending';
}

export function shortTime(ms: number | null): string {
  if (ms === null) return '-';
  const date = new Date(ms);
  const sameDay = new Date().toDateString() === date.toDateString();
  const time = date.toTimeString().slice(0, 8);
  return sameDay ? time : `${date.toISOString().slice(0, 10)} ${time}`;
}

export function elapsed(job: Job, now = Date.now()): string {
  if (job.startedAt === null) return '-';
  const seconds = Math.max(0, ((job.endedAt ?? now) - job.startedAt) / 1000);
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${String(Math.floor(seconds % 60)).padStart(2, '0')}s`;
  return `${Math.floor(seconds / 3600)}h${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')}m`;
}

export function jobsTable(jobs: Job[]): string {
  const now = Date.now();
  return table(
    ['ID', 'NAME', 'STATUS', 'QUEUE', 'PRI', 'TRIES', 'CREATED', 'ELAPSED', 'EXIT', 'NOTE'],
    jobs.map((job) => [
      job.id,
      truncate(job.name, 32),
      statusLabel(job, now),
      job.queue,
      job.priority,
      `${job.attempts}/${job.maxAttempts}`,
      shortTime(job.createdAt),
      elapsed(job, now),
      job.exitCode ?? job.signal,
      note(job),
    ]),
  );
}

function note(job: Job): string {
  if (job.status === 'running' && job.progress !== null) {
    return `${Math.round(job.progress * 100)}%${job.progressMessage ? ` ${job.progressMessage}` : ''}`;
  }
  if (job.pendingReason) return job.pendingReason;
  if (job.error) return truncate(job.error.split('\n')[0] ?? '', 60);
  return '';
}

export function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function countsTable(counts: StatusCounts): string {
  return table(
    ['STATUS', 'COUNT'],
    [...JOB_STATUSES.map((status) => [status, counts[status]]), ['total', counts.total]],
  );
}

/** The JSON form of a worker's inventory (local resources). */
export function inventoryJson(inventory: Inventory): Record<string, unknown> {
  return {
    gpus: inventory.gpus.map((gpu) => ({
      index: gpu.index,
      uuid: gpu.uuid,
      name: gpu.name,
      memory_bytes: gpu.memoryBytes,
    })),
    cpus: inventory.cpus,
    memory_bytes: inventory.memoryBytes,
    pin: inventory.pin,
    memory_enforcement: inventory.memoryEnforcement,
    sources: inventory.sources,
  };
}
