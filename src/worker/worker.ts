/**
 * A worker: claims runnable jobs, runs them through its executors under a lease it renews by
 * heartbeat, enforces time limits, records every outcome once, and shuts down gracefully.
 * It sees only the storage and executor ports, never a concrete engine.
 *
 * This file is the claim loop and the worker's lifecycle (start, register, heartbeat, shutdown);
 * attempts.ts runs each claimed job, writes.ts sends the pipelined claims and outcome writes of
 * the hot path, options.ts says what a worker is told and reports.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { InvalidInputError } from '../core/errors.js';
import { processStartTime } from '../core/processes.js';
import type { Executor, ProcessControl } from '../executors/executor.js';
import type { ClaimRequest, StorageEngine, StoreNotice } from '../storage/engine.js';
import { type ActiveAttempt, Attempts } from './attempts.js';
import { Housekeeping } from './housekeeping.js';
import { type LeaseHolder, Leases } from './leases.js';
import { thisMachine } from './machine.js';
import type { WorkerEvent, WorkerOptions } from './options.js';
import { reconcile } from './reconcile.js';
import { WakeListener, Wakeup } from './wake.js';
import { OrderedWrites } from './writes.js';

/** Reconcile (settle the jobs of dead workers) every this many heartbeats. */
const RECONCILE_EVERY_BEATS = 2;
/** A lease must outlast this many heartbeats, so that one slow or failed heartbeat loses nothing. */
const MIN_LEASE_BEATS = 3;
/** How long past its shutdown grace a stopping worker still retries writing outcomes. */
const GIVE_UP_MARGIN_MS = 10_000;

export class Worker {
  readonly id: string;
  readonly host = hostname();
  private readonly attempts: Attempts;
  private readonly writes: OrderedWrites;
  private readonly wakeup = new Wakeup();
  private readonly listener = new WakeListener();
  private readonly types: string[];
  private stopping = false;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private lastBusyAt = Date.now();
  private stopListening: (() => Promise<void>) | undefined;
  private wakeAddress: string | null = null;
  private readonly startedAt = Date.now();
  private readonly leases: Leases;
  private readonly housekeeping: Housekeeping;
  /** How reconciliation stops the strays of dead workers: the processes of the executor that starts any. */
  private readonly processes: ProcessControl | undefined;
  private beats = 0;
  /** When the loop last claimed (see sleepTime). */
  private lastClaimAt = 0;
  /** The store was deleted or dropped under this worker (see leaveIfStoreGone). */
  private storeGone = false;

  constructor(
    private readonly engine: StorageEngine,
    executors: Executor[],
    /** Every job type some executor runs (the worker claims only these). */
    types: string[],
    private readonly options: WorkerOptions,
    private readonly log: Logger,
  ) {
    if (options.leaseMs < MIN_LEASE_BEATS * options.heartbeatMs) {
      throw new InvalidInputError(
        'lease',
        `a lease of ${options.leaseMs / 1000}s is shorter than ${MIN_LEASE_BEATS} heartbeats (${(MIN_LEASE_BEATS * options.heartbeatMs) / 1000}s): one slow heartbeat would lose every job; set DOCKET_LEASE (or leaseMs) to at least that`,
      );
    }
    this.id = options.id ?? `w-${randomBytes(6).toString('hex')}`;
    this.types = types;
    this.attempts = new Attempts(engine, executors, options, log, {
      workerId: this.id,
      emit: (event) => this.emit(event),
      recordEnd: (item, job) => this.writes.recordEnd(item, job),
      renewLeases: () => this.leases.renew(),
      storeGone: () => this.storeGone,
      freed: () => this.wakeup.wake(),
    });
    this.writes = new OrderedWrites(engine, log, {
      concurrency: options.concurrency,
      running: () => this.attempts.size,
      stopping: () => this.stopping,
      storeGone: () => this.storeGone,
      claimRequest: (limit) => this.claimRequest(limit),
      emit: (event) => this.emit(event),
      claimed: async (jobs) => this.options.resources?.claimed(engine, jobs),
      launch: (job) => this.attempts.launch(job),
    });
    this.leases = new Leases(engine, this.leaseHolder(), options, log);
    this.housekeeping = new Housekeeping(engine, options.logsDir, options.pruneAfterMs, log);
    this.processes = executors.find((executor) => executor.processes)?.processes;
  }

