/**
 * The invariants a chaos scenario checks once the dust settled. Each returns violations as
 * sentences (empty: the invariant held), so the vitest file asserts `[]` and the runner prints them.
 */
import { readFileSync } from 'node:fs';
import type { Job } from '../../src/core/words.js';
import type { Docket } from '../../src/docket.js';

/** One line of the runs file: a job's execution that really started (or a detected overlap). */
export interface RunLine {
  kind: 'c' | 'h';
  id: number;
  attempt: number;
  pid: number;
  at: number;
  event: 'start' | 'end' | 'overlap';
}

export function readRuns(file: string): RunLine[] {
  const lines: RunLine[] = [];
  for (const text of readFileSync(file, 'utf8').split('\n')) {
    const [kind, id, attempt, pid, at, event] = text.split(' ');
    if (!event) continue; // a line cut short cannot be, appends of this size are atomic; skip blank
    lines.push({
      kind: kind as RunLine['kind'],
      id: Number(id),
      attempt: Number(attempt),
      pid: Number(pid),
      at: Number(at),
      event: event as RunLine['event'],
    });
  }
  return lines;
}

/** Every job of the store, read in pages. */
export async function allJobs(docket: Docket): Promise<Job[]> {
  const jobs: Job[] = [];
  for (let offset = 0; ; offset += 5000) {
    const page = await docket.list({ limit: 5000, offset });
    jobs.push(...page);
    if (page.length < 5000) return jobs;
  }
}

export interface RunFigures {
  jobs: number;
  /** Executions beyond the first, summed over jobs (lost attempts that were retried). */
  extraExecutions: number;
  /** Most executions of one job. */
  maxExecutions: number;
  /** Starts recorded in the runs file. */
  realRuns: number;
}

/**
 * After a drain: every job completed (none running, pending or without an owner), no job started
 * more often than its recorded executions, no execution started twice, the completed execution
 * really ran, and no two runs of one job overlapped. `deaths` maps a worker pid to when it was
 * killed: a handler run without an `end` line ended with its worker.
 */
export function checkDrain(
  jobs: Job[],
  expectedIds: number[],
  runs: RunLine[],
  deaths: Map<number, number>,
): { violations: string[]; figures: RunFigures } {
  const violations: string[] = [];
  const byId = new Map(jobs.map((job) => [job.id, job]));
  const missing = expectedIds.filter((id) => !byId.has(id));
  if (missing.length > 0) violations.push(`${missing.length} submitted jobs are gone (first: ${missing.slice(0, 5)})`);
  const unfinished = jobs.filter((job) => job.status !== 'completed');
  if (unfinished.length > 0) {
    const sample = unfinished
      .slice(0, 5)
      .map((job) => `${job.id} ${job.status} worker=${job.workerId} attempts=${job.attempts} error=${job.error}`);
    violations.push(`${unfinished.length} jobs did not end completed: ${sample.join('; ')}`);
  }
  const starts = new Map<number, RunLine[]>();
  const ends = new Map<string, RunLine>();
  for (const line of runs) {
    if (line.event === 'overlap') {
      violations.push(`job ${line.id} attempt ${line.attempt} started while another run of it still held its lock`);
    } else if (line.event === 'start') {
      const list = starts.get(line.id) ?? [];
      list.push(line);
      starts.set(line.id, list);
    } else ends.set(`${line.id}/${line.attempt}`, line);
  }
  let realRuns = 0;
  let extraExecutions = 0;
  let maxExecutions = 0;
  for (const job of jobs) {
    const mine = starts.get(job.id) ?? [];
    realRuns += mine.length;
    extraExecutions += Math.max(0, job.runNo - 1);
    maxExecutions = Math.max(maxExecutions, job.runNo);
    if (mine.length > job.runNo) {
      violations.push(`job ${job.id} ran ${mine.length} times but records ${job.runNo} executions`);
    }
    const attempts = mine.map((line) => line.attempt);
    if (new Set(attempts).size !== attempts.length) {
      violations.push(`job ${job.id}: an execution ran twice (attempts ${attempts.join(',')})`);
    }
    if (job.status === 'completed' && !attempts.includes(job.runNo)) {
      violations.push(`job ${job.id} is completed by execution ${job.runNo}, which never ran (runs: ${attempts})`);
    }
    violations.push(...overlaps(job.id, mine, ends, deaths));
  }
  return { violations, figures: { jobs: jobs.length, extraExecutions, maxExecutions, realRuns } };
}

/** Handler runs of one job that overlap in time (command runs are checked by their lock). */
function overlaps(id: number, starts: RunLine[], ends: Map<string, RunLine>, deaths: Map<number, number>): string[] {
  const spans = starts
    .filter((line) => line.kind === 'h')
    .map((line) => ({
      pid: line.pid,
      attempt: line.attempt,
      from: line.at,
      to: ends.get(`${id}/${line.attempt}`)?.at ?? deaths.get(line.pid) ?? Number.POSITIVE_INFINITY,
    }))
    .sort((a, b) => a.from - b.from);
  const found: string[] = [];
  for (let i = 1; i < spans.length; i++) {
    const before = spans[i - 1] as (typeof spans)[number];
    const after = spans[i] as (typeof spans)[number];
    if (after.from < before.to) {
      found.push(
        `job ${id}: execution ${after.attempt} (pid ${after.pid}) started ${before.to - after.from} ms before execution ${before.attempt} (pid ${before.pid}) ended`,
      );
    }
  }
  return found;
}
