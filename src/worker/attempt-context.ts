/**
 * What an attempt's executor gets of the worker (ExecutionContext): one object per attempt with its
 * methods on the prototype, and the log folder worked out only when an executor asks for it — an
 * in-process handler never does. A plain object of closures per job cost a measurable share of a
 * no-op job's CPU on the worker (issue 12).
 */
import type { Logger } from 'pino';
import type { Job } from '../core/words.js';
import type { ExecutionContext } from '../executors/executor.js';
import { jobLogDir } from '../paths.js';
import type { QueueOperations } from '../storage/engine.js';
import type { WorkerEvent } from './options.js';

/** What an attempt's context needs of its worker. */
export interface ContextHost {
  readonly workerId: string;
  emit(event: WorkerEvent): void;
  /** Renews the worker's leases now (a handler's own heartbeat). */
  renewLeases(): Promise<void>;
}

/** What every attempt's context shares: made once per worker. */
export interface ContextShared {
  readonly engine: QueueOperations;
  readonly log: Logger;
  readonly host: ContextHost;
  readonly logsDir: string;
}

export class AttemptContext implements ExecutionContext {
  private dir: string | undefined;

  constructor(
    private readonly shared: ContextShared,
    private readonly job: Job,
  ) {}

  get workerId(): string {
    return this.shared.host.workerId;
  }

  get logDir(): string {
    this.dir ??= jobLogDir(this.shared.logsDir, this.job.id);
    return this.dir;
  }

  onProgress(progress: number | null, message: string | null): void {
    const { job, shared } = this;
    shared.host.emit({ kind: 'progress', job, progress, message });
    // Progress is advisory: a store that cannot take it now costs a log line, never the worker.
    shared.engine
      .setProgress(job.id, job.runNo, progress, message)
      .catch((error) => shared.log.warn({ job: job.id, err: error }, 'could not record progress'));
  }

  heartbeat(): Promise<void> {
    return this.shared.host.renewLeases();
  }

  saveCheckpoint(state: unknown): Promise<void> {
    return this.shared.engine.saveCheckpoint(this.job.id, this.job.runNo, state);
  }

  async parentResults(): Promise<Record<number, unknown>> {
    const results: Record<number, unknown> = {};
    for (const parent of this.job.dependsOn) results[parent] = (await this.shared.engine.get(parent))?.result ?? null;
    return results;
  }
}
