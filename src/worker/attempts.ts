/**
 * The attempts a worker runs: launching a claimed job on its executor under a time limit,
 * following it to its end (recording its process, then its outcome, release or park), and
 * stopping it. The outcome itself is written by writes.ts, batched with others.
 */
import type { Logger } from 'pino';
import type { StopReason } from '../core/job-types.js';
import type { Job } from '../core/words.js';
import { type Executor, NO_PROCESS } from '../executors/executor.js';
import type { AttemptEndOf, QueueOperations } from '../storage/engine.js';
import { AttemptContext, type ContextHost, type ContextShared } from './attempt-context.js';
import type { LeasedAttempt } from './leases.js';
import { type LongTimer, setLongTimeout } from './long-timer.js';
import type { WorkerOptions } from './options.js';
import { classifyExit } from './outcome.js';
import { startSafely } from './start.js';

/** An attempt this worker runs: its lease, its time-limit timer, and the promise of its end. */
export interface ActiveAttempt extends LeasedAttempt {
  timer: LongTimer | undefined;
  done: Promise<void>;
}

/** What the attempts need of their worker. */
export interface AttemptHost extends ContextHost {
  /** Queues an attempt's outcome for the next batched write (writes.ts). */
  recordEnd(item: AttemptEndOf<'outcome'>, job: Job): Promise<Job | null>;
  /** The store was deleted under the worker: failures to write are expected, not worth a log line. */
  storeGone(): boolean;
  /** An attempt ended and its slot is free: wake the claim loop. */
  freed(): void;
}

export class Attempts {
  /** Running attempts by job id. */
  readonly active = new Map<number, ActiveAttempt>();
  private readonly shared: ContextShared;

  constructor(
    private readonly engine: QueueOperations,
    private readonly executors: Executor[],
    private readonly options: WorkerOptions,
    private readonly log: Logger,
    private readonly host: AttemptHost,
  ) {
    this.shared = { engine, log, host, logsDir: options.logsDir };
  }

  get size(): number {
    return this.active.size;
  }

  /** Starts a claimed job on the executor that runs its type and follows it to its end. */
  launch(job: Job): void {
    const executor = this.executors.find((candidate) => candidate.runs(job.type));
    this.host.emit({ kind: 'started', job });
    const work = startSafely(executor, job, new AttemptContext(this.shared, job), this.options.resources);
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
      attempt.timer = setLongTimeout(() => void this.stop(attempt, 'timeout'), job.timeLimitSeconds * 1000);
    }
    this.active.set(job.id, attempt);
    attempt.done = this.follow(attempt);
  }

  /** Stops the work; never rejects (a failure to signal is logged: the exit is still awaited). */
  stop(attempt: ActiveAttempt, reason: StopReason): Promise<void> {
    attempt.stoppedFor ??= reason;
    return attempt.work
      .stop(this.options.graceMs, reason)
      .catch((error) => this.log.error({ job: attempt.job.id, err: error }, 'could not stop the work'));
  }

  /** Resolves when every attempt running now has ended. */
  async allDone(): Promise<void> {
    await Promise.all([...this.active.values()].map((attempt) => attempt.done));
  }

  /** Stops every running attempt for `reason` (they are given back: see follow). */
  async stopAll(reason: StopReason): Promise<void> {
    await Promise.all([...this.active.values()].map((attempt) => this.stop(attempt, reason)));
  }

  private async follow(attempt: ActiveAttempt): Promise<void> {
    const { job, work } = attempt;
    try {
      // In-process work has no process to record: no turn of the event loop spent waiting for that.
      if (work.started !== NO_PROCESS) {
        const { pid, pidStart } = await work.started;
        // Without the pid, reconciliation cannot stop a stray tree later; the job itself goes on.
        if (pid !== null) {
          await this.engine
            .recordProcess(job.id, job.runNo, pid, pidStart)
            .catch((error) => this.log.warn({ job: job.id, err: error }, 'could not record the process of a job'));
        }
      }
      const report = await work.exited;
      attempt.timer?.clear();
      // A handler that returned finished its work, even in the instant a stop arrived: its result
      // counts (core/states.ts) rather than being dropped and the job run again.
      const returned = report.result !== undefined && !report.error && !report.abandoned;
      if (!returned && (attempt.stoppedFor === 'shutdown' || attempt.stoppedFor === 'lost')) {
        const reason = `worker ${this.host.workerId} shut down; job released`;
        await this.engine.endAttempts([{ how: 'release', jobId: job.id, runNo: job.runNo, reason }]);
      } else if (!returned && attempt.stoppedFor === 'suspend') {
        await this.engine.endAttempts([{ how: 'park', jobId: job.id, runNo: job.runNo }]);
      } else {
        const outcome = classifyExit(report, {
          timedOut: attempt.stoppedFor === 'timeout' && !returned,
          timeLimitSeconds: job.timeLimitSeconds,
        });
        await this.host.recordEnd({ how: 'outcome', jobId: job.id, runNo: job.runNo, outcome }, job);
      }
    } catch (error) {
      if (!this.host.storeGone()) this.log.error({ job: job.id, err: error }, 'could not record the end of an attempt');
    } finally {
      this.active.delete(job.id);
      this.host.freed();
    }
  }
}
