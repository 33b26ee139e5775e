/**
 * The facade's writes to jobs: submit (and refresh, ignore), cancel, suspend, resume, requeue and
 * clear. Each is one engine write plus what must follow it, once: handing SLURM jobs over, stopping
 * or pausing the job's processes (through the local executor's ProcessControl), waking or starting
 * the workers of its queue, and the job event.
 */
import { hostname } from 'node:os';
import type { Catalog } from './catalog.js';
import type { DocketConfig } from './config/config.js';
import { InvalidInputError, InvalidStateError } from './core/errors.js';
import { type NewJob, restartSpec } from './core/spec.js';
import { canMove, refuse } from './core/states.js';
import {
  ACTIVE_STATUSES,
  COMMAND_TYPE,
  DEFAULT_TENANT,
  FINAL_STATUSES,
  type Job,
  type JobSpec,
  type JobStatus,
} from './core/words.js';
import { type JobEvent, jobEventOf, type RefreshOptions, type SubmitOptions } from './docket-types.js';
import type { AttemptProcesses, ProcessControl } from './executors/executor.js';
import { getJob, type JobReader } from './job-reads.js';
import { removeJobLogs } from './paths.js';
import { checkSubmittable } from './resources/view.js';
import type { ExternalSchedulers } from './schedulers/external.js';
import type {
  CallerTransaction,
  CallerTransactions,
  RefreshResult,
  StorageEngine,
  SubmitResult,
} from './storage/engine.js';
import type { WorkerEvent } from './worker/options.js';
import type { Workforce } from './worker/workforce.js';

/** What the commands need of the facade. */
export interface CommandContext {
  engine: StorageEngine;
  config: Readonly<DocketConfig>;
  catalog: Catalog;
  schedulers: ExternalSchedulers;
  workforce: Workforce;
  /** The local executor's control of job processes on this machine. */
  processes: ProcessControl;
  /** What reads need (a command reads the job brought up to date first, as `Docket.get`). */
  reader: JobReader;
  /** Sends a job event to subscribers; `wanted` says whether there are any (events cost nothing then). */
  emit(event: JobEvent): void;
  wanted(): boolean;
}

export class JobCommands {
  constructor(private readonly context: CommandContext) {}

  /**
   * Stores jobs (after the types defined here): checked, handed to SLURM, announced, their
   * workers woken.
   */
  async submit(specs: JobSpec[], options: SubmitOptions = {}): Promise<SubmitResult[]> {
    const { engine, catalog, config, schedulers, workforce } = this.context;
    await catalog.save();
    await catalog.loadNamedTypes(specs);
    const now = Date.now();
    const jobs = await catalog.newJobs(specs, now);
    await checkSubmittable(engine, jobs, workforce.isLive); // local resources: refuse what no worker could fit
    const transaction = callerTransaction(engine, options.connection);
    const transactional = transaction !== undefined;
    // In the caller's transaction, SLURM must not see a job before (or without) the commit: such jobs
    // are stored to be handed over by the first sync after it, not by this submit.
    if (transactional)
      for (const job of jobs) if (job.scheduler === 'slurm') job.runAt = Math.max(job.runAt, now + 1000);
    const results = transaction
      ? await transaction.store.submitWithin(transaction.handle, jobs)
      : await engine.submit(jobs);
    if (!transactional) await schedulers.handOver(results);
    const submitted = results.map((result) => result.job);
    if (this.context.wanted()) {
      for (const result of results) if (result.created) this.context.emit({ event: 'submitted', job: result.job });
    }
    const waiting = submitted.filter((job) => job.status === 'pending' && job.scheduler === 'local');
    // A job blocked or delayed past an idle period starts no worker now; a CLI call once it can run does.
    const soon = now + config.worker.idleExitMs;
    const runnable = waiting.filter((job) => job.blockedBy === 0 && job.runAt <= soon);
    await workforce.notify(
      new Set(waiting.map((job) => job.queue)),
      options.startWorkers ?? true,
      new Set(runnable.map((job) => job.queue)),
    );
    return results;
  }

  /** DataJoint's refresh (see Docket.refresh). */
  async refresh(
    type: string,
    keys: (string | Record<string, unknown>)[],
    options: RefreshOptions,
  ): Promise<RefreshResult> {
    await this.context.catalog.save();
    const now = Date.now();
    const runAt = options.delaySeconds ? now + options.delaySeconds * 1000 : undefined;
    const specs = keys.map((key) => ({
      type,
      key,
      params: key,
      priority: options.priority,
      runAt,
      tenant: options.tenant,
    }));
    const jobs = await this.context.catalog.newJobs(specs, now);
    const result = await this.context.engine.refresh({
      jobs,
      type,
      tenant: options.tenant ?? DEFAULT_TENANT,
      removeMissing: options.removeMissing ?? false,
    });
    if (result.added > 0) await this.context.workforce.notify(new Set(jobs.map((job) => job.queue)));
    return result;
  }

