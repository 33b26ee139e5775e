/** Starting an attempt's work so that no executor's trouble can reach the worker. */
import type { Job } from '../core/words.js';
import { type ExecutionContext, type Executor, NO_PROCESS, type RunningWork } from '../executors/executor.js';
import type { LocalResources } from '../resources/local-resources.js';

/**
 * Starts the work; an executor that throws instead of reporting (or none that runs the type)
 * becomes a failed attempt, not a dead worker.
 */
export function startSafely(
  executor: Executor | undefined,
  job: Job,
  context: ExecutionContext,
  resources: LocalResources | undefined,
): RunningWork {
  try {
    if (!executor) throw new Error(`no executor of this worker runs jobs of type ${job.type}`);
    // Local resources: a job that was allocated some starts with them (env, affinity, memory limit).
    return resources ? resources.start(job, executor, context) : executor.start(job, context);
  } catch (error) {
    const message = `cannot start the job: ${(error as Error).message}`;
    return {
      started: NO_PROCESS,
      exited: Promise.resolve({ exitCode: null, signal: null, error: message }),
      suspendsByAbort: false,
      stop: async () => {},
      pause: () => {},
      resume: () => {},
    };
  }
}
