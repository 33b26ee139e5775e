/** Figures over finished jobs: per-minute outcome buckets and wait/run time percentiles. */
import type { JobStatus } from './words.js';

export interface FinishedJob {
  status: JobStatus;
  createdAt: number;
  runAt: number;
  startedAt: number | null;
  endedAt: number;
}

export interface StatsBucket {
  /** Start of the minute (ms). */
  start: number;
  counts: Partial<Record<JobStatus, number>>;
}

export interface JobStats {
  from: number;
  to: number;
  buckets: StatsBucket[];
  /** Seconds from runnable (created or run-at, whichever is later) to start. */
  waitSeconds: { p50: number | null; p95: number | null };
  /** Seconds from start to end. */
  runSeconds: { p50: number | null; p95: number | null };
  finished: number;
}

const MINUTE = 60_000;

/** Buckets and percentiles of the jobs that ended in [now − windowMs, now]. */
export function jobStats(jobs: readonly FinishedJob[], windowMs: number, now: number): JobStats {
  const first = Math.floor((now - windowMs) / MINUTE) * MINUTE;
  const buckets: StatsBucket[] = [];
  for (let start = first; start <= now; start += MINUTE) buckets.push({ start, counts: {} });
  const waits: number[] = [];
  const runs: number[] = [];
  for (const job of jobs) {
    const bucket = buckets[Math.floor((job.endedAt - first) / MINUTE)];
    if (bucket) bucket.counts[job.status] = (bucket.counts[job.status] ?? 0) + 1;
    if (job.startedAt !== null) {
      waits.push(Math.max(0, job.startedAt - Math.max(job.createdAt, job.runAt)) / 1000);
      runs.push(Math.max(0, job.endedAt - job.startedAt) / 1000);
    }
  }
  return {
    from: now - windowMs,
    to: now,
    buckets,
    waitSeconds: percentiles(waits),
    runSeconds: percentiles(runs),
    finished: jobs.length,
  };
}

function percentiles(values: number[]): { p50: number | null; p95: number | null } {
  if (values.length === 0) return { p50: null, p95: null };
  values.sort((a, b) => a - b);
  const at = (q: number) => values[Math.min(values.length - 1, Math.ceil(q * values.length) - 1)] as number;
  return { p50: at(0.5), p95: at(0.95) };
}
