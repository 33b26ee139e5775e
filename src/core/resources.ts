/**
 * The words of local resources: what a worker's machine has (its inventory), what a job asks for
 * (its demand) and what one attempt holds (its allocation). A local job's GPUs, CPUs and memory are
 * consumed, as on SLURM: an allocation is held from the claim until the attempt ends in any way.
 */

/** The part of a job's resources (words.ts) that local workers consume. */
export interface ResourceAsk {
  cpuCount?: number;
  memoryBytes?: number;
  gpuCount?: number;
  pin?: boolean;
}

/** One GPU of an inventory. */
export interface GpuDevice {
  /** How docket names it (status, allocations): nvidia-smi's index, or the configured name. */
  index: string;
  /** The device's UUID when detected (what CUDA_VISIBLE_DEVICES receives then), else null. */
  uuid: string | null;
  name: string | null;
  memoryBytes: number | null;
}

/** What a worker may hand out, found at its start (or configured). */
export interface Inventory {
  /** CPU (core) ids this worker may use. */
  cpus: number[];
  /** Memory it may reserve, in bytes (the machine's, or its cgroup's limit). */
  memoryBytes: number;
  gpus: GpuDevice[];
  /** Whether jobs are pinned to their cores by default (a job's `pin` overrides it). */
  pin: boolean;
  /** How a job's memory is enforced: `cgroup v2` or null (reserved only), with the reason. */
  memoryEnforcement: string | null;
  /** Where each part came from (`nvidia-smi`, `env DOCKET_GPUS`, `cgroup cpu.max`, …). */
  sources: { cpus: string; memory: string; gpus: string; enforcement: string };
}

/** What a job asks for, in amounts (zero when not asked). */
export interface Demand {
  gpus: number;
  cpus: number;
  memoryBytes: number;
}

/** What one attempt holds on its host. */
export interface Allocation {
  /** GPU indices (GpuDevice.index). */
  gpus: string[];
  /** Core ids. */
  cpus: number[];
  memoryBytes: number;
  /** True when the job's processes are bound to `cpus`. */
  pinned: boolean;
  /** True when `memoryBytes` is a hard limit (cgroup v2), false when only reserved. */
  memoryEnforced: boolean;
}

/** An allocation with the attempt that holds it. */
export interface AllocationRecord extends Allocation {
  jobId: number;
  attempt: number;
  host: string;
  workerId: string;
}

/** A runnable job as a resource-aware claim sees it, in claim order. */
export interface ClaimCandidate {
  id: number;
  queue: string;
  resources: ResourceAsk;
}

/** A job a claim starts and what it holds (null: it asked for nothing, so it holds only a worker slot). */
export interface Selected {
  id: number;
  allocation: Allocation | null;
}

/** The amounts a job asks for; a job that asks for nothing takes only a worker slot. */
export function demandOf(resources: ResourceAsk): Demand {
  return {
    gpus: resources.gpuCount ?? 0,
    cpus: resources.cpuCount ?? 0,
    memoryBytes: resources.memoryBytes ?? 0,
  };
}

/** True when a job asks for GPUs, CPUs or memory (only those jobs need an allocation). */
export function asksForResources(resources: ResourceAsk): boolean {
  return resources.gpuCount != null || resources.cpuCount != null || resources.memoryBytes != null;
}

/** Formats core ids as ranges: `[8,9,10,11,3]` → `3, 8–11`. */
export function formatCpuList(cpus: readonly number[]): string {
  const sorted = [...cpus].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && (sorted[j + 1] as number) === (sorted[j] as number) + 1) j++;
    parts.push(j > i ? `${sorted[i]}–${sorted[j]}` : String(sorted[i]));
    i = j + 1;
  }
  return parts.join(',');
}

/** Parses a CPU list as the kernel writes it (`0-3,8,10-11`) into core ids. */
export function parseCpuList(text: string): number[] | null {
  const cpus: number[] = [];
  for (const part of text.trim().split(',')) {
    const range = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!range) return null;
    const from = Number(range[1]);
    const to = range[2] === undefined ? from : Number(range[2]);
    if (to < from || to - from > 65536) return null;
    for (let cpu = from; cpu <= to; cpu++) cpus.push(cpu);
  }
  return [...new Set(cpus)];
}
