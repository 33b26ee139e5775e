/**
 * Figures over finished jobs: per-minute outcome buckets and wait/run time percentiles. The store
 * aggregates (engine.finishedSummary: GROUP BY minute and outcome, percentiles in SQL), so a
 * window of 100,000 jobs costs a few hundred rows here, not 100,000 records.
 */
import type { JobStatus } from './words.js';

/**
 * p50 and p95, interpolated between the two nearest values (as SQL's percentile_cont: both
 * engines compute them the same way); null when no value.
 */
export interface Percentiles {
  p50: number | null;
  p95: number | null;
}

/** What the store aggregates about the jobs that ended in a window. */
export interface FinishedSummary {
  /** Jobs per minute (counted from the window's first whole minute) and outcome. */
  counts: { minute: number; status: JobStatus; count: number }[];
  /**
   * Seconds from runnable (created or run-at, whichever is later) to start, and from start to
   * end, of the jobs that started: per minute, and over the whole window (minute null).
   */
  times: { minute: number | null; wait: Percentiles; run: Percentiles }[];
}

export interface StatsBucket {
  /** Start of the minute (ms). */
  start: number;
  counts: Partial<Record<JobStatus, number>>;
  waitSeconds: Percentiles;
  runSeconds: Percentiles;
}

export interface JobStats {
  from: number;
  to: number;
  buckets: StatsBucket[];
  /** Seconds from runnable (created or run-at, whichever is later) to start. */
  waitSeconds: Percentiles;
  /** Seconds from start to end. */
  runSeconds: Percentiles;
  finished: number;
}

export const MINUTE_MS = 60_000;
const NONE: Percentiles = { p50: null, p95: null };

/** The window's first whole minute (ms): minute 0 of a FinishedSummary. */
export function firstMinute(windowMs: number, now: number): number {
  return Math.floor((now - windowMs) / MINUTE_MS) * MINUTE_MS;
}

/** Buckets and percentiles of the jobs that ended in [now − windowMs, now], from the store's summary. */
export function jobStats(summary: FinishedSummary, windowMs: number, now: number): JobStats {
  const first = firstMinute(windowMs, now);
  const buckets: StatsBucket[] = [];
  for (let start = first; start <= now; start += MINUTE_MS) {
    buckets.push({ start, counts: {}, waitSeconds: NONE, runSeconds: NONE });
  }
  let finished = 0;
  for (const { minute, status, count } of summary.counts) {
    finished += count;
    const bucket = buckets[minute];
    if (bucket) bucket.counts[status] = (bucket.counts[status] ?? 0) + count;
  }
  let whole = { wait: NONE, run: NONE };
  for (const times of summary.times) {
    if (times.minute === null) whole = times;
    const bucket = times.minute === null ? undefined : buckets[times.minute];
    if (bucket) {
      bucket.waitSeconds = times.wait;
      bucket.runSeconds = times.run;
    }
  }
  return { from: now - windowMs, to: now, buckets, waitSeconds: whole.wait, runSeconds: whole.run, finished };
}
