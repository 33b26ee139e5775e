/**
 * The facade: the one place that picks concrete engines and executors. The CLI (and later the
 * HTTP server and dashboard) see only this class.
 */
import { rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { type ConfigInput, type DocketConfig, resolveConfig } from './config/config.js';
import { InvalidInputError, NotFoundError } from './core/errors.js';
import { normalizeSpec } from './core/spec.js';
import {
  ACTIVE_STATUSES,
  FINAL_STATUSES,
  type Job,
  type JobFilter,
  type JobSpec,
  type JobStatus,
  type JobWithAttempts,
  type StatusCounts,
} from './core/words.js';
import { LocalCommandExecutor } from './executors/local/command.js';
import { attemptTag, signalTree, stopTree } from './executors/local/processes.js';
import type { StorageEngine } from './storage/engine.js';
import { SqliteEngine } from './storage/sqlite/engine.js';
import { serves, startWorkerOnce, wakeWorkers } from './worker/on-demand.js';
import { reconcile, workerAlive } from './worker/reconcile.js';
import { Worker, type WorkerOptions } from './worker/worker.js';

export interface OpenOptions extends ConfigInput {
  /** Reconcile and start on-demand workers (the CLI's daemonless mode). Default: true. */
  manageWorkers?: boolean;
  logger?: Logger;
}

export interface WaitOptions {
  timeoutMs?: number;
  pollMs?: number;
  onUpdate?: (jobs: Job[]) => void;
}

export class Docket {
  private constructor(
    readonly config: Readonly<DocketConfig>,
    readonly engine: StorageEngine,
    private readonly manageWorkers: boolean,
    readonly log: Logger,
  ) {}

  /** Opens (and migrates) the store named by the configuration. */
  static async open(options: OpenOptions = {}): Promise<Docket> {
    const config = resolveConfig(options);
    if (/^[a-z]+:\/\//.test(config.db)) {
      throw new InvalidInputError(
        'db',
        `${config.db.split(':')[0]} databases are not supported yet; give a SQLite file path`,
      );
    }
    const engine = new SqliteEngine({ path: config.db });
    await engine.migrate();
    const log = options.logger ?? pino({ level: process.env.DOCKET_LOG_LEVEL ?? 'warn' }, pino.destination(2));
    return new Docket(config, engine, options.manageWorkers ?? true, log);
  }

  async close(): Promise<void> {
    await this.engine.close();
  }

  /** Settles jobs whose worker is gone, and starts a worker if pending jobs have none. */
  async reconcile(): Promise<void> {
    if (!this.manageWorkers) return;
    const { liveWorkers } = await reconcile(this.engine, this.config.worker.leaseMs, this.config.worker.graceMs);
    if (!this.shouldStartWorkers()) return;
    const queues = await this.engine.pendingQueues('local');
    const unserved = queues.filter((queue) => !liveWorkers.some((worker) => serves(worker, queue)));
    if (unserved.length > 0) await this.startWorker(unserved[0] as string);
  }

  private shouldStartWorkers(): boolean {
    return this.manageWorkers && this.config.worker.onDemand && this.engine.capabilities.onDemandWorkers;
  }

  // ── submit ───────────────────────────────────────────────────────────────────────────────────

  async submit(spec: JobSpec): Promise<Job> {
    const [job] = await this.submitMany([spec]);
    return job as Job;
  }

  /** Submits many jobs in one transaction: all are stored, or none. */
  async submitMany(specs: JobSpec[]): Promise<Job[]> {
    const now = Date.now();
    const results = await this.engine.submit(specs.map((spec) => normalizeSpec(spec, now)));
    const jobs = results.map((result) => result.job);
    await this.notifyWorkers(
      new Set(jobs.filter((job) => job.status === 'pending' && job.scheduler === 'local').map((j) => j.queue)),
    );
    return jobs;
  }

  /** Wakes the workers of these queues, starting one in the background if none serves them. */
  private async notifyWorkers(queues: Set<string>): Promise<void> {
    if (queues.size === 0) return;
    const leaseMs = this.config.worker.leaseMs;
    const live = (await this.engine.listWorkers()).filter((worker) => workerAlive(worker, leaseMs));
    const unserved = await wakeWorkers(live, queues);
    if (unserved.length > 0 && this.shouldStartWorkers()) await this.startWorker(unserved[0] as string);
  }

  /** Starts one on-demand worker (it serves every queue) unless another process just did. */
  private async startWorker(queue: string): Promise<void> {
    const leaseMs = this.config.worker.leaseMs;
    await startWorkerOnce(this.engine, this.config, queue, (worker) => workerAlive(worker, leaseMs));
  }

  // ── read ─────────────────────────────────────────────────────────────────────────────────────

  async get(id: number): Promise<JobWithAttempts> {
    const job = await this.engine.get(id);
    if (!job) throw new NotFoundError(`job ${id} does not exist; see docket list --all`);
    return job;
  }

  list(filter: JobFilter = {}): Promise<Job[]> {
    return this.engine.list(filter);
  }

  counts(filter: Pick<JobFilter, 'queue' | 'tenant'> = {}): Promise<StatusCounts> {
    return this.engine.counts(filter);
  }

  /** Paths of a job's log files. */
  logPaths(id: number): { stdout: string; stderr: string } {
    const dir = join(this.config.logsDir, String(id));
    return { stdout: join(dir, 'stdout'), stderr: join(dir, 'stderr') };
  }

  /** Waits until every job is in a final state (or the timeout passes); returns their last records. */
  async wait(ids: number[], options: WaitOptions = {}): Promise<{ jobs: Job[]; timedOut: boolean }> {
    const deadline = options.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.timeoutMs;
    for (;;) {
      const jobs = await Promise.all(ids.map((id) => this.get(id)));
      options.onUpdate?.(jobs);
      const done = jobs.every((job) => FINAL_STATUSES.includes(job.status));
      if (done || Date.now() >= deadline) return { jobs, timedOut: !done };
      await new Promise((resolve) => setTimeout(resolve, Math.min(options.pollMs ?? 50, deadline - Date.now())));
      await this.reconcile();
    }
  }

  // ── change ───────────────────────────────────────────────────────────────────────────────────

  /** Cancels a job; a running one has its whole process tree stopped. */
  async cancel(id: number, reason = 'cancelled by user'): Promise<Job> {
    const before = await this.get(id);
    const job = await this.engine.cancel(id, reason);
    if (before.status !== 'pending') await this.stopProcesses(before);
    return job;
  }

  async suspend(id: number): Promise<Job> {
    const before = await this.get(id);
    const job = await this.engine.suspend(id);
    if (before.status === 'running') this.signalProcesses(before, 'SIGSTOP');
    return job;
  }

  async resume(id: number): Promise<Job> {
    const job = await this.engine.resume(id);
    if (job.status === 'running') this.signalProcesses(job, 'SIGCONT');
    else await this.notifyWorkers(new Set([job.queue]));
    return job;
  }

  async requeue(id: number): Promise<Job> {
    const job = await this.engine.requeue(id);
    await this.notifyWorkers(new Set([job.queue]));
    return job;
  }

  /** Removes finished jobs and their logs; returns how many were removed. */
  async clear(options: { statuses?: JobStatus[]; endedBefore?: number; queue?: string } = {}): Promise<number> {
    const statuses = options.statuses ?? ['completed', 'cancelled'];
    const active = statuses.filter((status) => ACTIVE_STATUSES.includes(status));
    if (active.length > 0) {
      throw new InvalidInputError('status', `${active.join(', ')} jobs are still active; cancel them before clearing`);
    }
    const ids = await this.engine.clear({ statuses, endedBefore: options.endedBefore, queue: options.queue });
    for (const id of ids) rmSync(join(this.config.logsDir, String(id)), { recursive: true, force: true });
    return ids.length;
  }

  /** Drops every job record and log. */
  async resetDb(): Promise<void> {
    await this.engine.reset();
    rmSync(this.config.logsDir, { recursive: true, force: true });
  }

  // ── workers ──────────────────────────────────────────────────────────────────────────────────

  /** Creates a worker bound to this docket's store; call `run()` on it. */
  worker(options: Partial<Omit<WorkerOptions, 'logsDir'>> = {}): Worker {
    const settings = this.config.worker;
    return new Worker(
      this.engine,
      new LocalCommandExecutor(),
      {
        ...settings,
        queues: ['*'],
        exitWhenIdle: false,
        shutdownGraceMs: 10_000,
        ...options,
        logsDir: this.config.logsDir,
      },
      this.log,
    );
  }

  private async stopProcesses(job: Job): Promise<void> {
    if (job.pid === null || job.host !== hostname()) return;
    await stopTree(
      { pid: job.pid, pidStart: job.pidStart, tag: attemptTag(job.id, job.runNo, job.workerId) },
      this.config.worker.graceMs,
    );
  }

  private signalProcesses(job: Job, signal: NodeJS.Signals): void {
    if (job.pid === null || job.host !== hostname()) return;
    signalTree({ pid: job.pid, pidStart: job.pidStart, tag: attemptTag(job.id, job.runNo, job.workerId) }, signal);
  }
}
