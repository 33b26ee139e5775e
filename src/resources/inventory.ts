/**
 * A worker's inventory: the CPUs this process may use (its affinity, capped by a cgroup v2
 * `cpu.max` quota), its memory (the machine's, or a cgroup's limit), and its GPUs (nvidia-smi, else
 * the driver's /proc files, narrowed by a CUDA_VISIBLE_DEVICES the worker was started with). Each
 * part can be configured instead (DOCKET_CPUS, DOCKET_MEMORY, DOCKET_GPUS or config.json), for
 * other vendors, for a subset of the machine, and for tests.
 */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { join } from 'node:path';
import { InvalidInputError } from '../core/errors.js';
import { type GpuDevice, type Inventory, parseCpuList } from '../core/resources.js';
import { parseSize } from '../core/units.js';
import { memoryEnforcement, ownCgroupV2Path } from './cgroup.js';
import { gpusFromNvidiaSmi, gpusFromProc, restrictToVisible } from './nvidia.js';

/** What the configuration says about the inventory; null parts are detected. */
export interface ResourceSettings {
  /** `0,1,3` (indices or names), `none`, or null to detect. */
  gpus: string | null;
  /** A count (`8`: cores 0–7 of those allowed) or a list (`0-3,8`), or null to detect. */
  cpus: string | null;
  /** A size (`64G`), or null to detect. */
  memory: string | null;
  /** Pin jobs to their cores unless a job says otherwise. */
  pin: boolean;
  /** Where each setting came from, for messages. */
  sources?: Record<string, string>;
}

export const NO_RESOURCE_SETTINGS: ResourceSettings = { gpus: null, cpus: null, memory: null, pin: false };

/** Finds (or takes from the settings) what this worker may hand out. */
export function detectInventory(settings: ResourceSettings, env: NodeJS.ProcessEnv = process.env): Inventory {
  const cpus = cpuInventory(settings);
  const memory = memoryInventory(settings);
  const gpus = gpuInventory(settings, env);
  const enforcement = memoryEnforcement();
  return {
    cpus: cpus.cpus,
    memoryBytes: memory.bytes,
    gpus: gpus.gpus,
    pin: settings.pin,
    memoryEnforcement: enforcement.mechanism,
    sources: { cpus: cpus.source, memory: memory.source, gpus: gpus.source, enforcement: enforcement.reason },
  };
}

function sourceOf(settings: ResourceSettings, name: string): string {
  return settings.sources?.[name] ?? 'configured';
}

function cpuInventory(settings: ResourceSettings): { cpus: number[]; source: string } {
  const allowed = allowedCpus();
  if (settings.cpus !== null) {
    const text = settings.cpus.trim();
    if (/^\d+$/.test(text)) {
      const count = Number(text);
      if (count < 1) throw new InvalidInputError('cpus', `"${text}" must be at least 1 (DOCKET_CPUS or config.json)`);
      // The first `count` allowed cores; past those, numbered on (a configured, virtual inventory).
      const cpus = allowed.slice(0, count);
      for (let next = (cpus.at(-1) ?? -1) + 1; cpus.length < count; next++) cpus.push(next);
      return { cpus, source: sourceOf(settings, 'cpus') };
    }
    const cpus = parseCpuList(text);
    if (!cpus || cpus.length === 0) {
      throw new InvalidInputError('cpus', `"${text}" is not a count or a CPU list like 0-7,16 (DOCKET_CPUS)`);
    }
    return { cpus, source: sourceOf(settings, 'cpus') };
  }
  const quota = cgroupCpuQuota();
  if (quota !== null && quota < allowed.length) {
    return { cpus: allowed.slice(0, Math.max(1, Math.floor(quota))), source: 'affinity, cgroup cpu.max' };
  }
  return { cpus: allowed, source: 'affinity (Cpus_allowed_list)' };
}

