/**
 * A worker: claims runnable jobs, runs them through its executors under a lease it renews by
 * heartbeat, enforces time limits, records every outcome once, and shuts down gracefully.
 * It sees only the storage and executor ports, never a concrete engine.
 *
 * Hot path: claims take as many jobs as there are free slots in one transaction, and outcomes
 * finished in the same turn of the event loop are recorded together in one transaction.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { WorkerSettings } from '../config/config.js';
import { InvalidInputError } from '../core/errors.js';
import type { StopReason } from '../core/job-types.js';
import type { Job, Outcome } from '../core/words.js';
import type { ExecutionContext, Executor } from '../executors/executor.js';
import { processStartTime } from '../executors/local/processes.js';
import { jobLogDir } from '../paths.js';
import type { LocalResources } from '../resources/local-resources.js';
import type { ClaimRequest, FinishedAttempt, StorageEngine, StoreNotice } from '../storage/engine.js';
import { Housekeeping } from './housekeeping.js';
import { type LeasedAttempt, type LeaseHolder, Leases } from './leases.js';
import { type LongTimer, setLongTimeout } from './long-timer.js';
import { thisMachine } from './machine.js';
import { classifyExit } from './outcome.js';
import { reconcile } from './reconcile.js';
import { startSafely } from './start.js';
import { WakeListener, Wakeup } from './wake.js';

/** Reconcile (settle the jobs of dead workers) every this many heartbeats. */
const RECONCILE_EVERY_BEATS = 2;
/** A lease must outlast this many heartbeats, so that one slow or failed heartbeat loses nothing. */
const MIN_LEASE_BEATS = 3;
/** How long past its shutdown grace a stopping worker still retries writing outcomes. */
const GIVE_UP_MARGIN_MS = 10_000;

/** What a worker reports as it goes (the facade turns these into job events). */
export type WorkerEvent =
  | { kind: 'started'; job: Job }
  | { kind: 'progress'; job: Job; progress: number | null; message: string | null }
  | { kind: 'ended'; job: Job; outcome: Outcome; recorded: Job | null };

export interface WorkerOptions extends WorkerSettings {
  /** Queues to serve; `*` serves every queue. */
  queues: string[];
  logsDir: string;
  /** Exit after the queues stay idle for `idleExitMs` (on-demand workers). */
  exitWhenIdle: boolean;
  /** How long a shutdown waits for running jobs before stopping and releasing them. */
  shutdownGraceMs: number;
  id?: string;
  onEvent?: (event: WorkerEvent) => void;
  /** Runs before the worker registers (the facade stores its job types there). */
  prepare?: () => Promise<void>;
  /** Claim only these jobs, and advertise no queue, so no submit counts on this worker. */
  onlyJobs?: number[];
  /** Local resources: what this worker hands out (GPUs, CPUs, memory) and how. */
  resources?: LocalResources;
}

interface ActiveAttempt extends LeasedAttempt {
  timer: LongTimer | undefined;
  done: Promise<void>;
}

export class Worker {
  readonly id: string;
  readonly host = hostname();
  private readonly active = new Map<number, ActiveAttempt>();
  private readonly wakeup = new Wakeup();
  private readonly listener = new WakeListener();
  private readonly types: string[];
  private stopping = false;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private lastBusyAt = Date.now();
  private pendingFinishes: {
    item: FinishedAttempt;
    job: Job;
    resolve: (job: Job | null) => void;
    reject: (e: unknown) => void;
  }[] = [];
  /**
   * The claims and outcome writes of this worker, one after another: each one's events are out
   * before the next is sent, so a dependent's `started` never overtakes its parent's end.
   */
  private writes: Promise<unknown> = Promise.resolve();
  private finishRetryMs = 0;
  private giveUpAt = Number.POSITIVE_INFINITY;
  private stopListening: (() => Promise<void>) | undefined;
  private wakeAddress: string | null = null;
  private readonly startedAt = Date.now();
  private readonly leases: Leases;
  private readonly housekeeping: Housekeeping;
  private beats = 0;
  /** When the loop last claimed (see sleepTime). */
  private lastClaimAt = 0;

  constructor(
    private readonly engine: StorageEngine,
    private readonly executors: Executor[],
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
    this.leases = new Leases(engine, this.leaseHolder(), options, log);
    this.housekeeping = new Housekeeping(engine, options.logsDir, options.pruneAfterMs, log);
  }

