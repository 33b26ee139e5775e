/** Plain words for why a job is where it is (the dashboard's and API's `state_reason`). */
import { FINAL_STATUSES, type Job, type JobStatus } from './words.js';

export interface StateContext {
  /** The job's queue is paused. */
  queuePaused: boolean;
  /** The states of the job's dependencies, by id (missing ones were cleared). */
  dependencies: Map<number, JobStatus>;
  now: number;
  /** The queue's capacity and how many of its jobs run now, when it has a capacity. */
  capacity?: { limit: number; running: number };
  /** How times read (default ISO-8601 UTC; the CLI shows local time). */
  formatTime?: (ms: number) => string;
  /** Whether a live worker serves the job's queue; undefined when not known. */
  served?: boolean;
  /** The job types the live workers serving the job's queue run; undefined when not known. */
  servingTypes?: string[];
}

/** A short sentence, or null when the state says it all (a running or completed job). */
export function stateReason(job: Job, context: StateContext): string | null {
  switch (job.status) {
    case 'pending':
      return pendingReason(job, context);
    case 'suspended':
      return 'suspended; resume it to continue';
    case 'skipped':
      return job.error ? `skipped because ${job.error.replace(/dependency (\d+)/g, 'dependency #$1')}` : 'skipped';
    case 'failed':
    case 'timeout':
    case 'cancelled':
      return job.error ?? null;
    default:
      return null;
  }
}

function pendingReason(job: Job, context: StateContext): string {
  if (job.blockedBy > 0) {
    const waiting = job.dependsOn.filter((id) => context.dependencies.get(id) !== 'completed');
    return `blocked by ${waiting.map((id) => dependency(id, context.dependencies.get(id))).join(', ') || 'its dependencies'}`;
  }
  if (job.runAt > context.now) {
    const until = (context.formatTime ?? ((ms: number) => new Date(ms).toISOString()))(job.runAt);
    return job.attempts > 0
      ? `waiting to retry (attempt ${job.attempts + 1} of ${job.maxAttempts}) until ${until}`
      : `delayed until ${until}`;
  }
  if (context.queuePaused) return `queue ${job.queue} is paused`;
  if (job.pendingReason) return job.pendingReason; // local resources: "needs 2 GPUs; 1 of 4 free on host-a"
  if (job.scheduler === 'slurm') {
    if (!job.schedulerJobId) return 'waiting to be handed to SLURM';
    const queued = `queued in SLURM (job ${job.schedulerJobId})`;
    return job.schedulerReason ? `${queued}: ${job.schedulerReason}` : queued;
  }
  const { capacity } = context;
  if (capacity && capacity.running >= capacity.limit) {
    return `queue ${job.queue} is at capacity (${capacity.running} of ${capacity.limit} running)`;
  }
  if (context.served === false) return `no live worker serves queue ${job.queue}; start one with docket worker`;
  if (context.servingTypes && !context.servingTypes.includes(job.type)) {
    return `no live worker runs type ${job.type} (workers of queue ${job.queue} run: ${context.servingTypes.join(', ')})`;
  }
  return 'waiting for a worker';
}

/** `#12`, or `#12 (failed)` for a dependency that ended without completing (this job will be skipped). */
function dependency(id: number, status: JobStatus | undefined): string {
  return status && status !== 'completed' && FINAL_STATUSES.includes(status) ? `#${id} (${status})` : `#${id}`;
}
