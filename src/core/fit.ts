/**
 * Which waiting jobs a worker starts, and with which devices and cores (the fit policy).
 *
 * Jobs are taken in the claim's order — priority, then age — while they fit what is free on the
 * worker's host. The first job that does not fit yet (the *head*) gets a reservation: jobs behind it
 * may start only with what is left over once the head's needs (and one worker slot) are set aside,
 * so a stream of small jobs never delays it — it starts as soon as enough running jobs end — while
 * jobs that use none of what it is short of (CPU-only jobs behind a GPU job, say) still backfill.
 * A job this worker could never fit (more than its whole inventory) is left to other workers.
 */
import {
  type Allocation,
  type AllocationRecord,
  asksForResources,
  type ClaimCandidate,
  type Demand,
  demandOf,
  type Inventory,
  type ResourceAsk,
  type Selected,
} from './resources.js';

/** What is free on a host for one worker: its inventory less what attempts on the host hold. */
export interface Free {
  gpus: string[];
  cpus: number[];
  memoryBytes: number;
}

export function freeResources(inventory: Inventory, held: readonly AllocationRecord[]): Free {
  const heldGpus = new Set(held.flatMap((allocation) => allocation.gpus));
  const heldCpus = new Set(held.flatMap((allocation) => allocation.cpus));
  const heldMemory = held.reduce((sum, allocation) => sum + allocation.memoryBytes, 0);
  return {
    gpus: inventory.gpus.map((gpu) => gpu.index).filter((index) => !heldGpus.has(index)),
    cpus: inventory.cpus.filter((cpu) => !heldCpus.has(cpu)),
    memoryBytes: Math.max(0, inventory.memoryBytes - heldMemory),
  };
}

/** True when the demand fits the whole inventory (it could run here once enough jobs end). */
export function couldEverFit(demand: Demand, inventory: Inventory): boolean {
  return (
    demand.gpus <= inventory.gpus.length &&
    demand.cpus <= inventory.cpus.length &&
    demand.memoryBytes <= inventory.memoryBytes
  );
}

/**
 * Picks the jobs to start among `candidates` (in claim order), at most `slots` of them, with their
 * allocations. `held` is what attempts on this host hold now (any worker's).
 */
export function selectFitting(
  inventory: Inventory,
  held: readonly AllocationRecord[],
  candidates: readonly ClaimCandidate[],
  slots: number,
): Selected[] {
  const free = freeResources(inventory, held);
  let freeSlots = slots;
  /** Set aside for the head job once it is found: nothing behind it may use these. */
  let reserved: Demand & { slots: number } = { gpus: 0, cpus: 0, memoryBytes: 0, slots: 0 };
  const selected: Selected[] = [];
  for (const candidate of candidates) {
    if (freeSlots - reserved.slots <= 0) break;
    if (!asksForResources(candidate.resources)) {
      selected.push({ id: candidate.id, allocation: null });
      freeSlots--;
      continue;
    }
    const demand = demandOf(candidate.resources);
    if (!couldEverFit(demand, inventory)) continue;
    // What is left once the head's needs are set aside (none of what it is short of).
    const fits =
      demand.gpus <= Math.max(0, free.gpus.length - reserved.gpus) &&
      demand.cpus <= Math.max(0, free.cpus.length - reserved.cpus) &&
      demand.memoryBytes <= Math.max(0, free.memoryBytes - reserved.memoryBytes);
    if (fits) {
      selected.push({ id: candidate.id, allocation: take(free, demand, candidate.resources, inventory) });
      freeSlots--;
    } else if (reserved.slots === 0) {
      // The head: what it will need is kept for it from now on.
      reserved = { ...demand, slots: 1 };
    }
  }
  return selected;
}

/** Takes the demand's devices, cores and memory out of `free` (lowest GPUs, a contiguous run of cores if any). */
function take(free: Free, demand: Demand, resources: ResourceAsk, inventory: Inventory): Allocation {
  const gpus = free.gpus.slice(0, demand.gpus);
  free.gpus = free.gpus.slice(demand.gpus);
  const cpus = pickCores(free.cpus, demand.cpus);
  free.cpus = free.cpus.filter((cpu) => !cpus.includes(cpu));
  free.memoryBytes -= demand.memoryBytes;
  return {
    gpus,
    cpus,
    memoryBytes: demand.memoryBytes,
    pinned: demand.cpus > 0 && (resources.pin ?? inventory.pin),
    memoryEnforced: demand.memoryBytes > 0 && inventory.memoryEnforcement !== null,
  };
}

/** `count` cores from `free`: the first contiguous run long enough, else the lowest ones. */
export function pickCores(free: readonly number[], count: number): number[] {
  if (count === 0) return [];
  const sorted = [...free].sort((a, b) => a - b);
  for (let start = 0; start + count <= sorted.length; start++) {
    const first = sorted[start] as number;
    if ((sorted[start + count - 1] as number) - first === count - 1) return sorted.slice(start, start + count);
  }
  return sorted.slice(0, count);
}
