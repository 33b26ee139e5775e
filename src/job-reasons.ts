/**
 * Why jobs are where they are — the API's `state_reason`, `docket list`'s NOTE and `docket status`'s
 * reason — gathered for many jobs at once: the settings of their queues, the running count of the
 * queues with a capacity, the live workers, the states of the dependencies they wait for, and the
 * local resources they need. The words themselves are core/explain.ts's.
 */
import { type StateContext, stateReason } from './core/explain.js';
import { COMMAND_TYPE, type Job, type WorkerInfo } from './core/words.js';
import { annotatePending } from './resources/view.js';
import type { JobSearch, StorageEngine } from './storage/engine.js';
import { serves } from './worker/on-demand.js';
import { workerAlive } from './worker/reconcile.js';

export type ExplainOptions = Pick<StateContext, 'formatTime'> & { now?: number };

/**
 * The reads an explanation makes. A caller that has already read the queues and workers (the API's
 * one-statement job detail) passes a view that answers those from what it read.
 */
export type ReasonReads = Pick<StorageEngine, 'queueSettings' | 'listWorkers' | 'search' | 'countJobs' | 'allocations'>;

/** A reason for every job (null where the state says it all); sets `pendingReason` on pending jobs lacking it. */
export async function explainJobs(
  engine: ReasonReads,
  leaseMs: number,
  jobs: readonly Job[],
  { now = Date.now(), formatTime }: ExplainOptions = {},
): Promise<Map<number, string | null>> {
  const pending = jobs.filter((job) => job.status === 'pending');
  const isAlive = (worker: WorkerInfo) => workerAlive(worker, leaseMs);
  await annotatePending(
    engine,
    pending.filter((job) => job.pendingReason === undefined),
    isAlive,
  );
  const dependencyIds = [...new Set(pending.flatMap((job) => (job.blockedBy > 0 ? job.dependsOn : [])))];
  const [queues, workers, dependencies] = await Promise.all([
    pending.length > 0 ? engine.queueSettings() : Promise.resolve([]),
    pending.length > 0 ? engine.listWorkers() : Promise.resolve([]),
    dependencyIds.length > 0 ? engine.search(query({ ids: dependencyIds, limit: dependencyIds.length })) : [],
  ]);
  const limited = queues.filter((queue) => queue.capacity !== null && pending.some((job) => job.queue === queue.name));
  const running = await runningIn(engine, limited);
  const live = workers.filter(isAlive);
  const states = new Map(dependencies.map((dep) => [dep.id, dep.status]));
  const reasons = new Map<number, string | null>();
  for (const job of jobs) {
    const queue = queues.find((candidate) => candidate.name === job.queue);
    const limit = queue?.capacity ?? null;
    const serving = live.filter((worker) => serves(worker, job.queue));
    reasons.set(
      job.id,
      stateReason(job, {
        queuePaused: queue?.paused ?? false,
        dependencies: states,
        now,
        formatTime,
        capacity: limit === null ? undefined : { limit, running: running.get(job.queue) ?? 0 },
        served: serving.length > 0,
        servingTypes: typesRun(serving),
      }),
    );
  }
  return reasons;
}

/**
 * The job types these workers run between them (every worker runs `command` jobs), or undefined
 * when one of them registered before workers said (it might run any type).
 */
function typesRun(workers: WorkerInfo[]): string[] | undefined {
  if (workers.some((worker) => !worker.types)) return undefined;
  return [...new Set([COMMAND_TYPE, ...workers.flatMap((worker) => worker.types ?? [])])].sort();
}

/** How many jobs run now in each of these queues (an index range over running jobs, not a count of the table). */
async function runningIn(engine: ReasonReads, queues: { name: string }[]): Promise<Map<string, number>> {
  const counts = await Promise.all(
    queues.map((queue) => engine.countJobs(query({ queue: queue.name, statuses: ['running'] }))),
  );
  return new Map(queues.map((queue, index) => [queue.name, counts[index] ?? 0]));
}

function query(filter: Partial<JobSearch>): JobSearch {
  return { order: 'created_at', descending: false, limit: 0, offset: 0, now: Date.now(), ...filter };
}