  /**
   * Runs until stopped (or, for on-demand workers, until idle); resolves when nothing is left running.
   * A job's failure never rejects it (it is recorded on the job); it rejects only if the store fails.
   */
  async run(): Promise<void> {
    try {
      // The store may be away as the worker starts (a cut connection): try again, as the loop does.
      await this.untilDone('prepare the worker', async () => this.options.prepare?.());
      this.wakeAddress = await this.listener.listen((kind) => {
        if (kind === 'control') this.leases.controlDue = true;
        this.wakeup.wake();
      });
      // A store that pushes changes (PostgreSQL) reaches workers on every machine.
      const notices = this.engine.capabilities.pushesChanges;
      if (notices) {
        this.stopListening = await this.untilDone('listen for changes', () =>
          notices.listen((notice) => this.onNotice(notice)),
        );
      }
      await this.untilDone('register the worker', () => this.register());
      if (this.stopping) return;
      this.heartbeatTimer = setInterval(() => void this.heartbeat(), this.options.heartbeatMs);
      const { queues, concurrency } = this.options;
      const resources = this.options.resources?.describe(); // local resources: what it found
      this.log.info({ worker: this.id, queues, concurrency, types: this.types, resources }, 'worker started');
      await this.loop();
    } finally {
      clearInterval(this.heartbeatTimer);
      this.listener.close();
      // Leaving never fails on a store that is away: the worker's lease runs out and reconciliation settles it.
      await this.stopListening?.().catch((error) => this.log.warn({ err: error }, 'could not stop listening'));
      await this.engine.removeWorker(this.id).catch((error) => {
        if (!this.storeGone) this.log.warn({ err: error }, 'could not unregister the worker');
      });
      this.log.info({ worker: this.id }, 'worker stopped');
    }
  }

  /** Runs a start-up step until it succeeds or the worker is asked to stop (undefined then). */
  private async untilDone<T>(what: string, step: () => Promise<T>): Promise<T | undefined> {
    while (!this.stopping) {
      try {
        return await step();
      } catch (error) {
        this.log.warn({ err: error, retryInMs: this.options.pollMs }, `could not ${what}; retrying`);
        await this.wakeup.wait(this.options.pollMs);
      }
    }
    return undefined;
  }

  /** What the leases see of this worker. */
  private leaseHolder(): LeaseHolder {
    return {
      id: this.id,
      attempts: () => this.attempts.active.values(),
      holds: (jobId) => this.attempts.active.has(jobId),
      stop: (attempt, reason) => void this.attempts.stop(attempt as ActiveAttempt, reason),
      register: () => this.register(),
      wake: () => this.wakeup.wake(),
    };
  }

  /** Registers (or registers again) this worker, with what it serves and where to poke it. */
  private async register(): Promise<void> {
    const now = Date.now();
    await this.engine.registerWorker({
      id: this.id,
      host: this.host,
      machine: thisMachine(),
      pid: process.pid,
      pidStart: processStartTime(process.pid),
      queues: this.options.onlyJobs ? [] : this.options.queues,
      concurrency: this.options.concurrency,
      wakeAddress: this.wakeAddress,
      startedAt: this.startedAt,
      heartbeatAt: now,
      inventory: this.options.resources?.inventory ?? null, // local resources: what it hands out
      types: this.types, // lets a pending job say that no live worker runs its type
    });
  }

  private onNotice(notice: StoreNotice): void {
    if (notice.kind === 'tokens') return;
    if (notice.kind === 'control') {
      if (notice.workerId !== this.id) return;
      this.leases.controlDue = true;
    } else if (
      notice.queue !== '*' &&
      !this.options.queues.includes('*') &&
      !this.options.queues.includes(notice.queue)
    ) {
      return;
    }
    this.wakeup.wake();
  }

  /** Asks the worker to stop claiming and shut down gracefully. */
  stop(): void {
    this.stopping = true;
    this.wakeup.wake();
  }

