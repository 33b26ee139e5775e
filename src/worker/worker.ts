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
import type { StopReason } from '../core/job-types.js';
import type { Job, JobStatus, Outcome } from '../core/words.js';
import type { ExecutionContext, Executor, RunningWork } from '../executors/executor.js';
import { processStartTime } from '../executors/local/processes.js';
import { jobLogDir, removeJobLogs } from '../paths.js';
import type { LocalResources } from '../resources/local-resources.js';
import type { ClaimRequest, FinishedAttempt, StorageEngine, StoreNotice } from '../storage/engine.js';
import { classifyExit } from './outcome.js';
import { reconcile } from './reconcile.js';
import { WakeListener, Wakeup } from './wake.js';

/** Reconcile (settle the jobs of dead workers) every this many heartbeats. */
const RECONCILE_EVERY_BEATS = 2;
/** Housekeeping (pruning, VACUUM) at most this often. */
const MAINTAIN_EVERY_MS = 60_000;
/** A job this worker holds in the store but never received is released after this long. */
const ORPHAN_AFTER_MS = 60_000;
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

interface ActiveAttempt {
  job: Job;
  work: RunningWork;
  timer: NodeJS.Timeout | undefined;
  /** Why the worker stopped the work, if it did; decides what its end means. */
  stoppedFor: StopReason | null;
  /** Stopped with SIGSTOP because the job was suspended. */
  paused: boolean;
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
    resolve: (job: Job | null) => void;
    reject: (e: unknown) => void;
  }[] = [];
  private controlCheckDue = false;
  private finishRetryMs = 0;
  private giveUpAt = Number.POSITIVE_INFINITY;
  private stopListening: (() => Promise<void>) | undefined;
  /** The first heartbeat does the housekeeping at once. */
  private lastMaintainedAt = 0;
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
    this.id = options.id ?? `w-${randomBytes(6).toString('hex')}`;
    this.types = types;
  }

  /** Runs until stopped (or, for on-demand workers, until idle); resolves when nothing is left running. */
  async run(): Promise<void> {
    await this.options.prepare?.();
    const wakeAddress = await this.listener.listen((kind) => {
      if (kind === 'control') this.controlCheckDue = true;
      this.wakeup.wake();
    });
    // A store that pushes changes (PostgreSQL) reaches workers on every machine.
    this.stopListening = this.engine.capabilities.pushesChanges
      ? await this.engine.listen?.((notice) => this.onNotice(notice))
      : undefined;
    const now = Date.now();
    await this.engine.registerWorker({
      id: this.id,
      host: this.host,
      pid: process.pid,
      pidStart: processStartTime(process.pid),
      queues: this.options.onlyJobs ? [] : this.options.queues,
      concurrency: this.options.concurrency,
      wakeAddress,
      startedAt: now,
      heartbeatAt: now,
      inventory: this.options.resources?.inventory ?? null,
    });
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), this.options.heartbeatMs);
    const { queues, concurrency } = this.options;
    const resources = this.options.resources?.describe(); // local resources: what it found
    this.log.info({ worker: this.id, queues, concurrency, types: this.types, resources }, 'worker started');
    try {
      await this.loop();
    } finally {
      clearInterval(this.heartbeatTimer);
      this.listener.close();
      await this.stopListening?.();
      await this.engine.removeWorker(this.id);
      this.log.info({ worker: this.id }, 'worker stopped');
    }
  }

  private onNotice(notice: StoreNotice): void {
    if (notice.kind === 'control') {
      if (notice.workerId !== this.id) return;
      this.controlCheckDue = true;
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
      if (this.controlCheckDue) await this.checkControl();
      const free = this.options.concurrency - this.active.size;
      if (free <= 0) {
        // Every slot is busy: the next finish wakes the loop.
        await this.wakeup.wait(this.options.pollMs);
        continue;
      }
      this.lastClaimAt = Date.now();
      const jobs = await this.engine.claim(this.claimRequest(free));
      for (const job of jobs) this.launch(job);
      if (jobs.length === free) continue; // more may be waiting: claim again without sleeping
      if (this.active.size > 0) this.lastBusyAt = Date.now();
      else if (this.options.exitWhenIdle && Date.now() - this.lastBusyAt >= this.options.idleExitMs) {
        if (await this.engine.retireIfIdle(this.id, this.options.queues, this.types)) return;
        this.lastBusyAt = Date.now();
      }
      // Nothing runnable now: sleep until a submit pokes us, a job ends, or a delayed job is due.
      await this.wakeup.wait(await this.sleepTime());
    }
    await this.shutdown();
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
    if (!executor) throw new Error(`claimed job ${job.id} of type ${job.type}, which no executor runs`);
    this.options.onEvent?.({ kind: 'started', job });
    // Local resources: a job that was allocated some starts with them (env, affinity, memory limit).
    const resources = this.options.resources;
    const work = resources
      ? resources.start(job, executor, this.contextFor(job))
      : executor.start(job, this.contextFor(job));
    const attempt: ActiveAttempt = {
      job,
      work,
      timer: undefined,
      stoppedFor: null,
      paused: false,
      done: Promise.resolve(),
    };
    if (job.timeLimitSeconds != null) {
      attempt.timer = setTimeout(() => void this.stopAttempt(attempt, 'timeout'), job.timeLimitSeconds * 1000);
    }
    this.active.set(job.id, attempt);
    attempt.done = this.follow(attempt);
  }

  private contextFor(job: Job): ExecutionContext {
    return {
      workerId: this.id,
      logDir: jobLogDir(this.options.logsDir, job.id),
      onProgress: (progress, message) => {
        this.options.onEvent?.({ kind: 'progress', job, progress, message });
        void this.engine.setProgress(job.id, job.runNo, progress, message);
      },
      heartbeat: () => this.engine.heartbeat(this.id, this.options.leaseMs),
      saveCheckpoint: (state) => this.engine.saveCheckpoint(job.id, job.runNo, state),
      parentResults: async () => {
        const results: Record<number, unknown> = {};
        for (const parent of job.dependsOn) results[parent] = (await this.engine.get(parent))?.result ?? null;
        return results;
      },
    };
  }

  private stopAttempt(attempt: ActiveAttempt, reason: StopReason): Promise<void> {
    attempt.stoppedFor ??= reason;
    return attempt.work.stop(this.options.graceMs, reason);
  }

  private async follow(attempt: ActiveAttempt): Promise<void> {
    const { job, work } = attempt;
    try {
      const { pid, pidStart } = await work.started;
      if (pid !== null) await this.engine.recordProcess(job.id, job.runNo, pid, pidStart);
      const report = await work.exited;
      clearTimeout(attempt.timer);
      if (attempt.stoppedFor === 'shutdown') {
        await this.engine.release(job.id, job.runNo, `worker ${this.id} shut down; job released`);
      } else if (attempt.stoppedFor === 'suspend') {
        await this.engine.park(job.id, job.runNo);
      } else {
        const outcome = classifyExit(report, {
          timedOut: attempt.stoppedFor === 'timeout',
          timeLimitSeconds: job.timeLimitSeconds,
        });
        const recorded = await this.recordEnd({ jobId: job.id, attempt: job.runNo, outcome });
        this.options.onEvent?.({ kind: 'ended', job, outcome, recorded });
      }
    } catch (error) {
      this.log.error({ job: job.id, err: error }, 'could not record the end of an attempt');
    } finally {
      this.active.delete(job.id);
      this.wakeup.wake();
    }
  }

  /** Queues an outcome; all outcomes of one event-loop turn are written in one transaction. */
  private recordEnd(item: FinishedAttempt): Promise<Job | null> {
    return new Promise((resolve, reject) => {
      if (this.pendingFinishes.length === 0) setImmediate(() => void this.flushFinishes());
      this.pendingFinishes.push({ item, resolve, reject });
    });
  }

  /** Records a batch of outcomes and, in the same transaction, claims the slots they free. */
  private async flushFinishes(): Promise<void> {
    const batch = this.pendingFinishes;
    this.pendingFinishes = [];
    const freeAfter = this.stopping ? 0 : this.options.concurrency - this.active.size + batch.length;
    try {
      const { recorded, claimed } = await this.engine.finishMany(
        batch.map((entry) => entry.item),
        freeAfter > 0 ? this.claimRequest(freeAfter) : undefined,
      );
      for (const [index, entry] of batch.entries()) entry.resolve(recorded[index] ?? null);
      for (const job of claimed) this.launch(job);
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
   */
  private async heartbeat(): Promise<void> {
    try {
      await this.engine.heartbeat(this.id, this.options.leaseMs);
      await this.checkControl();
      await this.maintain();
      if (++this.beats % RECONCILE_EVERY_BEATS === 0) {
        const { lost, live } = await reconcile(this.engine, this.options.leaseMs, this.options.graceMs);
        if (lost.length > 0) {
          this.log.warn({ lost }, 'settled the jobs of dead workers');
          this.wakeup.wake();
        }
        await this.releaseOrphans(live);
      }
    } catch (error) {
      this.log.error({ err: error }, 'heartbeat failed');
    }
  }

  /**
   * Jobs the store says this worker runs but that it does not know: a claim that committed while
   * its answer was lost (a dropped connection). They go back to pending; the heartbeat would
   * otherwise renew their leases for ever. Only claims older than a minute count, so an answer
   * still on its way is never mistaken for a lost one.
   */
  private async releaseOrphans(live: Job[]): Promise<void> {
    const before = Date.now() - ORPHAN_AFTER_MS;
    for (const job of live) {
      if (job.workerId !== this.id || this.active.has(job.id) || (job.startedAt ?? 0) > before) continue;
      this.log.warn({ job: job.id }, 'releasing a job this worker claimed but never received');
      await this.engine.release(job.id, job.runNo, `worker ${this.id} lost its claim; job released`);
      this.wakeup.wake();
    }
  }

  /** Compares each running job with its record: cancelled or taken away → stop; suspended handler → suspend. */
  private async checkControl(): Promise<void> {
    this.controlCheckDue = false;
    for (const attempt of this.active.values()) {
      if (attempt.stoppedFor !== null) continue;
      const current = await this.engine.get(attempt.job.id);
      const owned = current !== null && current.runNo === attempt.job.runNo;
      if (!owned || !['running', 'suspended'].includes(current.status)) void this.stopAttempt(attempt, 'cancel');
      else if (current.status === 'suspended' && attempt.work.suspendsByAbort)
        void this.stopAttempt(attempt, 'suspend');
      else if (current.status === 'suspended' && !attempt.paused) {
        // Suspended from another machine: stop the processes here (SIGSTOP; again is harmless).
        attempt.paused = true;
        attempt.work.pause();
      } else if (current.status === 'running' && attempt.paused) {
        attempt.paused = false;
        attempt.work.resume();
      }
    }
  }

  /**
   * Housekeeping, about once a minute (or as often as a retention shorter than that, down to once a
   * second): deletes completed, cancelled and skipped jobs (and their logs) that ended more than
   * `pruneAfterMs` ago, then lets the store tidy up (VACUUM on PostgreSQL).
   */
  private async maintain(): Promise<void> {
    const { pruneAfterMs } = this.options;
    const now = Date.now();
    const every = pruneAfterMs === null ? MAINTAIN_EVERY_MS : Math.min(MAINTAIN_EVERY_MS, Math.max(pruneAfterMs, 1000));
    if (now - this.lastMaintainedAt < every) return;
    this.lastMaintainedAt = now;
    if (pruneAfterMs !== null) {
      const statuses: JobStatus[] = ['completed', 'cancelled', 'skipped'];
      const ids = await this.engine.clear({ statuses, endedBefore: now - pruneAfterMs });
      removeJobLogs(this.options.logsDir, ids);
      if (ids.length > 0) this.log.info({ pruned: ids.length }, 'pruned old finished jobs');
    }
    const done = (await this.engine.maintain?.()) ?? [];
    if (done.length > 0) this.log.info({ done }, 'store maintenance');
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