  /** Runs until stopped (or, for on-demand workers, until idle); resolves when nothing is left running. */
  async run(): Promise<void> {
    try {
      // The store may be away as the worker starts (a cut connection): try again, as the loop does.
      await this.untilDone('prepare the worker', async () => this.options.prepare?.());
      this.wakeAddress = await this.listener.listen((kind) => {
        if (kind === 'control') this.leases.controlDue = true;
        this.wakeup.wake();
      });
      // A store that pushes changes (PostgreSQL) reaches workers on every machine.
      if (this.engine.capabilities.pushesChanges) {
        this.stopListening = await this.untilDone('listen for changes', async () =>
          this.engine.listen?.((notice) => this.onNotice(notice)),
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
      await this.engine
        .removeWorker(this.id)
        .catch((error) => this.log.warn({ err: error }, 'could not unregister the worker'));
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
      attempts: () => this.active.values(),
      holds: (jobId) => this.active.has(jobId),
      stop: (attempt, reason) => void this.stopAttempt(attempt as ActiveAttempt, reason),
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
    });
  }

  private onNotice(notice: StoreNotice): void {
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
    return this.active.size;
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      if (this.leases.controlDue)
        await this.leases.renew().catch((error) => this.log.warn({ err: error }, 'control check failed'));
      const free = this.options.concurrency - this.active.size;
      if (free <= 0) {
        // Every slot is busy: the next finish wakes the loop.
        await this.wakeup.wait(this.options.pollMs);
        continue;
      }
      try {
        const jobs = await this.inTurn(async () => {
          this.lastClaimAt = Date.now();
          const claimed = await this.engine.claim(this.claimRequest(free));
          for (const job of claimed) this.launch(job);
          return claimed;
        });
        if (jobs.length === free) continue; // more may be waiting: claim again without sleeping
        if (await this.retireIfIdle()) return;
        // Nothing runnable now: sleep until a submit pokes us, a job ends, or a delayed job is due.
        await this.wakeup.wait(await this.sleepTime());
      } catch (error) {
        // The store is away (a dropped connection, a locked file): the work in hand goes on; try again.
        this.log.warn({ err: error, retryInMs: this.options.pollMs }, 'could not claim jobs; retrying');
        await this.wakeup.wait(this.options.pollMs);
      }
    }
    await this.shutdown();
  }

  /** An on-demand worker whose queues have nothing for it leaves (true when it did). */
  private async retireIfIdle(): Promise<boolean> {
    if (this.active.size > 0) this.lastBusyAt = Date.now();
    if (this.active.size > 0 || !this.options.exitWhenIdle) return false;
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
    if (this.options.exitWhenIdle && this.active.size === 0) {
      ms = Math.min(ms, Math.max(0, this.lastBusyAt + this.options.idleExitMs - Date.now()));
    }
    return ms;
  }

  private launch(job: Job): void {
    const executor = this.executors.find((candidate) => candidate.runs(job.type));
    this.emit({ kind: 'started', job });
    const work = startSafely(executor, job, this.contextFor(job), this.options.resources);
    const attempt: ActiveAttempt = {
      job,
      work,
      timer: undefined,
      stoppedFor: null,
      paused: false,
      done: Promise.resolve(),
      leaseUntil: (job.startedAt ?? Date.now()) + this.options.leaseMs,
      launchedAt: Date.now(),
    };
    if (job.timeLimitSeconds != null) {
      attempt.timer = setLongTimeout(() => void this.stopAttempt(attempt, 'timeout'), job.timeLimitSeconds * 1000);
    }
    this.active.set(job.id, attempt);
    attempt.done = this.follow(attempt);
  }

  private contextFor(job: Job): ExecutionContext {
    return {
      workerId: this.id,
      logDir: jobLogDir(this.options.logsDir, job.id),
      onProgress: (progress, message) => {
        this.emit({ kind: 'progress', job, progress, message });
        // Progress is advisory: a store that cannot take it now costs a log line, never the worker.
        this.engine
          .setProgress(job.id, job.runNo, progress, message)
          .catch((error) => this.log.warn({ job: job.id, err: error }, 'could not record progress'));
      },
      heartbeat: () => this.leases.renew(),
      saveCheckpoint: (state) => this.engine.saveCheckpoint(job.id, job.runNo, state),
      parentResults: async () => {
        const results: Record<number, unknown> = {};
        for (const parent of job.dependsOn) results[parent] = (await this.engine.get(parent))?.result ?? null;
        return results;
      },
    };
  }

  /** Tells the owner of the worker; a listener that throws is logged, never the worker's end. */
  private emit(event: WorkerEvent): void {
    try {
      this.options.onEvent?.(event);
    } catch (error) {
      this.log.error({ job: event.job.id, err: error }, 'a job event listener threw');
    }
  }

  /** Stops the work; never rejects (a failure to signal is logged: the exit is still awaited). */
  private stopAttempt(attempt: ActiveAttempt, reason: StopReason): Promise<void> {
    attempt.stoppedFor ??= reason;
    return attempt.work
      .stop(this.options.graceMs, reason)
      .catch((error) => this.log.error({ job: attempt.job.id, err: error }, 'could not stop the work'));
  }

