/**
 * A worker's leases: the heartbeat that renews them and, in the same statement, tells which jobs
 * the worker still holds — so work whose job was cancelled or taken elsewhere is stopped, suspended
 * work is paused, and work whose lease could not be renewed in time is given up (as graphile-worker
 * and Oban do) rather than run beside the worker that may own it now.
 */
import type { Logger } from 'pino';
import type { StopReason } from '../core/job-types.js';
import type { Job } from '../core/words.js';
import type { RunningWork } from '../executors/executor.js';
import type { HeldJob, StorageEngine } from '../storage/engine.js';

/** A job claimed by this worker and run under a lease, as the worker tracks it. */
export interface LeasedAttempt {
  readonly job: Job;
  readonly work: RunningWork;
  /** Why the worker stopped the work, if it did; decides what its end means. */
  stoppedFor: StopReason | null;
  /** Stopped with SIGSTOP because the job was suspended. */
  paused: boolean;
  /** Until when this worker can prove it holds the job: the lease as last renewed. */
  leaseUntil: number;
  /** When it was launched: a heartbeat sent before then cannot have seen it. */
  launchedAt: number;
}

/** What the leases need of their worker. */
export interface LeaseHolder {
  readonly id: string;
  attempts(): Iterable<LeasedAttempt>;
  holds(jobId: number): boolean;
  stop(attempt: LeasedAttempt, reason: StopReason): void;
  /** Registers the worker again (its registration vanished, e.g. by `config reset-db`). */
  register(): Promise<void>;
  /** Wakes the claim loop (a job was given back). */
  wake(): void;
}

/** A job this worker holds in the store but never received is released after this long. */
const ORPHAN_AFTER_MS = 60_000;

export class Leases {
  /** A cancel or suspend made elsewhere asks for a renewal soon (the claim loop runs it). */
  controlDue = false;
  /** The renewal in flight, if any: renewals never pile up behind a slow store. */
  private renewing: Promise<void> | null = null;

  constructor(
    private readonly engine: StorageEngine,
    private readonly holder: LeaseHolder,
    private readonly timing: { leaseMs: number; heartbeatMs: number },
    private readonly log: Logger,
  ) {}

  /** True while a renewal is on its way to the store. */
  get inFlight(): boolean {
    return this.renewing !== null;
  }

  /** One renewal (see `renewOnce`); a call while one is in flight waits for it and asks for another. */
  renew(): Promise<void> {
    if (this.renewing) {
      this.controlDue = true;
      return this.renewing;
    }
    this.controlDue = false;
    this.renewing = this.renewOnce().finally(() => {
      this.renewing = null;
    });
    return this.renewing;
  }

  /**
   * Stops (and so gives back) the work whose lease this worker can no longer prove: its renewals
   * failed for about a lease, and another worker may have taken the job. The stop leaves a
   * heartbeat's margin before the lease actually lapses.
   */
  stopUnprovable(): void {
    const now = Date.now();
    for (const attempt of this.holder.attempts()) {
      if (attempt.stoppedFor !== null || attempt.leaseUntil - this.timing.heartbeatMs > now) continue;
      this.log.warn(
        { job: attempt.job.id },
        'could not renew the lease: stopping the job, which is no longer surely ours',
      );
      this.holder.stop(attempt, 'lost');
    }
  }

  /**
   * Renews the leases and reads back, in the same statement, which jobs this worker holds: running
   * work whose job is no longer held (cancelled, taken by another worker) is stopped, suspended work
   * is paused, resumed work continued; a registration that vanished (reset-db) is made again.
   */
  private async renewOnce(): Promise<void> {
    const sentAt = Date.now();
    let held = await this.engine.heartbeat(this.holder.id, this.timing.leaseMs);
    if (held === null) {
      this.log.warn({ worker: this.holder.id }, 'the registration of this worker vanished; registering again');
      await this.holder.register();
      held = (await this.engine.heartbeat(this.holder.id, this.timing.leaseMs)) ?? [];
    }
    const byId = new Map(held.map((job) => [job.id, job]));
    for (const attempt of this.holder.attempts()) {
      if (attempt.launchedAt >= sentAt) continue; // claimed after the heartbeat was sent
      const current = byId.get(attempt.job.id);
      const owned = current !== undefined && current.runNo === attempt.job.runNo;
      if (owned) attempt.leaseUntil = sentAt + this.timing.leaseMs;
      this.applyControl(attempt, owned ? current : null);
    }
    await this.releaseOrphans(held, sentAt);
  }

  /**
   * Jobs the store says this worker holds but that it does not know: a claim that committed while
   * its answer was lost (a dropped connection). They go back to pending; the heartbeat would
   * otherwise renew their leases for ever. Only claims older than a minute count, so an answer
   * still on its way is never mistaken for a lost one.
   */
  private async releaseOrphans(held: HeldJob[], sentAt: number): Promise<void> {
    const before = sentAt - ORPHAN_AFTER_MS;
    for (const job of held) {
      if (this.holder.holds(job.id) || (job.startedAt ?? 0) > before) continue;
      this.log.warn({ job: job.id }, 'releasing a job this worker claimed but never received');
      const reason = `worker ${this.holder.id} lost its claim; job released`;
      await this.engine.endAttempts([{ how: 'release', jobId: job.id, runNo: job.runNo, reason }]);
      this.holder.wake();
    }
  }

  /** Brings running work in line with its job: not held any more → stop; suspended → suspend or pause. */
  private applyControl(attempt: LeasedAttempt, current: HeldJob | null): void {
    if (attempt.stoppedFor !== null) return;
    if (current === null) this.holder.stop(attempt, 'cancel');
    else if (current.status === 'suspended' && attempt.work.suspendsByAbort) this.holder.stop(attempt, 'suspend');
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
