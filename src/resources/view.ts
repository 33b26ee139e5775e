/**
 * Local resources in the facade's reads and submits: the live workers of a queue that say what they
 * have, pending reasons on listed jobs, allocations on a job's attempts, and the submit-time refusal
 * of jobs no live worker could ever fit.
 */

import { asksForResources } from '../core/resources.js';
import type { NewJob } from '../core/spec.js';
import type { Job, JobWithAttempts, WorkerInfo } from '../core/words.js';
import type { StorageEngine } from '../storage/engine.js';
import { type KnownWorker, pendingReason, refuseImpossible } from './reasons.js';

const servesQueue = (worker: WorkerInfo, queue: string) => worker.queues.includes('*') || worker.queues.includes(queue);

/** Refuses local jobs that ask for more than any live worker of their queue has (when all of them say). */
export async function checkSubmittable(
  engine: Pick<StorageEngine, 'listWorkers' | 'allocations'>,
  jobs: readonly NewJob[],
  isAlive: (worker: WorkerInfo) => boolean,
): Promise<void> {
  if (!jobs.some((job) => job.scheduler === 'local' && asksForResources(job.resources))) return;
  const live = (await engine.listWorkers()).filter(isAlive);
  for (const job of jobs) {
    const serving = live.filter((worker) => servesQueue(worker, job.queue));
    // Only when every live worker of the queue says what it has is "no worker could" known.
    if (serving.length === 0 || serving.some((worker) => !worker.inventory)) continue;
    refuseImpossible(job, serving as KnownWorker[]);
  }
}

/** Sets `pendingReason` on pending local jobs that ask for resources and wait for them. */
export async function annotatePending(
  engine: Pick<StorageEngine, 'listWorkers' | 'allocations'>,
  jobs: readonly Job[],
  isAlive: (worker: WorkerInfo) => boolean,
): Promise<void> {
  const waiting = jobs.filter(
    (job) => job.status === 'pending' && job.scheduler === 'local' && asksForResources(job.resources),
  );
  if (waiting.length === 0) return;
  const known = (await engine.listWorkers()).filter(
    (worker): worker is KnownWorker => Boolean(worker.inventory) && isAlive(worker),
  );
  const held = await engine.allocations({ held: true });
  const now = Date.now();
  for (const job of waiting) {
    const serving = known.filter((worker) => servesQueue(worker, job.queue));
    job.pendingReason = pendingReason(job, serving, held, now);
  }
}

/** Puts each attempt's allocation on it. */
export async function attachAllocations(engine: StorageEngine, job: JobWithAttempts): Promise<void> {
  if (!asksForResources(job.resources) || job.executions.length === 0) return;
  const records = await engine.allocations({ jobIds: [job.id] });
  for (const execution of job.executions) {
    const record = records.find((candidate) => candidate.attempt === execution.attempt);
    if (!record) continue;
    const { gpus, cpus, memoryBytes, pinned, memoryEnforced } = record;
    execution.allocation = { gpus, cpus, memoryBytes, pinned, memoryEnforced };
  }
}
