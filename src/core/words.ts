/**
 * The words of docket (see DESIGN.md). Every other module speaks in these types.
 *
 * - job: one unit of work with a lifecycle, an integer id, and a record that outlives it.
 * - job type: a named template; `command` runs a shell command or an argument vector.
 * - queue: a named lane; workers serve queues.
 * - scheduler: where a job executes — `local` (a process group on this machine) or `slurm`.
 * - worker: a process that claims jobs and executes them, holding each under a lease.
 * - attempt: one try of a job, with its own start, end, outcome, host, pid and worker.
 * - key: an idempotency key, unique per tenant and job type.
 */

/** Every state a job can be in. */
import type { Allocation, Inventory } from './resources.js';

export const JOB_STATUSES = [
  'pending',
  'running',
  'suspended',
  'completed',
  'failed',
  'timeout',
  'cancelled',
  'skipped',
] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** States a job is still "alive" in: shown by `docket list` without `--all`. */
export const ACTIVE_STATUSES: readonly JobStatus[] = ['pending', 'running', 'suspended'];
/** States from which a job never moves on its own. */
export const FINAL_STATUSES: readonly JobStatus[] = ['completed', 'failed', 'timeout', 'cancelled', 'skipped'];

export const SCHEDULERS = ['local', 'slurm'] as const;
export type SchedulerName = (typeof SCHEDULERS)[number];

/** The built-in job type that runs a shell string or an argument vector. */
export const COMMAND_TYPE = 'command';
export const DEFAULT_QUEUE = 'default';
export const DEFAULT_TENANT = 'default';

/**
 * What a job asks of the machine: consumed on SLURM and by local workers alike (a local job waits
 * until its worker has them free; see core/resources.ts).
 */
export interface Resources {
  cpuCount?: number;
  memoryBytes?: number;
  gpuCount?: number;
  /** Local jobs: bind the job's processes to its cores (default: the worker's `pin` setting). */
  pin?: boolean;
  partition?: string;
  account?: string;
}

/**
 * Resources as a submit may ask for them: the stored names, or the short ones a researcher types
 * (`{ gpus: 2, cpus: 8, memory: '32G' }`; `memory` takes bytes or a size such as `512M`).
 */
export interface ResourceRequest extends Resources {
  gpus?: number;
  cpus?: number;
  memory?: number | string;
}

/** How long to wait before the next try of a failed attempt. */
export interface RetryPolicy {
  /** The first delay (and every delay, when `fixed`). */
  delaySeconds: number;
  /** `exponential` doubles the delay at every further attempt. */
  backoff: 'fixed' | 'exponential';
  /** Spread retries randomly between half and all of the delay, so a burst does not retry in lockstep. */
  jitter: boolean;
  /** No delay is longer than this. */
  maxDelaySeconds: number | null;
}

/** What a caller gives to create a job. Everything but the work itself has a default. */
export interface JobSpec {
  name?: string;
  type?: string;
  /** A shell string, run by `sh -c`. */
  command?: string;
  /** An argument vector, run without a shell. */
  argv?: string[];
  cwd?: string;
  env?: Record<string, string>;
  queue?: string;
  priority?: number;
  scheduler?: SchedulerName;
  /** Earliest start time (ms since the epoch). */
  runAt?: number;
  dependsOn?: number[];
  timeLimitSeconds?: number;
  maxAttempts?: number;
  retry?: Partial<RetryPolicy>;
  resources?: ResourceRequest;
  /** The job group (HyperSpot); defaults to the type's. */
  group?: string;
  /** Makes the job recurring: a cron expression (five or six fields). */
  cron?: string;
  /** Idempotency key: a string or a JSON object (stored canonically). */
  key?: string | Record<string, unknown>;
  tenant?: string;
  /** The finished job this one submits again (set by `restart`, kept as the job's `restartedFrom`). */
  restartedFrom?: number;
  user?: string;
  params?: unknown;
}

/** One try of a job (GigQ's execution). */
export interface Attempt {
  attempt: number;
  status: JobStatus;
  startedAt: number;
  endedAt: number | null;
  exitCode: number | null;
  signal: string | null;
  error: string | null;
  host: string | null;
  pid: number | null;
  workerId: string | null;
  /** What the attempt held of its host's GPUs, CPUs and memory (local resources), if it asked for any. */
  allocation?: Allocation | null;
}

