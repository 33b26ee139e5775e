/**
 * The in-process executor: runs a job type's TypeScript handler with its params, an AbortSignal
 * (cancel, timeout, suspend, shutdown) and helpers for progress, heartbeats and checkpoints.
 * A handler that ignores its signal past the grace period is abandoned: its attempt ends without
 * it, and whatever it returns later is never recorded.
 */
import { JobAbortedError, type JobTypeDefinition, type StopReason } from '../../core/job-types.js';
import type { Job } from '../../core/words.js';
import type { ExecutionContext, Executor, ExitReport, RunningWork } from '../executor.js';

export class HandlerExecutor implements Executor {
  constructor(private readonly types: ReadonlyMap<string, JobTypeDefinition>) {}

  runs(type: string): boolean {
    return this.types.get(type)?.handler !== undefined;
  }

  start(job: Job, context: ExecutionContext): RunningWork {
    const definition = this.types.get(job.type);
    const handler = definition?.handler;
    const controller = new AbortController();
    let settle!: (report: ExitReport) => void;
    let settled = false;
    const exited = new Promise<ExitReport>((resolve) => {
      settle = (report) => {
        if (settled) return;
        settled = true;
        resolve(report);
      };
    });
    const run = async () => {
      if (!handler) throw new Error(`no handler for job type ${job.type} in this worker`);
      const parentResults =
        definition.passParentResults && job.dependsOn.length > 0 ? await context.parentResults() : {};
      return handler({
        params: job.params,
        job,
        attempt: job.runNo,
        signal: controller.signal,
        progress: async (value, message) => context.onProgress(clamp(value), message ?? null),
        heartbeat: () => context.heartbeat(),
        checkpoint: job.checkpoint ?? null,
        saveCheckpoint: (state) => context.saveCheckpoint(state),
        parentResults,
      });
    };
    run().then(
      (result) => settle({ exitCode: 0, signal: null, result: result === undefined ? null : result }),
      (error: unknown) => settle(errorReport(error)),
    );
    return {
      started: Promise.resolve({ pid: null, pidStart: null }),
      suspendsByAbort: true,
      exited,
      stop: async (graceMs: number, reason: StopReason) => {
        controller.abort(new JobAbortedError(reason));
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
        clearTimeout(timer);
        settle({
          exitCode: null,
          signal: null,
          abandoned: true,
          error: `handler did not stop within ${graceMs / 1000}s of being ${new JobAbortedError(reason).message.replace(/^job /, '')}`,
        });
      },
      // Handlers are paused by aborting them with a 'suspend' reason, never by freezing the worker.
      pause: () => {},
      resume: () => {},
    };
  }
}

function clamp(value: number): number {
  return Number.isFinite(value) ? Math.min(1, Math.max(0, value)) : 0;
}

function errorReport(error: unknown): ExitReport {
  if (error instanceof Error)
    return { exitCode: null, signal: null, error: error.message || error.name, errorStack: error.stack };
  return { exitCode: null, signal: null, error: typeof error === 'string' ? error : JSON.stringify(error) };
}
