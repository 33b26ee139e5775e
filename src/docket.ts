/**
 * The facade: the one place that picks concrete engines and executors. The CLI (and later the
 * HTTP server and dashboard) see only this class. Cross-cutting work — job events, waking
 * workers, starting on-demand workers — happens here once, around the storage port.
 */
import { EventEmitter } from 'node:events';
import { existsSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { type ConfigInput, type DocketConfig, resolveConfig } from './config/config.js';
import { checkHome, checkSqlitePath } from './config/locations.js';
import type { LoadedWorkerConfig } from './config/worker-config.js';
import { nextTick } from './core/cron.js';
import { InvalidInputError, NotFoundError } from './core/errors.js';
import { type JobGroupDefinition, type JobTypeDefinition, type StoredJobType, storedPart } from './core/job-types.js';
import { lazy } from './core/lazy.js';
import { JobTypeRegistry } from './core/registry.js';
import type { Inventory } from './core/resources.js';
import { canonicalKey, normalizeSpec } from './core/spec.js';
import { canMove, refuse } from './core/states.js';
import {
  ACTIVE_STATUSES,
  COMMAND_TYPE,
  DEFAULT_TENANT,
  FINAL_STATUSES,
  type Job,
  type JobFilter,
  type JobSpec,
  type JobStatus,
  type JobWithAttempts,
  type StatusCounts,
  type WorkerInfo,
} from './core/words.js';
import { HandlerExecutor } from './executors/handler/handler.js';
import { LocalCommandExecutor } from './executors/local/command.js';
import { attemptTag, signalTree, stopTree } from './executors/local/processes.js';
import { JobService } from './job-service.js';
import { jobLogDir, removeJobLogs, storeLogsDir } from './paths.js';
import { detectInventory } from './resources/inventory.js';
import { LocalResources } from './resources/local-resources.js';
import { annotatePending, attachAllocations, checkSubmittable } from './resources/view.js';
import { SlurmScheduler } from './schedulers/slurm/scheduler.js';
import type {
  QueueInfo,
  QueueSettings,
  RefreshResult,
  StorageEngine,
  StoreIdentity,
  SubmitResult,
} from './storage/engine.js';
import { isPostgresUrl } from './storage/postgres/connection.js';
import { SqliteEngine } from './storage/sqlite/engine.js';
import { serves, startWorkerOnce, wakeWorkers } from './worker/on-demand.js';
import { reconcile, workerAlive } from './worker/reconcile.js';
import { poke } from './worker/wake.js';
import { Worker, type WorkerEvent, type WorkerOptions } from './worker/worker.js';

const loadPino = lazy<typeof import('pino')>('pino');

/** Jobs `list()` returns when no limit is given. */
export const DEFAULT_PAGE_SIZE = 1000;

export interface OpenOptions extends ConfigInput {
  /** Reconcile: settle the jobs of workers that died (the CLI's daemonless mode). Default: true. */
  manageWorkers?: boolean;
  /**
   * Start a worker process in the background when a job is submitted and no live worker serves
   * its queue (the CLI does; engine and `on_demand` settings still apply). Default: false — a
   * library starts no process its program did not ask for.
   */
  onDemandWorkers?: boolean;
  /** The worker config file such an on-demand worker loads. Default: none (it runs commands only). */
  workerConfig?: string;
  logger?: Logger;
}

export interface WaitOptions {
  timeoutMs?: number;
  pollMs?: number;
  onUpdate?: (jobs: Job[]) => void;
}

/** What subscribers of `docket.on('job', …)` receive. */
export interface JobEvent {
  event:
    | 'submitted'
    | 'started'
    | 'progress'
    | 'completed'
    | 'failed'
    | 'timeout'
    | 'retrying'
    | 'cancelled'
    | 'suspended'
    | 'resumed'
    | 'requeued';
  job: Job;
}

export interface SubmitOptions {
  /** Start an on-demand worker if none serves the queue (default: as configured). */
  startWorkers?: boolean;
  /**
   * PostgreSQL only: your own `pg` client, inside a transaction you opened. The jobs are inserted
   * in that transaction, so they exist exactly when it commits (and vanish if it rolls back).
   */
  connection?: unknown;
}

export interface RefreshOptions {
  priority?: number;
  /** Seconds from now before the new jobs may start. */
  delaySeconds?: number;
  /** Remove pending jobs of the type whose key left the set. */
  removeMissing?: boolean;
  tenant?: string;
}

export class Docket extends EventEmitter<{ job: [JobEvent] }> {
  private readonly registry = new JobTypeRegistry();
  private storedTypes: Map<string, StoredJobType> | null = null;
  private slurmScheduler: SlurmScheduler | null = null;
  private lastSchedulerSync = 0;
  private releaseTimer: NodeJS.Timeout | null = null;
  private unsavedTypes = false;
  private jobService: JobService | null = null;

  private constructor(
    /** The configuration, its `logsDir` the store's own folder of job logs. */
    readonly config: Readonly<DocketConfig>,
    readonly engine: StorageEngine,
    private readonly manageWorkers: boolean,
    /** Null unless the program asked for on-demand workers (Docket.open's onDemandWorkers). */
    private readonly onDemand: { workerConfig?: string } | null,
    private logger: Logger | undefined,
    /** Where jobs that ran before logs moved into the store's folder may still have theirs. */
    private legacyLogs: { root: string; maxId: number },
  ) {
    super();
  }

  /** The logger (pino, warn level on stderr unless one was given), created when first needed. */
  get log(): Logger {
    if (!this.logger) {
      const pino = loadPino();
      this.logger = pino({ level: process.env.DOCKET_LOG_LEVEL ?? 'warn' }, pino.destination(2));
    }
    return this.logger;
  }

  /** Opens (and migrates) the store named by the configuration. */
  static async open(options: OpenOptions = {}): Promise<Docket> {
    const config = resolveConfig(options);
    checkHome(config);
    // The store reports dropped connections before the docket (and its logger) exists: late-bound.
    let warn = (message: string): void => {
      process.stderr.write(`docket: ${message}\n`);
    };
    const engine = await openEngine(config, (message) => warn(message));
    let identity: StoreIdentity;
    try {
      await engine.migrate();
      identity = await engine.identity();
    } catch (error) {
      await engine.close();
      throw error;
    }
    const onDemand = options.onDemandWorkers === true ? { workerConfig: options.workerConfig } : null;
    const storeConfig = Object.freeze({ ...config, logsDir: storeLogsDir(config.logsDir, identity.id) });
    const docket = new Docket(storeConfig, engine, options.manageWorkers ?? true, onDemand, options.logger, {
      root: config.logsDir,
      maxId: identity.legacyLogsMaxId,
    });
    warn = (message) => docket.log.warn(message);
    return docket;
  }

  /** The tenant-scoped view the HTTP API uses (tokens, events, overviews, stats). */
  get service(): JobService {
    this.jobService ??= new JobService(this);
    return this.jobService;
  }

  async close(): Promise<void> {
    if (this.releaseTimer) clearTimeout(this.releaseTimer);
    await this.engine.close();
  }

  // ── job types ────────────────────────────────────────────────────────────────────────────────

  /** Defines (or redefines) a job type; its code-free part is stored so other processes can submit it. */
  define<Params = unknown, Result = unknown>(definition: JobTypeDefinition<Params, Result>): this {
    this.registry.define(definition);
    this.unsavedTypes = true;
    return this;
  }

  defineGroup(group: JobGroupDefinition): this {
    this.registry.defineGroup(group);
    this.unsavedTypes = true;
    return this;
  }

  /** Stores the types and groups defined here, and seeds the first job of each recurring type. */
  async saveTypes(): Promise<void> {
    if (!this.unsavedTypes) return;
    this.unsavedTypes = false;
    await this.engine.saveJobGroups([...this.registry.groups.values()]);
    await this.engine.saveJobTypes([...this.registry.types.values()].map(storedPart));
    this.storedTypes = null;
    for (const type of this.registry.types.values()) {
      if (!type.cron) continue;
      const runAt = nextTick(type.cron, Date.now());
      // The series key makes this exactly one seed job however many processes define the type.
      if (runAt !== null) await this.submitResolved([{ type: type.name, key: `cron:${type.name}`, runAt }]);
    }
  }

  /** Applies a worker config file: its groups, types (with handlers) and, unless told not to, queue settings. */
  async applyConfig(config: LoadedWorkerConfig, { queues = true } = {}): Promise<void> {
    for (const group of config.groups) this.defineGroup(group);
    for (const type of config.types) this.define(type);
    for (const queue of queues ? config.queues : []) {
      await this.setQueue(queue.name, { capacity: queue.capacity, paused: queue.paused });
    }
    await this.saveTypes();
  }

  async jobTypes(): Promise<StoredJobType[]> {
    await this.saveTypes();
    return this.engine.listJobTypes();
  }

  async jobGroups(): Promise<JobGroupDefinition[]> {
    await this.saveTypes();
    return this.engine.listJobGroups();
  }

  private async storedTypeMap(): Promise<Map<string, StoredJobType>> {
    this.storedTypes ??= new Map((await this.engine.listJobTypes()).map((type) => [type.name, type]));
    return this.storedTypes;
  }

  // ── daemonless bookkeeping ───────────────────────────────────────────────────────────────────

  /**
   * Settles jobs whose worker is gone and, unless told not to (read-only commands), starts a
   * worker if pending jobs have none.
   */
  async reconcile({ startWorkers = true } = {}): Promise<void> {
    await this.syncSchedulers();
    if (!this.manageWorkers) return;
    const { liveWorkers } = await reconcile(this.engine, this.config.worker.leaseMs, this.config.worker.graceMs);
    if (!startWorkers || !this.shouldStartWorkers()) return;
    const queues = await this.engine.runnableQueues('local');
    const unserved = queues.filter((queue) => !liveWorkers.some((worker) => serves(worker, queue)));
    if (unserved.length > 0) await this.startWorker(unserved[0] as string);
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
    const leaseMs = this.config.worker.leaseMs;
    const options = { ...this.config, workerConfig: this.onDemand?.workerConfig };
    await startWorkerOnce(this.engine, options, queue, (worker) => workerAlive(worker, leaseMs));
  }

  /**
   * Wakes the workers of these queues, starting one in the background if none serves them — for
   * `startFor` only (default: all), the queues whose new jobs can run soon.
   */
  private async notifyWorkers(queues: Set<string>, startWorkers = true, startFor = queues): Promise<void> {
    if (queues.size === 0) return;
    // A store that pushes changes has told its listeners already, inside the write.
    if (this.engine.capabilities.pushesChanges && !(startWorkers && this.shouldStartWorkers())) return;
    const leaseMs = this.config.worker.leaseMs;
    const live = (await this.engine.listWorkers()).filter((worker) => workerAlive(worker, leaseMs));
    const unserved = wakeWorkers(live, queues).filter((queue) => startFor.has(queue));
    if (unserved.length > 0 && startWorkers && this.shouldStartWorkers()) await this.startWorker(unserved[0] as string);
  }

  /** Tells the worker running a job that its record changed (cancel, suspend), so it acts at once. */
  private async notifyOwner(job: Job): Promise<void> {
    if (!job.workerId || this.engine.capabilities.pushesChanges) return;
    const owner = (await this.engine.listWorkers()).find((worker) => worker.id === job.workerId);
    if (owner?.wakeAddress && owner.host === hostname()) await poke(owner.wakeAddress, 'control');
  }

  // ── submit ───────────────────────────────────────────────────────────────────────────────────

  async submit(spec: JobSpec, options: SubmitOptions = {}): Promise<Job> {
    const [job] = await this.submitMany([spec], options);
    return job as Job;
  }

  /** Submits many jobs in one transaction: all are stored, or none (a bad one refuses the batch). */
  async submitMany(specs: JobSpec[], options: SubmitOptions = {}): Promise<Job[]> {
    await this.saveTypes();
    return (await this.submitResolved(specs, options)).map((result) => result.job);
  }

  /** `submitMany` that also says, for each job, whether it was created or its key already existed. */
  async submitReporting(specs: JobSpec[], options: SubmitOptions = {}): Promise<SubmitResult[]> {
    await this.saveTypes();
    return this.submitResolved(specs, options);
  }

  /** Whether a worker of this process can run jobs of the type (commands, or a defined handler). */
  canRun(type: string): boolean {
    return type === COMMAND_TYPE || this.registry.handlerTypes().includes(type);
  }

  /** The live workers, with the queues they serve and what they have (`inventory`: GPUs, CPUs, memory). */
  async workers(): Promise<WorkerInfo[]> {
    return (await this.engine.listWorkers()).filter(this.isLive);
  }

  /** What a worker started here would hand out (found now, or as configured). */
  inventory(): Inventory {
    return detectInventory(this.config.resources);
  }

  /** True when a live worker serves the queue (one that a submit would wake). */
  async hasWorkerFor(queue: string): Promise<boolean> {
    const leaseMs = this.config.worker.leaseMs;
    return (await this.engine.listWorkers()).some((worker) => serves(worker, queue) && workerAlive(worker, leaseMs));
  }

  private async submitResolved(specs: JobSpec[], options: SubmitOptions = {}): Promise<SubmitResult[]> {
    const now = Date.now();
    const cwd = process.cwd();
    const stored = await this.storedTypeMap();
    const jobs = specs.map((spec) => normalizeSpec(spec, now, cwd, this.registry.resolve(spec, stored)));
    await checkSubmittable(this.engine, jobs, this.isLive); // local resources: refuse what no worker could fit
    const transactional = options.connection !== undefined;
    // In the caller's transaction, SLURM must not see a job before (or without) the commit: such jobs
    // are stored to be handed over by the first sync after it, not by this submit.
    if (transactional)
      for (const job of jobs) if (job.scheduler === 'slurm') job.runAt = Math.max(job.runAt, now + 1000);
    const results = await this.engine.submit(jobs, { connection: options.connection });
    if (!transactional) await this.handOver(results);
    const submitted = results.map((result) => result.job);
    if (this.listenerCount('job') > 0) {
      for (const result of results) if (result.created) this.emit('job', { event: 'submitted', job: result.job });
    }
    const waiting = submitted.filter((job) => job.status === 'pending' && job.scheduler === 'local');
    // A job blocked or delayed past an idle period starts no worker now; a CLI call once it can run does.
    const soon = now + this.config.worker.idleExitMs;
    const runnable = waiting.filter((job) => job.blockedBy === 0 && job.runAt <= soon);
    await this.notifyWorkers(
      new Set(waiting.map((job) => job.queue)),
      options.startWorkers ?? true,
      new Set(runnable.map((job) => job.queue)),
    );
    return results;
  }

  /**
   * DataJoint's refresh: one job of `type` for every key that has none (params = the key), and,
   * with `removeMissing`, no pending job for a key that left the set. One transaction.
   */
  async refresh(
    type: string,
    keys: (string | Record<string, unknown>)[],
    options: RefreshOptions = {},
  ): Promise<RefreshResult> {
    await this.saveTypes();
    const stored = await this.storedTypeMap();
    const now = Date.now();
    const runAt = options.delaySeconds ? now + options.delaySeconds * 1000 : undefined;
    const cwd = process.cwd();
    const jobs = keys.map((key) => {
      const spec: JobSpec = { type, key, params: key, priority: options.priority, runAt, tenant: options.tenant };
      return normalizeSpec(spec, now, cwd, this.registry.resolve(spec, stored));
    });
    const result = await this.engine.refresh({
      jobs,
      type,
      tenant: options.tenant ?? DEFAULT_TENANT,
      removeMissing: options.removeMissing ?? false,
    });
    if (result.added > 0) await this.notifyWorkers(new Set(jobs.map((job) => job.queue)));
    return result;
  }

  /** DataJoint's ignore: the key is skipped and never runs, whether its job exists yet or not. */
  async ignore(type: string, key: string | Record<string, unknown>, tenant?: string): Promise<Job> {
    await this.saveTypes();
    const stored = await this.storedTypeMap();
    const spec: JobSpec = { type, key, params: key, tenant };
    return this.engine.ignore(normalizeSpec(spec, Date.now(), process.cwd(), this.registry.resolve(spec, stored)));
  }

  // ── read ─────────────────────────────────────────────────────────────────────────────────────

  async get(id: number): Promise<JobWithAttempts> {
    await this.syncSchedulers(1000);
    const job = await this.engine.get(id);
    if (!job) throw new NotFoundError(`job ${id} does not exist; see docket list --all`);
    // Local resources: what each attempt held, and why a pending job waits.
    await attachAllocations(this.engine, job);
    await annotatePending(this.engine, [job], this.isLive);
    return job;
  }

  /** The job of a type with this key, or null (one indexed lookup). */
  async findByKey(type: string, key: string | Record<string, unknown>, tenant = DEFAULT_TENANT): Promise<Job | null> {
    const [job] = await this.engine.list({ type, tenant, key: canonicalKey(key), limit: 1 });
    return job ?? null;
  }

  /**
   * One page of jobs: at most `filter.limit`, by default DEFAULT_PAGE_SIZE — a store can hold
   * millions. Walk everything with `iterate`.
   */
  async list(filter: JobFilter = {}): Promise<Job[]> {
    await this.syncSchedulers(1000);
    const jobs = await this.engine.list({ ...filter, limit: filter.limit ?? DEFAULT_PAGE_SIZE });
    await annotatePending(this.engine, jobs, this.isLive); // local resources: why pending jobs wait
    return jobs;
  }

  /**
   * Every job that matches, page by page (keyset paging on the id, so memory stays at one page and
   * jobs added or removed meanwhile neither repeat nor shift the pages).
   */
  async *iterate(filter: Omit<JobFilter, 'limit' | 'offset' | 'afterId'> = {}, { pageSize = DEFAULT_PAGE_SIZE } = {}) {
    await this.syncSchedulers(1000);
    let afterId: number | undefined;
    for (;;) {
      const page = await this.engine.list({ ...filter, limit: pageSize, afterId });
      yield* page;
      if (page.length < pageSize) return;
      afterId = (page[page.length - 1] as Job).id;
    }
  }

  /** Whether a registered worker is alive (by pid on its own machine, else by heartbeat). */
  private readonly isLive = (worker: WorkerInfo): boolean => workerAlive(worker, this.config.worker.leaseMs);

  /** A count for every state, zeros included (DataJoint's progress; per type, queue or tenant). */
  counts(filter: Pick<JobFilter, 'queue' | 'tenant' | 'type'> = {}): Promise<StatusCounts> {
    return this.engine.counts(filter);
  }

  /** Paths of a job's log files (for a job older than the store's log folder, where it left them). */
  logPaths(id: number): { stdout: string; stderr: string } {
    let dir = jobLogDir(this.config.logsDir, id);
    if (id <= this.legacyLogs.maxId && !existsSync(dir)) {
      const legacy = jobLogDir(this.legacyLogs.root, id);
      if (existsSync(legacy)) dir = legacy;
    }
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

  /** Cancels a job; a running one has its whole process tree stopped (or its handler aborted). */
  async cancel(id: number, reason = 'cancelled by user'): Promise<Job> {
    const before = await this.get(id);
    if (before.scheduler === 'slurm' && canMove(before.status, 'cancelled')) await this.slurm.cancel(before);
    const job = await this.engine.cancel(id, reason);
    if (before.status !== 'pending') {
      await this.notifyOwner(before);
      await this.stopProcesses(before);
    }
    this.emit('job', { event: 'cancelled', job });
    return job;
  }

  /**
   * Suspends a job: a running command is stopped with SIGSTOP; a running handler of a suspendable
   * type is aborted (it may save a checkpoint) and resumes later as a new attempt.
   */
  async suspend(id: number): Promise<Job> {
    const before = await this.get(id);
    if (before.type !== COMMAND_TYPE && before.status === 'running' && !(await this.isSuspendable(before.type))) {
      throw refuse(
        id,
        before.status,
        'suspend',
        `job type ${before.type} is not suspendable (define it with suspendable: true)`,
      );
    }
    if (before.scheduler === 'slurm' && canMove(before.status, 'suspended')) await this.slurm.suspend(before);
    const job = await this.engine.suspend(id);
    if (before.status === 'running') {
      if (before.type === COMMAND_TYPE) this.signalProcesses(before, 'SIGSTOP');
      else await this.notifyOwner(before);
    }
    this.emit('job', { event: 'suspended', job });
    return job;
  }

  private async isSuspendable(type: string): Promise<boolean> {
    const definition = this.registry.types.get(type) ?? (await this.storedTypeMap()).get(type);
    return definition?.suspendable === true;
  }

  async resume(id: number): Promise<Job> {
    const before = await this.get(id);
    if (before.scheduler === 'slurm' && before.status === 'suspended') await this.slurm.resume(before);
    const job = await this.engine.resume(id);
    if (job.status === 'running') this.signalProcesses(job, 'SIGCONT');
    else await this.notifyWorkers(new Set([job.queue]));
    this.emit('job', { event: 'resumed', job });
    return job;
  }

  async requeue(id: number): Promise<Job> {
    const job = await this.engine.requeue(id);
    if (job.scheduler === 'slurm') await this.syncSchedulers();
    await this.notifyWorkers(new Set([job.queue]));
    this.emit('job', { event: 'requeued', job });
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
    removeJobLogs(this.config.logsDir, ids);
    return ids.length;
  }

  /** Drops every job record and log of this store (other stores sharing the home keep theirs). */
  async resetDb(): Promise<void> {
    await this.engine.reset();
    this.legacyLogs = { ...this.legacyLogs, maxId: 0 };
    rmSync(this.config.logsDir, { recursive: true, force: true });
  }

  // ── queues ───────────────────────────────────────────────────────────────────────────────────

  /** Sets a queue's capacity (the most jobs running at once across all workers; null: no limit). */
  async setQueue(name: string, settings: QueueSettings): Promise<QueueInfo> {
    if (settings.capacity != null && (!Number.isInteger(settings.capacity) || settings.capacity < 1)) {
      throw new InvalidInputError('capacity', `${settings.capacity} must be a positive integer`);
    }
    const queue = await this.engine.setQueue(name, settings);
    if (settings.paused === false || settings.capacity !== undefined) await this.notifyWorkers(new Set([name]));
    return queue;
  }

  /** A paused queue's jobs stay pending; running ones finish. */
  pauseQueue(name: string): Promise<QueueInfo> {
    return this.setQueue(name, { paused: true });
  }

  resumeQueue(name: string): Promise<QueueInfo> {
    return this.setQueue(name, { paused: false });
  }

  listQueues(): Promise<QueueInfo[]> {
    return this.engine.listQueues();
  }

  // ── workers ──────────────────────────────────────────────────────────────────────────────────

  /** Creates a worker that runs commands and this docket's handlers; call `run()` on it. */
  worker(options: Partial<Omit<WorkerOptions, 'logsDir'>> = {}): Worker {
    const executors = [new LocalCommandExecutor(), new HandlerExecutor(this.registry.types)];
    const types = [COMMAND_TYPE, ...this.registry.handlerTypes()];
    const worker = new Worker(
      this.engine,
      executors,
      types,
      {
        ...this.config.worker,
        // Local resources: what this worker hands out, found now (or as configured).
        resources: new LocalResources(detectInventory(this.config.resources)),
        queues: ['*'],
        exitWhenIdle: false,
        shutdownGraceMs: 10_000,
        onEvent: (event) => this.emitWorkerEvent(event),
        prepare: () => this.saveTypes(),
        ...options,
        logsDir: this.config.logsDir,
      },
      this.log,
    );
    return worker;
  }

  private emitWorkerEvent(event: WorkerEvent): void {
    // Only a job that others wait for can release SLURM jobs held for it.
    if (event.kind === 'ended' && event.recorded?.status === 'completed' && event.recorded.hasDependents) {
      this.releaseHeldSoon();
    }
    if (this.listenerCount('job') === 0) return;
    if (event.kind === 'started') this.emit('job', { event: 'started', job: event.job });
    else if (event.kind === 'progress') {
      this.emit('job', {
        event: 'progress',
        job: { ...event.job, progress: event.progress, progressMessage: event.message },
      });
    } else if (event.recorded) {
      const status = event.recorded.status;
      this.emit('job', {
        event: status === 'pending' ? 'retrying' : (status as JobEvent['event']),
        job: event.recorded,
      });
    }
  }

  // ── SLURM ────────────────────────────────────────────────────────────────────────────────────

  /** The SLURM scheduler, created when first needed (local-only use never touches SLURM). */
  private get slurm(): SlurmScheduler {
    this.slurmScheduler ??= new SlurmScheduler(this.engine, this.config.slurm, this.config.logsDir, (message) =>
      this.log.warn(message),
    );
    return this.slurmScheduler;
  }

  /**
   * Brings SLURM jobs up to date (one squeue and at most one sacct call), unless that was done less
   * than `maxAgeMs` ago. Costs one indexed query when no SLURM job is active.
   */
  private async syncSchedulers(maxAgeMs = 0): Promise<void> {
    const now = Date.now();
    if (now - this.lastSchedulerSync < maxAgeMs) return;
    this.lastSchedulerSync = now;
    await this.slurm.sync(now);
  }

  /** Hands just-stored SLURM jobs to SLURM; if it refuses, the whole batch is taken back. */
  private async handOver(results: SubmitResult[]): Promise<void> {
    const slurmJobs = results
      .filter((result) => result.created && result.job.scheduler === 'slurm' && result.job.status === 'pending')
      .map((result) => result.job);
    if (slurmJobs.length === 0) return;
    try {
      const records = await this.slurm.handOver(slurmJobs);
      for (const result of results) result.job = records.get(result.job.id) ?? result.job;
    } catch (error) {
      await this.engine.discard(results.filter((result) => result.created).map((result) => result.job.id));
      throw error;
    }
  }

  /** A local job completed: SLURM jobs held for it can go now (shortly, once per burst). */
  private releaseHeldSoon(): void {
    if (this.releaseTimer) return;
    this.releaseTimer = setTimeout(() => {
      this.releaseTimer = null;
      this.syncSchedulers().catch((error: Error) => this.log.warn(`SLURM sync failed: ${error.message}`));
    }, 100);
    this.releaseTimer.unref();
  }

  private async stopProcesses(job: Job): Promise<void> {
    // (On another machine, its worker stops them: the store told it.)
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

/** The engine the configuration names: a postgres:// URL, or else a SQLite file. */
async function openEngine(config: DocketConfig, warn: (message: string) => void): Promise<StorageEngine> {
  if (isPostgresUrl(config.db)) {
    const { PostgresEngine } = await import('./storage/postgres/engine.js');
    return PostgresEngine.connect({ url: config.db, schema: config.schema ?? undefined, warn });
  }
  if (/^[a-z]+:\/\//.test(config.db)) {
    throw new InvalidInputError(
      'db',
      `${config.db.split(':')[0]}: databases are not supported; use a SQLite file path or postgres://`,
    );
  }
  checkSqlitePath(config);
  return new SqliteEngine({ path: config.db });
}