/** The cores this process may run on (`Cpus_allowed_list`), else 0…n−1. */
function allowedCpus(): number[] {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const list = /^Cpus_allowed_list:\s*(.+)$/m.exec(status)?.[1];
    const cpus = list ? parseCpuList(list) : null;
    if (cpus && cpus.length > 0) return cpus;
  } catch {
    // not Linux: fall through
  }
  return Array.from({ length: availableParallelism() }, (_, i) => i);
}

/** CPUs' worth of time a cgroup v2 `cpu.max` allows this process and its ancestors, or null. */
function cgroupCpuQuota(): number | null {
  let least: number | null = null;
  for (const dir of cgroupAncestors()) {
    const text = readText(join(dir, 'cpu.max'));
    const match = text && /^(\d+)\s+(\d+)/.exec(text);
    if (match) least = Math.min(least ?? Number.POSITIVE_INFINITY, Number(match[1]) / Number(match[2]));
  }
  return least;
}

function memoryInventory(settings: ResourceSettings): { bytes: number; source: string } {
  if (settings.memory !== null) {
    return { bytes: parseSize(settings.memory, 'memory'), source: sourceOf(settings, 'memory') };
  }
  const machine = meminfoTotal() ?? totalmem();
  let limit: number | null = null;
  for (const dir of cgroupAncestors()) {
    const text = readText(join(dir, 'memory.max'));
    if (text && /^\d+$/.test(text)) limit = Math.min(limit ?? Number.POSITIVE_INFINITY, Number(text));
  }
  // cgroup v1 reports "no limit" as a huge number.
  const v1 = readText('/sys/fs/cgroup/memory/memory.limit_in_bytes');
  if (v1 && /^\d+$/.test(v1) && Number(v1) < machine) limit = Math.min(limit ?? Number.POSITIVE_INFINITY, Number(v1));
  if (limit !== null && limit < machine) return { bytes: limit, source: 'cgroup memory limit' };
  return { bytes: machine, source: '/proc/meminfo' };
}

function meminfoTotal(): number | null {
  const match = /^MemTotal:\s*(\d+)\s*kB/m.exec(readText('/proc/meminfo') ?? '');
  return match ? Number(match[1]) * 1024 : null;
}

function gpuInventory(settings: ResourceSettings, env: NodeJS.ProcessEnv): { gpus: GpuDevice[]; source: string } {
  if (settings.gpus !== null) {
    const text = settings.gpus.trim();
    if (text === '' || text === 'none') return { gpus: [], source: sourceOf(settings, 'gpus') };
    const names = text.split(',').map((name) => name.trim());
    if (names.some((name) => !/^[A-Za-z0-9_.:-]+$/.test(name)) || new Set(names).size !== names.length) {
      throw new InvalidInputError('gpus', `"${text}" is not a list of distinct GPU names like 0,1,3 (DOCKET_GPUS)`);
    }
    const gpus = names.map((index) => ({ index, uuid: null, name: null, memoryBytes: null }));
    return { gpus, source: sourceOf(settings, 'gpus') };
  }
  const smi = gpusFromNvidiaSmi();
  const found = smi ?? gpusFromProc();
  if (found === null) return { gpus: [], source: 'none found (no nvidia-smi, no /proc/driver/nvidia)' };
  const source = smi ? 'nvidia-smi' : '/proc/driver/nvidia/gpus';
  const visible = env.CUDA_VISIBLE_DEVICES;
  return {
    gpus: restrictToVisible(found, visible),
    source: visible === undefined ? source : `${source}, CUDA_VISIBLE_DEVICES=${visible}`,
  };
}

/** This process's cgroup v2 folder and its ancestors up to the root (empty without cgroup v2). */
function cgroupAncestors(): string[] {
  const own = ownCgroupV2Path();
  if (own === null) return [];
  const dirs: string[] = [];
  for (let dir = own.path; dir.startsWith(own.root); dir = join(dir, '..')) {
    dirs.push(dir);
    if (dir === own.root) break;
  }
  return dirs;
}

function readText(path: string): string | null {
  try {
    return existsSync(path) ? readFileSync(path, 'utf8').trim() : null;
  } catch {
    return null;
  }
}
