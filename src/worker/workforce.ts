/**
 * The facade's view of the workers: which are alive, waking those that serve a queue, starting
 * one on demand where none does, telling a job's owner that its record changed, and settling the
 * jobs of workers that died (the daemonless bookkeeping of `Docket.reconcile`).
 */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { DocketConfig } from '../config/config.js';
import type { Job, WorkerInfo } from '../core/words.js';
import type { Executor, ProcessControl } from '../executors/executor.js';
import { detectInventory } from '../resources/inventory.js';
import { LocalResources } from '../resources/local-resources.js';
import type { StorageEngine } from '../storage/engine.js';
import { serves, startWorkerOnce, wakeWorkers } from './on-demand.js';
import type { WorkerOptions } from './options.js';
import { reconcile, workerAlive } from './reconcile.js';
import { poke } from './wake.js';
import { Worker } from './worker.js';

export class Workforce {
  constructor(
    private readonly engine: StorageEngine,
    private readonly config: Readonly<DocketConfig>,
    /** Reconcile: settle the jobs of workers that died (Docket.open's manageWorkers). */
    private readonly manageWorkers: boolean,
    /** Null unless the program asked for on-demand workers (Docket.open's onDemandWorkers). */
    private readonly onDemand: { workerConfig?: string } | null,
    /** How the processes of the jobs of dead workers are stopped (the local executor's). */
    private readonly processes: ProcessControl,
  ) {}

  /** True when the worker renewed its registration within the lease. */
  readonly isLive = (worker: WorkerInfo): boolean => workerAlive(worker, this.config.worker.leaseMs);

  /** The live workers. */
  async live(): Promise<WorkerInfo[]> {
    return (await this.engine.listWorkers()).filter(this.isLive);
  }

  /** True when a live worker serves the queue (one that a submit would wake). */
  async serving(queue: string): Promise<boolean> {
    return (await this.engine.listWorkers()).some((worker) => serves(worker, queue) && this.isLive(worker));
  }

  /** Settles jobs whose worker is gone and, if asked, starts a worker where pending jobs have none. */
  async reconcile(startWorkers: boolean): Promise<void> {
    if (!this.manageWorkers) return;
    const { liveWorkers } = await reconcile(
      this.engine,
      this.config.worker.leaseMs,
      this.config.worker.graceMs,
      this.processes,
    );
    if (!startWorkers || !this.shouldStartWorkers()) return;
    const queues = await this.engine.runnableQueues('local');
    const unserved = queues.filter((queue) => !liveWorkers.some((worker) => serves(worker, queue)));
    if (unserved.length > 0) await this.startWorker(unserved[0] as string);
  }

  /**
   * Wakes the workers of these queues, starting one in the background if none serves them — for
   * `startFor` only (default: all), the queues whose new jobs can run soon.
   */
  async notify(queues: Set<string>, startWorkers = true, startFor = queues): Promise<void> {
    if (queues.size === 0) return;
    // A store that pushes changes has told its listeners already, inside the write.
    if (this.engine.capabilities.pushesChanges && !(startWorkers && this.shouldStartWorkers())) return;
    const live = await this.live();
    const unserved = wakeWorkers(live, queues).filter((queue) => startFor.has(queue));
    if (unserved.length > 0 && startWorkers && this.shouldStartWorkers()) await this.startWorker(unserved[0] as string);
  }

  /**
   * A worker in this process (`Docket.worker`): by default it serves every queue, hands out this
   * machine's resources, and stays until stopped.
   */
  inProcess(executors: Executor[], types: string[], options: Partial<WorkerOptions>, log: Logger): Worker {
    const defaults = { queues: ['*'], exitWhenIdle: false, shutdownGraceMs: 10_000 };
    // Local resources: what this worker hands out, found now (or as configured).
    const resources = new LocalResources(detectInventory(this.config.resources));
    const settings = { ...this.config.worker, resources, ...defaults, ...options, logsDir: this.config.logsDir };
    return new Worker(this.engine, executors, types, settings, log);
  }

  /** Tells the worker running a job that its record changed (cancel, suspend), so it acts at once. */
  async notifyOwner(job: Job): Promise<void> {
    if (!job.workerId || this.engine.capabilities.pushesChanges) return;
    const owner = (await this.engine.listWorkers()).find((worker) => worker.id === job.workerId);
    if (owner?.wakeAddress && owner.host === hostname()) await poke(owner.wakeAddress, 'control');
  }

  private shouldStartWorkers(): boolean {
    return (
      this.manageWorkers &&
      this.onDemand !== null &&
      (this.config.worker.onDemand ?? this.engine.capabilities.onDemandWorkers)
    );
  }

  /** Starts one on-demand worker (it serves every queue) unless another process just did. */
  private async startWorker(queue: string): Promise<void> {
    const options = { ...this.config, workerConfig: this.onDemand?.workerConfig };
    await startWorkerOnce(this.engine, options, queue, this.isLive);
  }
}
