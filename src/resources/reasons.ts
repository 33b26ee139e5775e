/**
 * What people read about local resources: why a pending job waits ("needs 2 GPUs; 1 of 4 free on
 * host-a"), what an attempt holds ("GPUs 2,3; CPUs 8–15"), and the refusal of a job that no live
 * worker of its queue could ever fit.
 */
import { InvalidInputError } from '../core/errors.js';
import { couldEverFit, freeResources } from '../core/fit.js';
import {
  type Allocation,
  type AllocationRecord,
  asksForResources,
  type Demand,
  demandOf,
  formatCpuList,
  type Inventory,
} from '../core/resources.js';
import { formatSize } from '../core/units.js';
import type { Job, WorkerInfo } from '../core/words.js';

/** Bytes for people: `8G`, `23.5G`, `512M` (exact sizes as they were asked for, others rounded). */
export function humanSize(bytes: number): string {
  const gib = bytes / 2 ** 30;
  if (gib >= 1 && !Number.isInteger(gib)) return `${gib.toFixed(1)}G`;
  const mib = bytes / 2 ** 20;
  if (mib >= 1 && !Number.isInteger(mib) && gib < 1) return `${Math.round(mib)}M`;
  return formatSize(bytes);
}

/** A live worker of the job's queue that says what it has. */
export type KnownWorker = WorkerInfo & { inventory: Inventory };

const DIMENSIONS: {
  key: keyof Demand;
  flag: string;
  total: (inventory: Inventory) => number;
  free: (free: ReturnType<typeof freeResources>) => number;
  say: (amount: number) => string;
  /** An amount alone, as in "1 of 4 free". */
  amount: (amount: number) => string;
}[] = [
  {
    key: 'gpus',
    flag: '--gpu-count',
    total: (inventory) => inventory.gpus.length,
    free: (free) => free.gpus.length,
    say: (n) => `${n} GPU${n === 1 ? '' : 's'}`,
    amount: String,
  },
  {
    key: 'cpus',
    flag: '--cpu-count',
    total: (inventory) => inventory.cpus.length,
    free: (free) => free.cpus.length,
    say: (n) => `${n} CPU${n === 1 ? '' : 's'}`,
    amount: String,
  },
  {
    key: 'memoryBytes',
    flag: '--memory',
    total: (inventory) => inventory.memoryBytes,
    free: (free) => free.memoryBytes,
    say: (n) => `${formatSize(n)} of memory`,
    amount: humanSize,
  },
];

/**
 * Why a pending local job that asks for resources waits, or null when docket has nothing to say
 * (it asks for nothing, it is blocked or delayed, no live worker of its queue says what it has, or
 * it fits somewhere now and only waits for its turn).
 */
export function pendingReason(
  job: Job,
  workers: KnownWorker[],
  held: AllocationRecord[],
  now = Date.now(),
): string | null {
  if (job.status !== 'pending' || job.scheduler !== 'local' || !asksForResources(job.resources)) return null;
  if (job.blockedBy > 0 || job.runAt > now || workers.length === 0) return null;
  const demand = demandOf(job.resources);
  const able = workers.filter((worker) => couldEverFit(demand, worker.inventory));
  if (able.length === 0) return `${tooBig(demand, workers, job.queue).message}`;
  const parts: string[] = [];
  for (const worker of able) {
    const free = freeResources(
      worker.inventory,
      held.filter((allocation) => allocation.host === worker.host),
    );
    const short = DIMENSIONS.find((dimension) => demand[dimension.key] > dimension.free(free));
    if (!short) return null; // it fits there now: it waits for its turn
    const have = `${short.amount(short.free(free))} of ${short.amount(short.total(worker.inventory))} free on ${worker.host}`;
    parts.push(`${parts.length === 0 ? `needs ${short.say(demand[short.key])}; ` : ''}${have}`);
  }
  return parts.join('; ');
}

/**
 * Refuses a job that no live worker of its queue could ever fit, naming the flag (used at submit
 * when every live worker of the queue says what it has). Returns silently otherwise.
 */
export function refuseImpossible(job: Pick<Job, 'resources' | 'queue' | 'scheduler'>, workers: KnownWorker[]): void {
  if (job.scheduler !== 'local' || !asksForResources(job.resources) || workers.length === 0) return;
  const demand = demandOf(job.resources);
  if (workers.some((worker) => couldEverFit(demand, worker.inventory))) return;
  const { flag, message } = tooBig(demand, workers, job.queue);
  throw new InvalidInputError(flag, `${message}; ask for less, or start a worker that has more`);
}

function tooBig(demand: Demand, workers: KnownWorker[], queue: string): { flag: string; message: string } {
  const dimension =
    DIMENSIONS.find((d) => workers.every((worker) => demand[d.key] > d.total(worker.inventory))) ??
    (DIMENSIONS.find((d) =>
      workers.some((worker) => demand[d.key] > d.total(worker.inventory)),
    ) as (typeof DIMENSIONS)[number]);
  const best = Math.max(...workers.map((worker) => dimension.total(worker.inventory)));
  const where = workers.find((worker) => dimension.total(worker.inventory) === best)?.host ?? '?';
  return {
    flag: dimension.flag,
    message: `needs ${dimension.say(demand[dimension.key])}; no live worker of queue ${queue} has that many (the most is ${dimension.say(best)} on ${where})`,
  };
}

/** An allocation as `status` shows it: `GPUs 2,3; CPUs 8–15 (pinned); memory 4G (not enforced)`. */
export function describeAllocation(allocation: Allocation): string {
  const parts: string[] = [];
  if (allocation.gpus.length > 0) parts.push(`GPUs ${allocation.gpus.join(',')}`);
  if (allocation.cpus.length > 0)
    parts.push(`CPUs ${formatCpuList(allocation.cpus)}${allocation.pinned ? ' (pinned)' : ''}`);
  if (allocation.memoryBytes > 0) {
    parts.push(
      `memory ${formatSize(allocation.memoryBytes)} (${allocation.memoryEnforced ? 'enforced: cgroup v2 memory.max' : 'reserved, not enforced'})`,
    );
  }
  return parts.length > 0 ? parts.join('; ') : 'no GPUs';
}

/** An inventory in one line, as `docket worker` prints it at start. */
export function describeInventory(inventory: Inventory): string {
  const gpus = inventory.gpus.length === 0 ? 'no GPUs' : `GPUs ${inventory.gpus.map((gpu) => gpu.index).join(',')}`;
  return [
    `${gpus} (${inventory.sources.gpus})`,
    `CPUs ${formatCpuList(inventory.cpus)} (${inventory.sources.cpus})`,
    `memory ${humanSize(inventory.memoryBytes)} (${inventory.sources.memory})`,
    `memory limits ${inventory.sources.enforcement}`,
    inventory.pin ? 'jobs pinned to their cores' : 'jobs not pinned unless they ask (--pin)',
  ].join('; ');
}
