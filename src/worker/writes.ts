/**
 * A worker's writes on the hot path, pipelined and applied in order. A claim takes every free
 * slot in one transaction, and outcomes finished in the same turn of the event loop are recorded
 * together, with the claim of the slots they free, in one transaction. A write does not wait for
 * the one before it to come back (jobs that end at different times have their outcomes on their
 * way together), and their results are applied — events out, claimed jobs launched — in the order
 * they were sent, so a dependent's `started` never overtakes its parent's end. Claims are not split
 * into smaller batches to make them overlap: measured, the extra statements cost more than the
 * overlap saved (README).
 */
import type { Logger } from 'pino';
import type { Job } from '../core/words.js';
import type { AttemptEndOf, ClaimRequest, QueueOperations } from '../storage/engine.js';
import type { WorkerEvent } from './options.js';

/** What the writes need of their worker. */
export interface WriteHost {
  readonly concurrency: number;
  /** Jobs running now. */
  running(): number;
  /** The worker is shutting down: it claims nothing more. */
  stopping(): boolean;
  /** The store was deleted under the worker: outcomes are given up, without a log line. */
  storeGone(): boolean;
  claimRequest(limit: number): ClaimRequest;
  emit(event: WorkerEvent): void;
  /**
   * A claim committed: reads what its jobs need before they start (local resources: what the claim
   * allocated to each). Rejects when the store cannot answer.
   */
  claimed(jobs: readonly Job[]): Promise<void>;
  /** Starts a job a write claimed (attempts.ts). */
  launch(job: Job): void;
}

interface PendingFinish {
  item: AttemptEndOf<'outcome'>;
  job: Job;
  resolve: (job: Job | null) => void;
  reject: (e: unknown) => void;
}

export class OrderedWrites {
  /** Past this time (set when shutting down), outcomes that cannot be written are given up. */
  giveUpAt = Number.POSITIVE_INFINITY;
  private pendingFinishes: PendingFinish[] = [];
  /** The claims and outcome writes sent so far, applied in the order they were sent. */
  private applied: Promise<unknown> = Promise.resolve();
  /** Slots promised to claims on their way, beyond the jobs they replace (see takeSlots). */
  private reserved = 0;
  private finishRetryMs = 0;

  constructor(
    private readonly engine: QueueOperations,
    private readonly log: Logger,
    private readonly host: WriteHost,
  ) {}

  /** Resolves once every write sent so far has been applied (a claim on its way has launched its jobs). */
  settled(): Promise<unknown> {
    return this.applied;
  }

  /**
   * How many jobs a claim sent now may take, counting the `finishing` jobs whose outcomes it
   * records (their slots are free once it commits); inOrder promises them to it. Free slots are
   * the concurrency minus running jobs minus slots promised to claims on their way, so two writes
   * in flight never claim the same slot and the store never shows more than `concurrency` jobs
   * running under this worker.
   */
  takeSlots(finishing: number): number {
    if (this.host.stopping()) return 0;
    return Math.max(0, this.host.concurrency - this.host.running() - this.reserved + finishing);
  }

  /** Claims up to `limit` jobs (from takeSlots) and launches them, after the writes sent before. */
  claim(limit: number): Promise<Job[]> {
    return this.inOrder(
      async () => this.readyToLaunch(await this.engine.claim(this.host.claimRequest(limit))),
      (claimed) => {
        for (const job of claimed) this.host.launch(job);
        return claimed;
      },
      limit,
    );
  }

  /**
   * Queues an outcome; all outcomes of one event-loop turn are written in one transaction, and
   * their `ended` events go out as soon as it commits, before the jobs it claimed start.
   */
  recordEnd(item: AttemptEndOf<'outcome'>, job: Job): Promise<Job | null> {
    return new Promise((resolve, reject) => {
      if (this.pendingFinishes.length === 0) setImmediate(() => void this.flushFinishes());
      this.pendingFinishes.push({ item, job, resolve, reject });
    });
  }

  /**
   * The jobs a committed claim took, once what they need to start has been read — or none, when
   * that read failed: they are then as jobs whose claim's answer was lost (running under this
   * worker in the store, unknown to it), and the heartbeat gives them back once the claim is a
   * minute old (leases.ts). The outcomes written with the claim stand, and are not written again.
   */
  private async readyToLaunch(jobs: Job[]): Promise<Job[]> {
    if (jobs.length === 0) return jobs;
    try {
      await this.host.claimed(jobs);
      return jobs;
    } catch (error) {
      if (!this.host.storeGone()) {
        this.log.warn({ err: error, jobs: jobs.map((job) => job.id) }, 'could not read what a claim allocated');
      }
      return [];
    }
  }

  /**
   * Sends a claim or outcome write now (it overlaps the ones on their way) and applies its result
   * after theirs. `promised` slots (from takeSlots) stay reserved until the result is applied.
   */
  private inOrder<R, T>(send: () => Promise<R>, apply: (result: R) => T, promised: number, finishing = 0): Promise<T> {
    const held = Math.max(0, promised - finishing);
    this.reserved += held;
    const sent = send();
    sent.catch(() => {}); // its failure is reported below, in order
    const result = this.applied
      .then(() => sent)
      .then(apply)
      .finally(() => {
        this.reserved -= held;
      });
    this.applied = result.catch(() => {});
    return result;
  }

  /** Records a batch of outcomes and, in the same transaction, claims the slots they free. */
  private async flushFinishes(): Promise<void> {
    const batch = this.pendingFinishes;
    this.pendingFinishes = [];
    const limit = this.takeSlots(batch.length);
    try {
      const { ended } = await this.inOrder(
        async () => {
          const result = await this.engine.endAttempts(
            batch.map((entry) => entry.item),
            limit > 0 ? this.host.claimRequest(limit) : undefined,
          );
          return { ...result, claimed: await this.readyToLaunch(result.claimed) };
        },
        (result) => {
          // Ends first, then starts: the order in which they happened.
          for (const [index, entry] of batch.entries()) {
            const job = result.ended[index] ?? null;
            this.host.emit({ kind: 'ended', job: entry.job, outcome: entry.item.outcome, recorded: job });
          }
          for (const job of result.claimed) this.host.launch(job);
          return result;
        },
        limit,
        batch.length,
      );
      for (const [index, entry] of batch.entries()) entry.resolve(ended[index] ?? null);
      this.finishRetryMs = 0;
    } catch (error) {
      if (this.host.storeGone() || Date.now() > this.giveUpAt) {
        // Shutting down and the store is still away: the jobs stay as the store has them (running,
        // under this worker), and once this worker is gone reconciliation settles them.
        if (!this.host.storeGone()) {
          this.log.error(
            { err: error },
            'could not record outcomes before shutting down; leaving them to reconciliation',
          );
        }
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
}