  /** Jobs running right now in this worker. */
  get running(): number {
    return this.attempts.size;
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      if (this.leases.controlDue)
        await this.leases.renew().catch((error) => this.log.warn({ err: error }, 'control check failed'));
      const limit = this.writes.takeSlots(0);
      if (limit <= 0) {
        // Every slot is busy or promised: the next finish wakes the loop.
        await this.wakeup.wait(this.options.pollMs);
        continue;
      }
      try {
        this.lastClaimAt = Date.now();
        const jobs = await this.writes.claim(limit);
        if (jobs.length === limit) continue; // more may be waiting: claim again without sleeping
        if (await this.retireIfIdle()) return;
        // Nothing runnable now: sleep until a submit pokes us, a job ends, or a delayed job is due.
        await this.wakeup.wait(await this.sleepTime());
      } catch (error) {
        if (await this.leaveIfStoreGone()) continue;
        // The store is away (a dropped connection, a locked file): the work in hand goes on; try again.
        this.log.warn({ err: error, retryInMs: this.options.pollMs }, 'could not claim jobs; retrying');
        await this.wakeup.wait(this.options.pollMs);
      }
    }
    await this.shutdown();
  }

  /** An on-demand worker whose queues have nothing for it leaves (true when it did). */
  private async retireIfIdle(): Promise<boolean> {
    if (this.attempts.size > 0) this.lastBusyAt = Date.now();
    if (this.attempts.size > 0 || !this.options.exitWhenIdle) return false;
    if (Date.now() - this.lastBusyAt < this.options.idleExitMs) return false;
    // Work due within another idle period keeps it; later work gets a new worker when it is due.
    const dueBefore = Date.now() + this.options.idleExitMs;
    if (await this.engine.retireIfIdle(this.id, this.options.queues, this.types, dueBefore)) return true;
    this.lastBusyAt = Date.now();
    return false;
  }

  /** How long to sleep when there is nothing to claim: until the next delayed job, a poll, or idle exit. */
  private async sleepTime(): Promise<number> {
    let ms = this.options.pollMs;
    // Jobs due at the last claim that it did not start (waiting for resources or a queue's room)
    // wait for a wake-up (a job's end, a submit), not a poll.
    const next = await this.engine.nextRunAt(this.options.queues, this.types, 'local', this.lastClaimAt);
    if (next !== null) ms = Math.min(ms, Math.max(0, next - Date.now()));
    if (this.options.exitWhenIdle && this.attempts.size === 0) {
      ms = Math.min(ms, Math.max(0, this.lastBusyAt + this.options.idleExitMs - Date.now()));
    }
    return ms;
  }

  /** Tells the owner of the worker; a listener that throws is logged, never the worker's end. */
  private emit(event: WorkerEvent): void {
    try {
      this.options.onEvent?.(event);
    } catch (error) {
      this.log.error({ job: event.job.id, err: error }, 'a job event listener threw');
    }
  }

  private claimRequest(limit: number): ClaimRequest {
    return {
      workerId: this.id,
      host: this.host,
      machine: thisMachine(),
      pid: process.pid,
      queues: this.options.queues,
      scheduler: 'local',
      types: this.types,
      onlyIds: this.options.onlyJobs,
      limit,
      leaseMs: this.options.leaseMs,
      resources: this.options.resources?.claim,
    };
  }

  /**
   * Renews leases, applies cancels and suspends made elsewhere to the work it runs, and now and then
   * settles the jobs of workers that died, so another worker reclaims them without any CLI call.
   * Work whose lease could not be renewed in time is stopped first: another worker may own it now.
   */
  private async heartbeat(): Promise<void> {
    this.leases.stopUnprovable();
    if (this.leases.inFlight) return; // the last heartbeat has not come back: never pile them up
    if (await this.leaveIfStoreGone()) return;
    try {
      await this.leases.renew();
      await this.housekeeping.runIfDue(() => this.stopping);
      if (this.processes && ++this.beats % RECONCILE_EVERY_BEATS === 0) {
        const { lost } = await reconcile(this.engine, this.options.leaseMs, this.options.graceMs, this.processes);
        if (lost.length > 0) {
          this.log.warn({ lost }, 'settled the jobs of dead workers');
          this.wakeup.wake();
        }
      }
    } catch (error) {
      this.log.error({ err: error }, 'heartbeat failed');
    }
  }

  /**
   * An on-demand worker (one that exits when idle) whose store is gone — its SQLite file deleted or
   * replaced, its PostgreSQL schema dropped — would retry for ever, or run jobs no one can see: it
   * says so once and leaves. True when it is leaving. A store out of reach is not gone (that throws).
   */
  private async leaveIfStoreGone(): Promise<boolean> {
    if (this.storeGone) return true;
    if (!this.options.exitWhenIdle || !(await this.engine.vanished().catch(() => false))) return false;
    this.storeGone = true;
    this.log.error({ worker: this.id }, 'the store is gone (its file deleted or its schema dropped); exiting');
    this.stop();
    return true;
  }

  /** Lets running jobs finish within the grace period, then stops them and gives them back. */
  private async shutdown(): Promise<void> {
    await this.writes.settled(); // a claim still on its way launches its jobs first, so they are waited for too
    if (this.attempts.size === 0) return;
    // A store that is gone takes no outcome: its jobs are stopped at once (and nothing is retried).
    const graceMs = this.storeGone ? 0 : this.options.shutdownGraceMs;
    // Past this, outcomes that cannot be written are given up rather than retried for ever.
    this.writes.giveUpAt = Date.now() + graceMs + 2 * this.options.graceMs + GIVE_UP_MARGIN_MS;
    this.log.info({ running: this.attempts.size }, 'waiting for running jobs before stopping');
    const all = () => this.attempts.allDone();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all(), new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    await this.attempts.stopAll('shutdown');
    await all();
  }
}
