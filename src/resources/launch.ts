/**
 * How an attempt's allocation reaches its processes: the job's GPUs in CUDA_VISIBLE_DEVICES and
 * NVIDIA_VISIBLE_DEVICES, its CPU count in OMP_NUM_THREADS (unless the job sets it), its cores as
 * CPU affinity when pinned (`taskset` from util-linux), and its memory as a cgroup v2 `memory.max`
 * when the kernel allows. Launch wrappers `exec` the job's program, so its pid stays the job's.
 */
import type { Allocation, Inventory } from '../core/resources.js';
import { formatSize } from '../core/units.js';
import type { Job } from '../core/words.js';
import type { ExitReport, RunningWork } from '../executors/executor.js';
import { createJobCgroup, removeJobCgroup, wasOomKilled } from './cgroup.js';

/** Moves the shell into the cgroup named by $1, then runs the rest of the arguments in its place. */
const ENTER_CGROUP = 'echo $$ > "$1" && shift && exec "$@"';

/** The environment a job gets from its allocation (nothing for a job that asked for nothing). */
export function allocationEnv(job: Job, allocation: Allocation, inventory: Inventory): Record<string, string> {
  const env: Record<string, string> = {};
  if (job.resources.gpuCount != null) {
    // By UUID when the GPU was detected: CUDA numbers devices fastest-first unless told otherwise, so
    // an index could name another device than nvidia-smi's. Configured GPUs go by their names, in
    // PCI bus order (nvidia-smi's).
    const byIndex = new Map(inventory.gpus.map((gpu) => [gpu.index, gpu]));
    const ids = allocation.gpus.map((index) => byIndex.get(index)?.uuid ?? index).join(',');
    env.CUDA_VISIBLE_DEVICES = ids;
    env.NVIDIA_VISIBLE_DEVICES = ids === '' ? 'none' : ids;
    if (job.env.CUDA_DEVICE_ORDER === undefined) env.CUDA_DEVICE_ORDER = 'PCI_BUS_ID';
  }
  if (job.resources.cpuCount != null && job.env.OMP_NUM_THREADS === undefined) {
    env.OMP_NUM_THREADS = String(allocation.cpus.length);
  }
  return env;
}

/**
 * The job as its executor should start it: its environment with the allocation's, and for a command
 * pinned or memory-limited, its program run through the wrappers. Returns the cgroup made for it.
 */
export function jobForLaunch(
  job: Job,
  allocation: Allocation,
  inventory: Inventory,
): { job: Job; cgroup: string | null } {
  const launched: Job = { ...job, env: { ...job.env, ...allocationEnv(job, allocation, inventory) } };
  if (job.command === null && job.argv === null) return { job: launched, cgroup: null }; // a handler
  let argv = job.argv ?? ['/bin/sh', '-c', job.command ?? ''];
  let cgroup: string | null = null;
  if (allocation.memoryEnforced && allocation.memoryBytes > 0) {
    // The probe at the worker's start found cgroup v2 writable; should this one fail anyway, the
    // job still runs, within its reservation, and the failure shows in its stderr.
    try {
      cgroup = createJobCgroup(`job-${job.id}-${job.runNo}`, allocation.memoryBytes);
      argv = ['/bin/sh', '-c', ENTER_CGROUP, 'docket-cgroup', `${cgroup}/cgroup.procs`, ...argv];
    } catch (error) {
      const warning = `docket: memory limit not enforced: ${(error as Error).message}`;
      argv = ['/bin/sh', '-c', 'echo "$1" >&2; shift; exec "$@"', 'docket-note', warning, ...argv];
    }
  }
  if (allocation.pinned && allocation.cpus.length > 0) {
    argv = ['taskset', '-c', allocation.cpus.join(','), ...argv];
  }
  return { job: { ...launched, command: null, argv }, cgroup };
}

/**
 * Follows work started in a cgroup: an end caused by the kernel's out-of-memory killer fails the job
 * with "out of memory" (as SLURM's OUT_OF_MEMORY), and the cgroup is removed once the work is over.
 */
export function followCgroup(work: RunningWork, cgroup: string, memoryBytes: number): RunningWork {
  const exited = work.exited.then((report): ExitReport => {
    const oom = wasOomKilled(cgroup);
    removeJobCgroup(cgroup);
    if (!oom) return report;
    return { ...report, error: `out of memory (limit ${formatSize(memoryBytes)}; ask for more with --memory)` };
  });
  return {
    started: work.started,
    suspendsByAbort: work.suspendsByAbort,
    exited,
    stop: (graceMs, reason) => work.stop(graceMs, reason),
    pause: () => work.pause(),
    resume: () => work.resume(),
  };
}
