/**
 * The in-process executor: runs a job type's TypeScript handler with its params, an AbortSignal
 * (cancel, timeout, suspend, shutdown) and helpers for progress, heartbeats and checkpoints.
 * A handler that ignores its signal past the grace period is abandoned: its attempt ends without
 * it, and whatever it returns later is never recorded.
 *
 * This runs once per job on the worker's hot path, so a run is one object with its methods on the
 * prototype, and the AbortController is made only when the handler reads its signal or the run is
 * stopped (most handlers never look at it, and creating one is a measurable part of a no-op job).
 */
import { JobAbortedError, type JobTypeDefinition, type StopReason } from '../../core/job-types.js';
import type { Job } from '../../core/words.js';
import type { ExecutionContext, Executor, ExitReport, RunningWork } from '../executor.js';
import { NO_PROCESS } from '../executor.js';

export class HandlerExecutor implements Executor {
  constructor(private readonly types: ReadonlyMap<string, JobTypeDefinition>) {}

  runs(type: string): boolean {
    return this.types.get(type)?.handler !== undefined;
  }

  start(job: Job, context: ExecutionContext): RunningWork {
    return new HandlerRun(this.types.get(job.type), job, context);
  }
}

class HandlerRun implements RunningWork {
  readonly started = NO_PROCESS;
  // Handlers are paused by aborting them with a 'suspend' reason, never by freezing the worker.
  readonly suspendsByAbort = true;
  readonly exited: Promise<ExitReport>;
  private resolveExit!: (report: ExitReport) => void;
  private settled = false;
  private controller: AbortController | undefined;

  constructor(
    private readonly definition: JobTypeDefinition | undefined,
    private readonly job: Job,
    private readonly context: ExecutionContext,
  ) {
    this.exited = new Promise<ExitReport>((resolve) => {
      this.resolveExit = resolve;
    });
    this.run().then(
      (result) => this.settle({ exitCode: 0, signal: null, result: result === undefined ? null : result }),
      (error: unknown) => this.settle(errorReport(error)),
    );
  }

  /** The handler's signal, made on first use (by the handler, or by a stop). */
  abortSignal(): AbortSignal {
    this.controller ??= new AbortController();
    return this.controller.signal;
  }

  async stop(graceMs: number, reason: StopReason): Promise<void> {
    this.controller ??= new AbortController();
    this.controller.abort(new JobAbortedError(reason));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.exited, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    this.settle({
      exitCode: null,
      signal: null,
      abandoned: true,
      error: `handler did not stop within ${graceMs / 1000}s of being ${new JobAbortedError(reason).message.replace(/^job /, '')}`,
    });
  }

  pause(): void {}

  resume(): void {}

  private settle(report: ExitReport): void {
    if (this.settled) return;
    this.settled = true;
    this.resolveExit(report);
  }

  private async run(): Promise<unknown> {
    const { definition, job, context } = this;
    const handler = definition?.handler;
    if (!handler) throw new Error(`no handler for job type ${job.type} in this worker`);
    const parentResults = definition.passParentResults && job.dependsOn.length > 0 ? await context.parentResults() : {};
    const run = this;
    // A plain object with own properties (a handler may destructure or spread it); `signal` is a
    // getter so that the controller is made only when the handler asks for it.
    return handler({
      params: job.params,
      job,
      attempt: job.runNo,
      get signal() {
        return run.abortSignal();
      },
      // Method shorthand, not arrows: the same closures over `context` (no `this`, so they may be
      // destructured), but without the per-function name fix-up esbuild adds to arrows under tsx.
      async progress(value: number, message?: string) {
        context.onProgress(clamp(value), message ?? null);
      },
      heartbeat() {
        return context.heartbeat();
      },
      checkpoint: job.checkpoint ?? null,
      saveCheckpoint(state: unknown) {
        return context.saveCheckpoint(state);
      },
      parentResults,
    });
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
