/** Plain words for why a job is where it is (the dashboard's and API's `state_reason`). */
import type { Job, JobStatus } from './words.js';

export interface StateContext {
  /** The job's queue is paused. */
  queuePaused: boolean;
  /** The states of the job's dependencies, by id (missing ones were cleared). */
  dependencies: Map<number, JobStatus>;
  now: number;
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
    return `blocked by ${waiting.map((id) => `#${id}`).join(', ') || 'its dependencies'}`;
  }
  if (job.runAt > context.now) {
    const until = new Date(job.runAt).toISOString();
    return job.attempts > 0
      ? `waiting to retry (attempt ${job.attempts + 1} of ${job.maxAttempts}) until ${until}`
      : `delayed until ${until}`;
  }
  if (context.queuePaused) return `queue ${job.queue} is paused`;
  if (job.pendingReason) return job.pendingReason; // local resources: "needs 2 GPUs; 1 of 4 free on host-a"
  return 'waiting for a worker';
}