  /** DataJoint's ignore (see Docket.ignore). */
  async ignore(type: string, key: string | Record<string, unknown>, tenant?: string): Promise<Job> {
    await this.context.catalog.save();
    const [job] = await this.context.catalog.newJobs([{ type, key, params: key, tenant }], Date.now());
    return this.context.engine.ignore(job as NewJob);
  }

  /** Submits a finished job again as a new job, `restartedFrom` naming it. */
  async restart(id: number): Promise<Job> {
    const job = await getJob(this.context.reader, id);
    if (!FINAL_STATUSES.includes(job.status)) {
      throw new InvalidStateError(`job ${id} is ${job.status}; only a finished job can be restarted`);
    }
    const [result] = await this.submit([restartSpec(job)]);
    return (result as SubmitResult).job;
  }

  async cancel(id: number, reason: string): Promise<Job> {
    const { engine, schedulers, workforce, config } = this.context;
    const before = await getJob(this.context.reader, id);
    if (before.scheduler === 'slurm' && canMove(before.status, 'cancelled')) await schedulers.slurm.cancel(before);
    const job = await engine.cancel(id, reason);
    if (before.status !== 'pending') {
      await workforce.notifyOwner(before);
      if (this.runsHere(before)) await this.context.processes.stop(before, config.worker.graceMs);
    }
    this.context.emit({ event: 'cancelled', job });
    return job;
  }

  async suspend(id: number): Promise<Job> {
    const { engine, schedulers, workforce, catalog } = this.context;
    const before = await getJob(this.context.reader, id);
    if (before.type !== COMMAND_TYPE && before.status === 'running' && !(await catalog.isSuspendable(before.type))) {
      throw refuse(
        id,
        before.status,
        'suspend',
        `job type ${before.type} is not suspendable (define it with suspendable: true)`,
      );
    }
    if (before.scheduler === 'slurm' && canMove(before.status, 'suspended')) await schedulers.slurm.suspend(before);
    const job = await engine.suspend(id);
    if (before.status === 'running') {
      if (before.type !== COMMAND_TYPE) await workforce.notifyOwner(before);
      else if (this.runsHere(before)) this.context.processes.signal(before, 'SIGSTOP');
    }
    this.context.emit({ event: 'suspended', job });
    return job;
  }

  async resume(id: number): Promise<Job> {
    const { engine, schedulers, workforce } = this.context;
    const before = await getJob(this.context.reader, id);
    if (before.scheduler === 'slurm' && before.status === 'suspended') await schedulers.slurm.resume(before);
    const job = await engine.resume(id);
    if (job.status !== 'running') await workforce.notify(new Set([job.queue]));
    else if (this.runsHere(job)) this.context.processes.signal(job, 'SIGCONT');
    this.context.emit({ event: 'resumed', job });
    return job;
  }

  async requeue(id: number): Promise<Job> {
    const job = await this.context.engine.requeue(id);
    if (job.scheduler === 'slurm') await this.context.schedulers.sync();
    await this.context.workforce.notify(new Set([job.queue]));
    this.context.emit({ event: 'requeued', job });
    return job;
  }

  /** Removes finished jobs and their logs; returns how many. */
  async clear(options: { statuses?: JobStatus[]; endedBefore?: number; queue?: string }): Promise<number> {
    const statuses = options.statuses ?? ['completed', 'cancelled'];
    const active = statuses.filter((status) => ACTIVE_STATUSES.includes(status));
    if (active.length > 0) {
      throw new InvalidInputError('status', `${active.join(', ')} jobs are still active; cancel them before clearing`);
    }
    const ids = await this.context.engine.clear({ statuses, endedBefore: options.endedBefore, queue: options.queue });
    removeJobLogs(this.context.config.logsDir, ids);
    return ids.length;
  }

  /** A worker of this process reported: SLURM jobs held for a job that completed may go; subscribers hear of it. */
  workerEvent(event: WorkerEvent): void {
    if (event.kind === 'ended') this.context.schedulers.localJobEnded(event.recorded);
    const jobEvent = this.context.wanted() ? jobEventOf(event) : null;
    if (jobEvent) this.context.emit(jobEvent);
  }

  /** A job's processes are this machine's to stop or signal (on another, its worker does: the store told it). */
  private runsHere(job: AttemptProcesses & { host: string | null }): boolean {
    return job.pid !== null && job.host === hostname();
  }
}

/**
 * The application's open transaction that a submit joins (`SubmitOptions.connection`), if it gave
 * one: refused at once when the engine joins none; the engine checks the rest (a pg client, in a
 * transaction).
 */
function callerTransaction(
  engine: StorageEngine,
  connection: unknown,
): { store: CallerTransactions; handle: CallerTransaction } | undefined {
  if (connection === undefined) return undefined;
  const store = engine.capabilities.callerTransactions;
  if (!store) {
    throw new InvalidInputError(
      'connection',
      `the ${engine.capabilities.name} engine has no outside transactions to join; leave it out`,
    );
  }
  if (typeof connection !== 'object' || connection === null) {
    throw new InvalidInputError('connection', 'must be a pg client, the one on which you called BEGIN');
  }
  return { store, handle: connection };
}
