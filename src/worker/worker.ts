/**
 * A worker: claims runnable jobs, runs them through an executor under a lease it renews by
 * heartbeat, enforces time limits, records every outcome once, and shuts down gracefully.
 * It sees only the storage and executor ports, never a concrete engine.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { WorkerSettings } from '../config/config.js';
import type { Job } from '../core/words.js';
import type { Executor, RunningWork } from '../executors/executor.js';
import { processStartTime } from '../executors/local/processes.js';
import type { StorageEngine } from '../storage/engine.js';
import { classifyExit } from './outcome.js';
import { WakeListener, Wakeup } from './wake.js';

export interface WorkerOptions extends WorkerSettings {
  /** Queues to serve; `*` serves every queue. */
  queues: string[];
  logsDir: string;
  /** Exit after the queues stay idle for `idleExitMs` (on-demand workers). */
  exitWhenIdle: boolean;
  /** How long a shutdown waits for running jobs before stopping and releasing them. */
  shutdownGraceMs: number;
  id?: string;
}

interface ActiveAttempt {
  job: Job;
  work: RunningWork;
  timer: NodeJS.Timeout | undefined;
  timedOut: boolean;
  /** Released back to pending by a shutdown: its exit records nothing. */
  released: boolean;
  done: Promise<void>;
}

export class Worker {
  readonly id: string;
  readonly host = hostname();
  private readonly active = new Map<number, ActiveAttempt>();
  private readonly wakeup = new Wakeup();
  private readonly listener = new WakeListener();
  private stopping = false;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private lastBusyAt = Date.now();

  constructor(
    private readonly engine: StorageEngine,
    private readonly executor: Executor,
    private readonly options: WorkerOptions,
    private readonly log: Logger,
  ) {
    this.id = options.id ?? `w-${randomBytes(6).toString('hex')}`;
  }

  /** Runs until stopped (or, for on-demand workers, until idle); resolves when nothing is left running. */
  async run(): Promise<void> {
    const wakeAddress = await this.listener.listen(() => this.wakeup.wake());
    const now = Date.now();
    await this.engine.registerWorker({
      id: this.id,
      host: this.host,
      pid: process.pid,
      pidStart: processStartTime(process.pid),
      queues: this.options.queues,
      concurrency: this.options.concurrency,
      wakeAddress,
      startedAt: now,
      heartbeatAt: now,
    });
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), this.options.heartbeatMs);
    this.log.info(
      { worker: this.id, queues: this.options.queues, concurrency: this.options.concurrency },
      'worker started',
    );
    try {
      await this.loop();
    } finally {
      clearInterval(this.heartbeatTimer);
      this.listener.close();
      await this.engine.removeWorker(this.id);
      this.log.info({ worker: this.id }, 'worker stopped');
    }
  }

  /** Asks the worker to stop claiming and shut down gracefully. */
  stop(): void {
    this.stopping = true;
    this.wakeup.wake();
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      const free = this.options.concurrency - this.active.size;
      if (free > 0) {
        const jobs = await this.engine.claim({
          workerId: this.id,
          host: this.host,
          pid: process.pid,
          queues: this.options.queues,
          scheduler: 'local',
          limit: free,
          leaseMs: this.options.leaseMs,
        });
        for (const job of jobs) this.launch(job);
        if (jobs.length === free) continue; // more may be waiting: claim again without sleeping
      }
      if (this.active.size > 0) this.lastBusyAt = Date.now();
      else if (this.options.exitWhenIdle && Date.now() - this.lastBusyAt >= this.options.idleExitMs) {
        if (await this.engine.retireIfIdle(this.id, this.options.queues)) return;
        this.lastBusyAt = Date.now();
      }
      await this.wakeup.wait(await this.sleepTime());
    }
    await this.shutdown();
  }

  /** How long to sleep when there is nothing to claim: until the next delayed job, a poll, or idle exit. */
  private async sleepTime(): Promise<number> {
    let ms = this.options.pollMs;
    const next = await this.engine.nextRunAt(this.options.queues, 'local');
    if (next !== null) ms = Math.min(ms, Math.max(0, next - Date.now()));
    if (this.options.exitWhenIdle && this.active.size === 0) {
      ms = Math.min(ms, Math.max(0, this.lastBusyAt + this.options.idleExitMs - Date.now()));
    }
    return ms;
  }

  private launch(job: Job): void {
    const logDir = join(this.options.logsDir, String(job.id));
    const work = this.executor.start(job, {
      workerId: this.id,
      logDir,
      onProgress: (progress, message) => void this.engine.setProgress(job.id, job.runNo, progress, message),
    });
    const attempt: ActiveAttempt = {
      job,
      work,
      timer: undefined,
      timedOut: false,
      released: false,
      done: Promise.resolve(),
    };
    if (job.timeLimitSeconds != null) {
      attempt.timer = setTimeout(() => {
        attempt.timedOut = true;
        void work.stop(this.options.graceMs);
      }, job.timeLimitSeconds * 1000);
    }
    this.active.set(job.id, attempt);
    attempt.done = this.follow(attempt);
  }

  private async follow(attempt: ActiveAttempt): Promise<void> {
    const { job, work } = attempt;
    try {
      if (work.pid !== null) await this.engine.recordProcess(job.id, job.runNo, work.pid, work.pidStart);
      const report = await work.exited;
      clearTimeout(attempt.timer);
      if (attempt.released) return;
      const outcome = classifyExit(report, { timedOut: attempt.timedOut, timeLimitSeconds: job.timeLimitSeconds });
      const recorded = await this.engine.finish(job.id, job.runNo, outcome);
      this.log.debug({ job: job.id, outcome: outcome.status, recorded: recorded !== null }, 'attempt ended');
    } catch (error) {
      this.log.error({ job: job.id, err: error }, 'could not record the end of an attempt');
    } finally {
      this.active.delete(job.id);
      this.wakeup.wake();
    }
  }

  /** Renews leases, and stops work whose job was cancelled or taken away in the meantime. */
  private async heartbeat(): Promise<void> {
    try {
      await this.engine.heartbeat(this.id, this.options.leaseMs);
      for (const attempt of this.active.values()) {
        const current = await this.engine.get(attempt.job.id);
        const owned =
          current && current.runNo === attempt.job.runNo && ['running', 'suspended'].includes(current.status);
        if (!owned && !attempt.released) void attempt.work.stop(this.options.graceMs);
      }
    } catch (error) {
      this.log.error({ err: error }, 'heartbeat failed');
    }
  }

  /** Lets running jobs finish within the grace period, then stops them and gives them back. */
  private async shutdown(): Promise<void> {
    if (this.active.size === 0) return;
    this.log.info({ running: this.active.size }, 'waiting for running jobs before stopping');
    const all = () => Promise.all([...this.active.values()].map((attempt) => attempt.done));
    await Promise.race([all(), new Promise((resolve) => setTimeout(resolve, this.options.shutdownGraceMs))]);
    const left = [...this.active.values()];
    await Promise.all(
      left.map(async (attempt) => {
        attempt.released = true;
        await attempt.work.stop(this.options.graceMs);
        await this.engine.release(attempt.job.id, attempt.job.runNo, `worker ${this.id} shut down; job released`);
        this.log.info({ job: attempt.job.id }, 'released');
      }),
    );
    await all();
  }
}
