/**
 * Memory enforcement with cgroup v2: each job that reserves memory gets its own cgroup under
 * `<this process's cgroup>/docket-jobs/` with `memory.max` set, and its process moves there before
 * it runs the job's program. Where the kernel does not let docket do that (cgroup v1, no memory
 * controller, no permission), memory is only reserved and `status` says so.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const JOBS_FOLDER = 'docket-jobs';

/** Where cgroup v2 is mounted and this process's folder in it, or null without cgroup v2. */
export function ownCgroupV2Path(): { root: string; path: string } | null {
  try {
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
    // Fields: id parent major:minor root mountpoint options … - fstype source superoptions
    const line = mounts.find((entry) => / - cgroup2 /.test(entry));
    const root = line?.split(' ')[4];
    const own = /^0::(.*)$/m.exec(readFileSync('/proc/self/cgroup', 'utf8'))?.[1];
    if (!root || own === undefined) return null;
    return { root, path: join(root, own) };
  } catch {
    return null;
  }
}

let probed: { mechanism: string | null; reason: string } | undefined;

/**
 * Whether job cgroups with `memory.max` can be made here (found once per process): the memory
 * controller must be available and enabled for docket's folder of job cgroups.
 */
export function memoryEnforcement(): { mechanism: string | null; reason: string } {
  probed ??= probe();
  return probed;
}

function probe(): { mechanism: string | null; reason: string } {
  const own = ownCgroupV2Path();
  if (own === null) {
    const v1 = existsSync('/sys/fs/cgroup/memory') ? ' (this machine has cgroup v1)' : '';
    return { mechanism: null, reason: `not enforced: no cgroup v2${v1}` };
  }
  const controllers = readOr(join(own.path, 'cgroup.controllers'), '');
  if (!controllers.split(/\s+/).includes('memory')) {
    return {
      mechanism: null,
      reason: `not enforced: cgroup v2 at ${own.path} has no memory controller (controllers: ${controllers || 'none'})`,
    };
  }
  try {
    const jobs = jobsFolder(own.path);
    return { mechanism: 'cgroup v2', reason: `enforced: cgroup v2 memory.max under ${jobs}` };
  } catch (error) {
    return {
      mechanism: null,
      reason: `not enforced: cannot create cgroups under ${own.path} (${(error as Error).message})`,
    };
  }
}

/** Creates (once) the folder of job cgroups with the memory controller enabled for its children. */
function jobsFolder(base: string): string {
  const jobs = join(base, JOBS_FOLDER);
  if (!readOr(join(base, 'cgroup.subtree_control'), '').includes('memory')) {
    writeFileSync(join(base, 'cgroup.subtree_control'), '+memory');
  }
  mkdirSync(jobs, { recursive: true });
  if (!readOr(join(jobs, 'cgroup.subtree_control'), '').includes('memory')) {
    writeFileSync(join(jobs, 'cgroup.subtree_control'), '+memory');
  }
  return jobs;
}

/** Creates the cgroup of one attempt with its memory limit; returns its folder. */
export function createJobCgroup(name: string, memoryBytes: number): string {
  const own = ownCgroupV2Path();
  if (own === null) throw new Error('no cgroup v2');
  const dir = join(jobsFolder(own.path), name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'memory.max'), String(memoryBytes));
  // No swap beyond the limit, so an over-limit job is stopped rather than slowed to a crawl.
  if (existsSync(join(dir, 'memory.swap.max'))) writeFileSync(join(dir, 'memory.swap.max'), '0');
  return dir;
}

/** True when the kernel killed a process of the cgroup for exceeding its memory limit. */
export function wasOomKilled(dir: string): boolean {
  const match = /^oom_kill\s+(\d+)/m.exec(readOr(join(dir, 'memory.events'), ''));
  return match !== null && Number(match[1]) > 0;
}

/** Removes an attempt's cgroup once its processes are gone (a cgroup with processes cannot go). */
export function removeJobCgroup(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // still has processes (a stray descendant) or already gone: the next worker start may retry
  }
}

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return fallback;
  }
}
