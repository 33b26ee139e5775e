/** How the CLI shows records: snake_case JSON documents, and readable tables for people. */

import type { styleText } from 'node:util';
import { isoTime, isoTimeOrNull } from '../core/iso-time.js';
import type { Inventory } from '../core/resources.js';
import { formatDuration } from '../core/units.js';
import type { Attempt, Job, JobWithAttempts, StatusCounts } from '../core/words.js';
import { JOB_STATUSES, type JobStatus } from '../core/words.js';
import type { WorkerOverview } from '../job-service.js';

const iso = isoTimeOrNull;

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
    restarted_from: job.restartedFrom,
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

/** How a table may be drawn: fitted to a width, and with cells painted (after padding, so colours keep columns aligned). */
export interface TableStyle {
  /** The terminal's width; columns in `shrink` are cut (widest first) until rows fit. */
  width?: number;
  /** Indexes of columns that may be cut to fit. */
  shrink?: number[];
  paint?: (cell: string, column: number, row: number) => string;
}

/** A plain aligned table; the last column may be long and is not padded. */
export function table(headers: string[], rows: (string | number | null)[][], style: TableStyle = {}): string {
  const cells = [headers, ...rows.map((row) => row.map((cell) => (cell === null ? '-' : String(cell))))];
  const widths = headers.map((_, column) => Math.max(...cells.map((row) => (row[column] ?? '').length)));
  fitWidths(widths, headers, style);
  return cells
    .map((row, index) =>
      row
        .map((cell, column) => {
          const width = widths[column] ?? 0;
          const text = truncate(cell, width);
          const padded = column === row.length - 1 ? text : text.padEnd(width);
          return index > 0 && style.paint ? style.paint(padded, column, index - 1) : padded;
        })
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Cuts the shrinkable columns, widest first, until a row fits the width (none below its header). */
function fitWidths(widths: number[], headers: string[], { width, shrink = [] }: TableStyle): void {
  if (width === undefined) return;
  const least = (column: number) => Math.max(4, headers[column]?.length ?? 0);
  const total = () => widths.reduce((sum, w) => sum + w, 0) + 2 * (widths.length - 1);
  while (total() > width) {
    const [widest] = shrink
      .filter((column) => (widths[column] ?? 0) > least(column))
      .sort((a, b) => (widths[b] ?? 0) - (widths[a] ?? 0));
    if (widest === undefined) return;
    widths[widest] = Math.max(least(widest), (widths[widest] ?? 0) - (total() - width));
  }
}

/** A job's state as people want to read it: pending jobs say whether they are delayed or blocked. */
export function statusLabel(job: Job, now = Date.now()): string {
  if (job.status !== 'pending') return job.status;
  if (job.blockedBy > 0) return 'pending (blocked)';
  if (job.runAt > now) return 'pending (delayed)';
  return 'pending';
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/** The local date of a time, `2026-11-30` (in the same zone as its clock time). */
function localDate(date: Date): string {
  return `${date.getFullYear()}-${pad2(date.getMonth() + 1)}-${pad2(date.getDate())}`;
}

/** A time in local time: `14:03:07` today, else `2026-11-29 14:03:07` (date and time in the same zone). */
export function shortTime(ms: number | null, now = Date.now()): string {
  if (ms === null) return '-';
  const date = new Date(ms);
  const time = `${pad2(date.getHours())}:${pad2(date.getMinutes())}:${pad2(date.getSeconds())}`;
  return localDate(date) === localDate(new Date(now)) ? time : `${localDate(date)} ${time}`;
}

/** A time relative to now: `just now`, `3m ago`, `2h ago`, `in 5m`; beyond a week, its local date. */
export function ago(ms: number | null, now = Date.now()): string {
  if (ms === null) return '-';
  const seconds = Math.round((now - ms) / 1000);
  if (Math.abs(seconds) < 5) return 'just now';
  if (Math.abs(seconds) > 7 * 86400) return localDate(new Date(ms));
  const span = formatDuration(coarse(Math.abs(seconds)));
  return seconds > 0 ? `${span} ago` : `in ${span}`;
}

/** Seconds rounded down to what people read at that size: `45s`, `3m`, `1h59m`, `2d4h`. */
function coarse(seconds: number): number {
  if (seconds >= 86400) return Math.floor(seconds / 3600) * 3600;
  if (seconds >= 60) return Math.floor(seconds / 60) * 60;
  return seconds;
}

/**
 * How long the job ran: its current attempt while running or suspended, its last one once ended.
 * A pending job (waiting for a retry, or requeued) shows `-`: the clock does not run while it waits.
 */
export function elapsed(job: Job, now = Date.now()): string {
  if (job.startedAt === null || job.status === 'pending') return '-';
  const seconds = Math.max(0, ((job.endedAt ?? now) - job.startedAt) / 1000);
  return formatDuration(seconds < 10 ? seconds : Math.floor(seconds));
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

/**
 * The JSON form of a worker (the contract of `docket workers --json`; the HTTP API's is this one
 * with its heartbeat named `last_heartbeat_at` and the inventory added: server/present.ts).
 */
export function workerJson(worker: WorkerOverview): Record<string, unknown> {
  return {
    id: worker.id,
    host: worker.host,
    pid: worker.pid,
    queues: worker.queues,
    concurrency: worker.concurrency,
    running_jobs: worker.runningJobs,
    alive: worker.alive,
    started_at: isoTime(worker.startedAt),
    heartbeat_at: isoTime(worker.heartbeatAt),
  };
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

/**
 * styleText's options where colourOn has already decided: Node's own check would also drop colours
 * on a terminal whenever a `CI` variable is set, which is not a rule docket documents.
 */
export const PLAIN = { validateStream: false } as const;

/** Whether text for this stream may be coloured: a terminal, and NO_COLOR unset (no-color.org). */
export function colourOn(stream: NodeJS.WriteStream = process.stdout): boolean {
  return stream.isTTY === true && !process.env.NO_COLOR;
}

/** Colours of the states in tables: green done, red failed, cyan running, yellow waiting, grey the rest. */
export const STATUS_STYLE: Record<JobStatus, Parameters<typeof styleText>[0]> = {
  pending: 'yellow',
  running: 'cyan',
  suspended: 'magenta',
  completed: 'green',
  failed: 'red',
  timeout: 'red',
  cancelled: 'gray',
  skipped: 'gray',
};

/** The width rows are fitted to: the terminal's (or $COLUMNS where it reports none), none when piped. */
export function terminalWidth(stream: NodeJS.WriteStream = process.stdout): number | undefined {
  if (!stream.isTTY) return undefined;
  return stream.columns || Number(process.env.COLUMNS) || undefined;
}
