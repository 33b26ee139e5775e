/**
 * The library's bounded reads: one page of jobs, every match walked page by page, one job's record
 * without its attempts, and waiting for many jobs. Each costs a bounded number of rows per query,
 * however many jobs the store holds or the caller names; the facade delegates here.
 */
import { NotFoundError } from './core/errors.js';
import { canonicalKey } from './core/spec.js';
import {
  DEFAULT_TENANT,
  FINAL_STATUSES,
  type Job,
  type JobFilter,
  type JobWithAttempts,
  type WorkerInfo,
} from './core/words.js';
import { annotatePending, attachAllocations } from './resources/view.js';
import type { StorageEngine } from './storage/engine.js';

/** Jobs `list()` returns, and `iterate()` reads per query, when no limit is given. */
export const DEFAULT_PAGE_SIZE = 1000;

/** A read brings SLURM jobs up to date unless that was done less than this long ago. */
const SCHEDULER_SYNC_MAX_AGE_MS = 1000;

/** Ids read per query while waiting (well under SQLite's and PostgreSQL's parameter limits). */
const IDS_PER_QUERY = 500;

/** What the reads need of the facade. */
export interface JobReader {
  engine: StorageEngine;
  /** Brings SLURM jobs up to date unless that was done less than `maxAgeMs` ago. */
  syncSchedulers(maxAgeMs: number): Promise<void>;
  /** Settles jobs of dead workers (and starts one where jobs have none) between polls. */
  reconcile(): Promise<void>;
  isLive(worker: WorkerInfo): boolean;
}

/** A filter for `iterate`: everything of `list`'s but the page, which iterate turns itself. */
export type IterateFilter = Omit<JobFilter, 'limit' | 'offset' | 'afterId'>;

export interface WaitOptions {
  /** Give up after this long (`wait` then says `timedOut`; `ended` stops). Default: never. */
  timeoutMs?: number;
  /** How often to read the jobs that have not ended yet. Default: 50 ms. */
  pollMs?: number;
  /** Called after every read with the latest record of every job, in the order of `ids`. */
  onUpdate?: (jobs: Job[]) => void;
}

export async function listJobs(reader: JobReader, filter: JobFilter): Promise<Job[]> {
  await reader.syncSchedulers(SCHEDULER_SYNC_MAX_AGE_MS);
  const jobs = await reader.engine.list({ ...filter, limit: filter.limit ?? DEFAULT_PAGE_SIZE });
  await annotatePending(reader.engine, jobs, reader.isLive); // local resources: why pending jobs wait
  return jobs;
}

/** Keyset paging on the id: memory stays at one page, and jobs added or removed meanwhile shift nothing. */
export async function* iterateJobs(
  reader: JobReader,
  filter: IterateFilter,
  { pageSize = DEFAULT_PAGE_SIZE } = {},
): AsyncGenerator<Job, void, undefined> {
  await reader.syncSchedulers(SCHEDULER_SYNC_MAX_AGE_MS);
  let afterId: number | undefined;
  for (;;) {
    const page = await reader.engine.list({ ...filter, limit: pageSize, afterId });
    yield* page;
    if (page.length < pageSize) return;
    afterId = (page[page.length - 1] as Job).id;
  }
}

/** The job with every attempt and what each held; a pending job says why it waits. */
export async function getJob(reader: JobReader, id: number): Promise<JobWithAttempts> {
  await reader.syncSchedulers(SCHEDULER_SYNC_MAX_AGE_MS);
  const job = await reader.engine.get(id);
  if (!job) throw new NotFoundError(`job ${id} does not exist; see docket list --all`);
  // Local resources: what each attempt held, and why a pending job waits.
  await attachAllocations(reader.engine, job);
  await annotatePending(reader.engine, [job], reader.isLive);
  return job;
}

/** The job of a type with this key, or null (one indexed lookup). */
export async function findJobByKey(
  reader: JobReader,
  type: string,
  key: string | Record<string, unknown>,
  tenant = DEFAULT_TENANT,
): Promise<Job | null> {
  const [job] = await reader.engine.list({ type, tenant, key: canonicalKey(key), limit: 1 });
  return job ?? null;
}

/** One job's record, no attempts: one indexed read. */
export async function peekJob(reader: JobReader, id: number): Promise<Job> {
  const [job] = await readJobs(reader, [id]);
  return job as Job;
}

/** The records of these jobs, in this order; an unknown id is a NotFoundError. */
async function readJobs(reader: JobReader, ids: readonly number[]): Promise<Job[]> {
  await reader.syncSchedulers(SCHEDULER_SYNC_MAX_AGE_MS);
  const found = new Map<number, Job>();
  for (let start = 0; start < ids.length; start += IDS_PER_QUERY) {
    const chunk = ids.slice(start, start + IDS_PER_QUERY);
    const now = Date.now();
    const page = { order: 'created_at', descending: false, limit: chunk.length, offset: 0, now } as const;
    for (const job of await reader.engine.search({ ids: chunk, ...page })) found.set(job.id, job);
  }
  const missing = ids.filter((id) => !found.has(id));
  if (missing.length > 0) throw new NotFoundError(`job ${missing.join(', ')} does not exist; see docket list --all`);
  const jobs = ids.map((id) => found.get(id) as Job);
  await annotatePending(reader.engine, jobs, reader.isLive);
  return jobs;
}

/**
 * Reads the jobs until every one has ended (or the timeout passed), yielding after each read the
 * jobs that ended since the last. Only jobs still active are read again: a poll of many jobs
 * costs one query per 500 of those still running.
 */
async function* polls(
  reader: JobReader,
  ids: readonly number[],
  options: WaitOptions,
): AsyncGenerator<Job[], { jobs: Job[]; timedOut: boolean }, undefined> {
  const deadline = options.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.timeoutMs;
  const latest = new Map<number, Job>();
  let active = [...new Set(ids)];
  for (;;) {
    const read = await readJobs(reader, active);
    for (const job of read) latest.set(job.id, job);
    const jobs = ids.map((id) => latest.get(id) as Job);
    options.onUpdate?.(jobs);
    const ended = read.filter((job) => FINAL_STATUSES.includes(job.status));
    if (ended.length > 0) yield ended;
    active = active.filter((id) => !FINAL_STATUSES.includes((latest.get(id) as Job).status));
    if (active.length === 0 || Date.now() >= deadline) return { jobs, timedOut: active.length > 0 };
    await new Promise((resolve) => setTimeout(resolve, Math.min(options.pollMs ?? 50, deadline - Date.now())));
    await reader.reconcile();
  }
}

export async function waitForJobs(
  reader: JobReader,
  ids: readonly number[],
  options: WaitOptions,
): Promise<{ jobs: Job[]; timedOut: boolean }> {
  const poll = polls(reader, ids, options);
  for (;;) {
    const next = await poll.next();
    if (next.done) return next.value;
  }
}

export async function* endedJobs(
  reader: JobReader,
  ids: readonly number[],
  options: Omit<WaitOptions, 'onUpdate'>,
): AsyncGenerator<Job, void, undefined> {
  for await (const ended of polls(reader, ids, options)) yield* ended;
}