  private async follow(attempt: ActiveAttempt): Promise<void> {
    const { job, work } = attempt;
    try {
      const { pid, pidStart } = await work.started;
      // Without the pid, reconciliation cannot stop a stray tree later; the job itself goes on.
      if (pid !== null) {
        await this.engine
          .recordProcess(job.id, job.runNo, pid, pidStart)
          .catch((error) => this.log.warn({ job: job.id, err: error }, 'could not record the process of a job'));
      }
      const report = await work.exited;
      attempt.timer?.clear();
      // A handler that returned finished its work, even in the instant a stop arrived: its result
      // counts (core/states.ts) rather than being dropped and the job run again.
      const returned = report.result !== undefined && !report.error && !report.abandoned;
      if (!returned && (attempt.stoppedFor === 'shutdown' || attempt.stoppedFor === 'lost')) {
        await this.engine.release(job.id, job.runNo, `worker ${this.id} shut down; job released`);
      } else if (!returned && attempt.stoppedFor === 'suspend') {
        await this.engine.park(job.id, job.runNo);
      } else {
        const outcome = classifyExit(report, {
          timedOut: attempt.stoppedFor === 'timeout' && !returned,
          timeLimitSeconds: job.timeLimitSeconds,
        });
        await this.recordEnd({ jobId: job.id, attempt: job.runNo, outcome }, job);
      }
    } catch (error) {
      this.log.error({ job: job.id, err: error }, 'could not record the end of an attempt');
    } finally {
      this.active.delete(job.id);
      this.wakeup.wake();
    }
  }

  /**
   * Queues an outcome; all outcomes of one event-loop turn are written in one transaction, and
   * their `ended` events go out as soon as it commits, before the jobs it claimed start.
   */
  private recordEnd(item: FinishedAttempt, job: Job): Promise<Job | null> {
    return new Promise((resolve, reject) => {
      if (this.pendingFinishes.length === 0) setImmediate(() => void this.flushFinishes());
      this.pendingFinishes.push({ item, job, resolve, reject });
    });
  }

  /** Runs one of this worker's claims or outcome writes after the ones before it. */
  private inTurn<T>(write: () => Promise<T>): Promise<T> {
    const result = this.writes.then(write);
    this.writes = result.catch(() => {});
    return result;
  }

  /** Records a batch of outcomes and, in the same transaction, claims the slots they free. */
  private async flushFinishes(): Promise<void> {
    const batch = this.pendingFinishes;
    this.pendingFinishes = [];
    const freeAfter = this.stopping ? 0 : this.options.concurrency - this.active.size + batch.length;
    try {
      const { recorded } = await this.inTurn(async () => {
        const result = await this.engine.finishMany(
          batch.map((entry) => entry.item),
          freeAfter > 0 ? this.claimRequest(freeAfter) : undefined,
        );
        // Ends first, then starts: the order in which they happened.
        for (const [index, entry] of batch.entries()) {
          const job = result.recorded[index] ?? null;
          this.emit({ kind: 'ended', job: entry.job, outcome: entry.item.outcome, recorded: job });
        }
        for (const job of result.claimed) this.launch(job);
        return result;
      });
      for (const [index, entry] of batch.entries()) entry.resolve(recorded[index] ?? null);
      this.finishRetryMs = 0;
    } catch (error) {
      if (Date.now() > this.giveUpAt) {
        // Shutting down and the store is still away: the jobs stay as the store has them (running,
        // under this worker), and once this worker is gone reconciliation settles them.
        this.log.error(
          { err: error },
          'could not record outcomes before shutting down; leaving them to reconciliation',
        );
        for (const entry of batch) entry.reject(error);
        return;
      }
      // An outcome is never dropped: write it again shortly (a second write of an outcome that did
      // commit changes nothing, since only the attempt that owns the job can record one).
      this.finishRetryMs = Math.min(Math.max(this.finishRetryMs * 2, 100), 5_000);
      this.log.warn({ err: error, retryInMs: this.finishRetryMs }, 'could not record outcomes; retrying');
      setTimeout(() => {
        if (this.pendingFinishes.length === 0) setImmediate(() => void this.flushFinishes());
        this.pendingFinishes.push(...batch);
      }, this.finishRetryMs);
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
    try {
      await this.leases.renew();
      await this.housekeeping.runIfDue(() => this.stopping);
      if (++this.beats % RECONCILE_EVERY_BEATS === 0) {
        const { lost } = await reconcile(this.engine, this.options.leaseMs, this.options.graceMs);
        if (lost.length > 0) {
          this.log.warn({ lost }, 'settled the jobs of dead workers');
          this.wakeup.wake();
        }
      }
    } catch (error) {
      this.log.error({ err: error }, 'heartbeat failed');
    }
  }

  /** Lets running jobs finish within the grace period, then stops them and gives them back. */
  private async shutdown(): Promise<void> {
    if (this.active.size === 0) return;
    // Past this, outcomes that cannot be written are given up rather than retried for ever.
    this.giveUpAt = Date.now() + this.options.shutdownGraceMs + 2 * this.options.graceMs + GIVE_UP_MARGIN_MS;
    this.log.info({ running: this.active.size }, 'waiting for running jobs before stopping');
    const all = () => Promise.all([...this.active.values()].map((attempt) => attempt.done));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all(), new Promise((resolve) => (timer = setTimeout(resolve, this.options.shutdownGraceMs)))]);
    clearTimeout(timer);
    await Promise.all([...this.active.values()].map((attempt) => this.stopAttempt(attempt, 'shutdown')));
    await all();
  }
}