/** The stored record of a job. Times are ms since the epoch. */
export interface Job {
  id: number;
  name: string;
  type: string;
  status: JobStatus;
  scheduler: SchedulerName;
  /**
   * The external scheduler's id for the job (SLURM's job id); null for local jobs and while docket
   * still holds the job (waiting for a local dependency or a retry delay).
   */
  schedulerJobId: string | null;
  /**
   * Why the external scheduler still holds the job, in its words (SLURM's squeue `%r`: `Resources`,
   * `Priority`, `Dependency`…), as of docket's last look; null when it gave none. Read only while the
   * job is pending and handed over.
   */
  schedulerReason: string | null;
  queue: string;
  priority: number;
  command: string | null;
  argv: string[] | null;
  cwd: string;
  env: Record<string, string>;
  resources: Resources;
  timeLimitSeconds: number | null;
  /** Tries counted against `maxAttempts` (an execution interrupted by a worker shutdown is not). */
  attempts: number;
  /** Number of the current or last execution; executions are numbered 1, 2, … for the job's life. */
  runNo: number;
  maxAttempts: number;
  retry: RetryPolicy;
  runAt: number;
  dependsOn: number[];
  group: string | null;
  cron: string | null;
  /** What a suspended handler saved for its next attempt. */
  checkpoint: unknown;
  /** Dependencies not yet completed; a pending job with any is *blocked*. */
  blockedBy: number;
  /** True once some job depends on this one. */
  hasDependents: boolean;
  /** The finished job this one was submitted again from (`docket restart`); null otherwise. */
  restartedFrom: number | null;
  key: string | null;
  tenant: string;
  user: string | null;
  params: unknown;
  result: unknown;
  progress: number | null;
  progressMessage: string | null;
  exitCode: number | null;
  signal: string | null;
  error: string | null;
  errorStack: string | null;
  host: string | null;
  pid: number | null;
  /** Start time of `pid` in clock ticks since boot: with the pid, a process's identity for life. */
  pidStart: number | null;
  workerId: string | null;
  leaseExpiresAt: number | null;
  createdAt: number;
  startedAt: number | null;
  endedAt: number | null;
  updatedAt: number;
  /**
   * Why a pending job waits, when docket can say (local resources: "needs 2 GPUs; 1 of 4 free on
   * host-a"). Filled in by the facade's reads, not stored.
   */
  pendingReason?: string | null;
}

/** A job with its history of attempts, as `docket status` shows it. */
export interface JobWithAttempts extends Job {
  executions: Attempt[];
}

/** A registered worker process. */
export interface WorkerInfo {
  id: string;
  host: string;
  /** Boot id and pid namespace (worker/machine.ts): tells containers that share a hostname apart. */
  machine?: string | null;
  pid: number;
  pidStart: number | null;
  /** Queues it serves; `*` means every queue. */
  queues: string[];
  concurrency: number;
  /** Where it listens for wake-ups (`udp:PORT@NETWORK_NAMESPACE`; `@name` for a Unix socket of earlier versions), if anywhere. */
  wakeAddress: string | null;
  startedAt: number;
  heartbeatAt: number;
  /** What it may hand out (GPUs, CPUs, memory); null for workers that do not say. */
  inventory?: Inventory | null;
  /** Job types it can run (`command` and its handlers); null for workers that did not say. */
  types?: string[] | null;
}

/** How an attempt ended, as reported by an executor or a reconciler. */
export interface Outcome {
  status: 'completed' | 'failed' | 'timeout' | 'cancelled';
  exitCode?: number | null;
  signal?: string | null;
  error?: string | null;
  errorStack?: string | null;
  result?: unknown;
}

/** Filters for listing jobs. */
export interface JobFilter {
  statuses?: JobStatus[];
  queue?: string;
  type?: string;
  scheduler?: SchedulerName;
  tenant?: string;
  /** Only the job with this (canonical) key. */
  key?: string;
  limit?: number;
  offset?: number;
  /** Only jobs that come after this id in the chosen order (keyset paging: pass the last id seen). */
  afterId?: number;
  /** `asc` (oldest first, the default) or `desc`. */
  order?: 'asc' | 'desc';
}

/** A count of jobs in every state, zeros included. */
export type StatusCounts = Record<JobStatus, number> & { total: number };

export function emptyCounts(): StatusCounts {
  const counts = { total: 0 } as StatusCounts;
  for (const status of JOB_STATUSES) counts[status] = 0;
  return counts;
}
