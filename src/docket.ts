/**
 * The facade: the library's API, which the CLI and the HTTP server use too, and the one place that
 * picks concrete executors (store.ts picks the engine). Each method delegates: types, groups and
 * queues to catalog.ts, writes to job-commands.ts, reads to job-reads.ts, workers to workforce.ts.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { Catalog } from './catalog.js';
import type { DocketConfig } from './config/config.js';
import type { LoadedWorkerConfig } from './config/worker-config.js';
import type { JobGroupDefinition, JobTypeDefinition, StoredJobType } from './core/job-types.js';
import { lazy } from './core/lazy.js';
import type { Inventory } from './core/resources.js';
import {
  COMMAND_TYPE,
  type Job,
  type JobFilter,
  type JobSpec,
  type JobStatus,
  type JobWithAttempts,
  type StatusCounts,
  type WorkerInfo,
} from './core/words.js';
import type { JobEvent, OpenOptions, RefreshOptions, SubmitOptions } from './docket-types.js';
import { HandlerExecutor } from './executors/handler/handler.js';
import { LocalCommandExecutor } from './executors/local/command.js';
import { localProcesses } from './executors/local/processes.js';
import { JobCommands } from './job-commands.js';
import * as reads from './job-reads.js';
import { JobService } from './job-service.js';
import type { StoreLogs } from './paths.js';
import { detectInventory } from './resources/inventory.js';
import { ExternalSchedulers } from './schedulers/external.js';
import type { QueueInfo, QueueSettings, RefreshResult, StorageEngine, SubmitResult } from './storage/engine.js';
import { openStore } from './store.js';
import type { WorkerEvent, WorkerOptions } from './worker/options.js';
import type { Worker } from './worker/worker.js';
import { Workforce } from './worker/workforce.js';

const loadPino = lazy<typeof import('pino')>('pino');

export type { JobEvent, OpenOptions, RefreshOptions, SubmitOptions } from './docket-types.js';
export type { WaitOptions } from './job-reads.js';

/** A store of jobs. Methods throw the errors of core/errors.ts (see `@throws`), or the driver's when the store fails. */
export class Docket extends EventEmitter<{ job: [JobEvent] }> {
  private readonly catalog: Catalog;
  private readonly schedulers: ExternalSchedulers;
  private readonly workforce: Workforce;
  private readonly commands: JobCommands;
  /** What the bounded reads (job-reads.ts) need of this docket. */
  private readonly reader: reads.JobReader;
  private jobService: JobService | null = null;

  private constructor(
    /** The configuration, its `logsDir` the store's own folder of job logs. */
    readonly config: Readonly<DocketConfig>,
    readonly engine: StorageEngine,
    manageWorkers: boolean,
    /** Null unless the program asked for on-demand workers (Docket.open's onDemandWorkers). */
    onDemand: { workerConfig?: string } | null,
    private logger: Logger | undefined,
    /** The store's job logs (and where older jobs may still have theirs). */
    private readonly logs: StoreLogs,
  ) {
    super();
    this.schedulers = new ExternalSchedulers(engine, config, (message) => this.log.warn(message));
    this.workforce = new Workforce(engine, config, manageWorkers, onDemand, localProcesses);
    const seed = (spec: JobSpec) => this.commands.submit([spec]);
    this.catalog = new Catalog(engine, onDemand?.workerConfig, seed, (queues) => this.workforce.notify(queues));
    const { catalog, schedulers, workforce } = this;
    const reconcile = () => this.reconcile();
    this.reader = { engine, syncSchedulers: (age) => schedulers.sync(age), reconcile, isLive: workforce.isLive };
    const events = { emit: (event: JobEvent) => this.emit('job', event), wanted: () => this.listenerCount('job') > 0 };
    const parts = { engine, config, catalog, schedulers, workforce, reader: this.reader };
    this.commands = new JobCommands({ ...parts, processes: localProcesses, ...events });
  }

  /** The logger (pino, warn level on stderr unless one was given), created when first needed. */
  get log(): Logger {
    if (!this.logger) {
      const pino = loadPino();
      this.logger = pino({ level: process.env.DOCKET_LOG_LEVEL ?? 'warn' }, pino.destination(2));
    }
    return this.logger;
  }

  /**
   * Opens (and migrates) the store; starts no process (see `onDemandWorkers`) and loads no file.
   * @throws InvalidInputError a bad option, setting or database URL (nothing is created).
   * @throws StorageError a store whose schema is newer than this code, or a failed migration.
   */
  static async open(options: OpenOptions = {}): Promise<Docket> {
    // The store reports dropped connections before the docket (and its logger) exists: late-bound.
    let warn = (message: string): void => {
      process.stderr.write(`docket: ${message}\n`);
    };
    const { config, engine, logs } = await openStore(options, (message) => warn(message));
    const onDemand = options.onDemandWorkers === true ? { workerConfig: options.workerConfig } : null;
    const docket = new Docket(config, engine, options.manageWorkers ?? true, onDemand, options.logger, logs);
    warn = (message) => docket.log.warn(message);
    return docket;
  }

  /** The tenant-scoped view the HTTP API uses (tokens, events, overviews, stats). */
  get service(): JobService {
    this.jobService ??= new JobService(this);
    return this.jobService;
  }

  /** Closes the store's connections; the docket is unusable afterwards. */
  async close(): Promise<void> {
    this.schedulers.close();
    await this.engine.close();
  }

  /** The store's schema version (`docket db migrate` reports it). */
  schemaVersion(): Promise<number> {
    return this.engine.schemaVersion();
  }

  /** The storage engine in use: `sqlite` or `postgres`. */
  get engineName(): string {
    return this.engine.capabilities.name;
  }

  // ── job types ────────────────────────────────────────────────────────────────────────────────

  /**
   * Defines (or redefines) a job type; its code-free part is stored so other processes can submit it.
   * @throws InvalidInputError a bad name, handler, schema or cron expression.
   */
  define<Params = unknown, Result = unknown>(definition: JobTypeDefinition<Params, Result>): this {
    this.catalog.define(definition);
    return this;
  }

  /** Defines a group of job types that share one queue. @throws InvalidInputError a bad name, or no queue. */
  defineGroup(group: JobGroupDefinition): this {
    this.catalog.defineGroup(group);
    return this;
  }

  /** Stores the types and groups defined here, and seeds the first job of each recurring type. */
  saveTypes(): Promise<void> {
    return this.catalog.save();
  }

  /**
   * Applies a worker config file: its groups, types (with handlers) and, unless told not to, queue settings.
   * @throws InvalidInputError a bad type, group or queue capacity in the file.
   */
  applyConfig(config: LoadedWorkerConfig, options: { queues?: boolean } = {}): Promise<void> {
    return this.catalog.apply(config, options);
  }

  /** Every stored job type (defined here or by any other process), without handlers. */
  jobTypes(): Promise<StoredJobType[]> {
    return this.catalog.jobTypes();
  }

  /** Every stored job group. */
  jobGroups(): Promise<JobGroupDefinition[]> {
    return this.catalog.jobGroups();
  }

  // ── read ─────────────────────────────────────────────────────────────────────────────────────

  /** The job with every attempt (`executions`) and what each held. @throws NotFoundError no job has this id. */
  get(id: number): Promise<JobWithAttempts> {
    return reads.getJob(this.reader, id);
  }

  /** The job's record without its attempts: one indexed read. @throws NotFoundError no job has this id. */
  peek(id: number): Promise<Job> {
    return reads.peekJob(this.reader, id);
  }

  /** The job of a type with this key, or null (one indexed lookup). @throws InvalidInputError a bad key. */
  findByKey(type: string, key: string | Record<string, unknown>, tenant?: string): Promise<Job | null> {
    return reads.findJobByKey(this.reader, type, key, tenant);
  }

  /**
   * One page of jobs: at most `filter.limit`, by default 1,000 — a store can hold millions. Walk
   * everything with `iterate`.
   */
  list(filter: JobFilter = {}): Promise<Job[]> {
    return reads.listJobs(this.reader, filter);
  }

  /** Every match, a page per query (keyset on the id): `for await (const job of docket.iterate(filter))`. */
  iterate(filter: reads.IterateFilter = {}, options: { pageSize?: number } = {}): AsyncGenerator<Job, void, undefined> {
    return reads.iterateJobs(this.reader, filter, options);
  }

  /** A count for every state, zeros included (DataJoint's progress; per type, queue or tenant). */
  counts(filter: Pick<JobFilter, 'queue' | 'tenant' | 'type'> = {}): Promise<StatusCounts> {
    return this.engine.counts(filter);
  }

  /** Paths of a job's log files (for a job older than the store's log folder, where it left them). */
  logPaths(id: number): { stdout: string; stderr: string } {
    return this.logs.paths(id);
  }

  /**
   * Waits until every job is in a final state (or the timeout passes); returns their last records.
   * Each poll reads only the jobs still active, 500 per query.
   * @throws NotFoundError one of the ids names no job.
   */
  wait(ids: number[], options: reads.WaitOptions = {}): Promise<{ jobs: Job[]; timedOut: boolean }> {
    return reads.waitForJobs(this.reader, ids, options);
  }

  /**
   * Each of these jobs as it ends, in the order they end, until all have (or the timeout passed):
   * `for await (const job of docket.ended(ids))`.
   * @throws NotFoundError one of the ids names no job.
   */
  ended(ids: number[], options: Omit<reads.WaitOptions, 'onUpdate'> = {}): AsyncGenerator<Job, void, undefined> {
    return reads.endedJobs(this.reader, ids, options);
  }

  // ── submit and change ────────────────────────────────────────────────────────────────────────

  /**
   * Stores one job (or returns the existing one when its `key` was used before).
   * @throws InvalidInputError a bad spec, params its type's schema refuses, an unknown type, a
   * missing dependency, or resources no worker could ever give; nothing is stored.
   */
  async submit(spec: JobSpec, options: SubmitOptions = {}): Promise<Job> {
    const [job] = await this.submitMany([spec], options);
    return job as Job;
  }

  /** Submits many jobs in one transaction: all or none. @throws InvalidInputError as `submit`, for any spec. */
  async submitMany(specs: JobSpec[], options: SubmitOptions = {}): Promise<Job[]> {
    return (await this.commands.submit(specs, options)).map((result) => result.job);
  }

  /** `submitMany`, saying for each job whether it was created or its key existed. @throws as `submitMany`. */
  submitReporting(specs: JobSpec[], options: SubmitOptions = {}): Promise<SubmitResult[]> {
    return this.commands.submit(specs, options);
  }

  /** Whether a worker of this process can run jobs of the type (commands, or a defined handler). */
  canRun(type: string): boolean {
    return this.catalog.canRun(type);
  }

  /**
   * DataJoint's refresh: one job of `type` for every key that has none (params = the key), and,
   * with `removeMissing`, no pending job for a key that left the set. One transaction.
   * @throws InvalidInputError an unknown type, or a key its params schema refuses; nothing changes.
   */
  refresh(
    type: string,
    keys: (string | Record<string, unknown>)[],
    options: RefreshOptions = {},
  ): Promise<RefreshResult> {
    return this.commands.refresh(type, keys, options);
  }

  /**
   * DataJoint's ignore: the key is skipped and never runs, whether its job exists yet or not.
   * @throws InvalidInputError an unknown type or a bad key.
   * @throws InvalidStateError the key's job has ended in a state that may not become `skipped`.
   */
  ignore(type: string, key: string | Record<string, unknown>, tenant?: string): Promise<Job> {
    return this.commands.ignore(type, key, tenant);
  }

  /**
   * Submits a finished job again as a new job: the same work (command or type and params), queue,
   * priority, resources, limits and retries, with `restartedFrom` naming the original (which stays
   * as it is).
   * @throws NotFoundError no job has this id.
   * @throws InvalidStateError the job has not finished.
   */
  restart(id: number): Promise<Job> {
    return this.commands.restart(id);
  }

  /**
   * Cancels a job; a running one has its whole process tree stopped (or its handler aborted).
   * @throws NotFoundError no job has this id.
   * @throws InvalidStateError the job has ended already.
   */
  cancel(id: number, reason = 'cancelled by user'): Promise<Job> {
    return this.commands.cancel(id, reason);
  }

  /**
   * Suspends a job: a running command is stopped with SIGSTOP; a running handler of a suspendable
   * type is aborted (it may save a checkpoint) and resumes later as a new attempt.
   * @throws NotFoundError no job has this id.
   * @throws InvalidStateError the job has ended, or its handler's type is not `suspendable`.
   */
  suspend(id: number): Promise<Job> {
    return this.commands.suspend(id);
  }

  /**
   * Resumes a suspended job: a stopped command continues (SIGCONT), a handler job is pending again.
   * @throws NotFoundError no job has this id.
   * @throws InvalidStateError the job is not suspended.
   */
  resume(id: number): Promise<Job> {
    return this.commands.resume(id);
  }

  /**
   * Puts an ended job back to pending, to run again (its attempts so far are kept).
   * @throws NotFoundError no job has this id.
   * @throws InvalidStateError the job is still active, or a dependency of a skipped job has not completed.
   */
  requeue(id: number): Promise<Job> {
    return this.commands.requeue(id);
  }

  /** Removes finished jobs and their logs; returns how many. @throws InvalidInputError an active status. */
  clear(options: { statuses?: JobStatus[]; endedBefore?: number; queue?: string } = {}): Promise<number> {
    return this.commands.clear(options);
  }

  /** Drops every job record and log of this store (other stores sharing the home keep theirs). */
  async resetDb(): Promise<void> {
    await this.engine.reset();
    this.logs.removeAll();
  }

  // ── queues ───────────────────────────────────────────────────────────────────────────────────

  /**
   * Sets a queue's capacity (the most jobs running at once across all workers; null: no limit).
   * @throws InvalidInputError a capacity that is not a positive integer.
   */
  setQueue(name: string, settings: QueueSettings): Promise<QueueInfo> {
    return this.catalog.setQueue(name, settings);
  }

  /** A paused queue's jobs stay pending; running ones finish. Throws no error of its own. */
  pauseQueue(name: string): Promise<QueueInfo> {
    return this.setQueue(name, { paused: true });
  }

  /** Lets a paused queue's jobs run again. Throws no error of its own. */
  resumeQueue(name: string): Promise<QueueInfo> {
    return this.setQueue(name, { paused: false });
  }

  /** Every queue with its settings and a count of its jobs in each state. */
  listQueues(): Promise<QueueInfo[]> {
    return this.engine.listQueues();
  }

  /**
   * Removes an empty queue (its settings). NotFoundError when no queue has the name;
   * InvalidStateError when jobs are in it (finished ones too: `clear --queue` removes those).
   */
  removeQueue(name: string): Promise<void> {
    return this.catalog.removeQueue(name);
  }

  // ── workers ──────────────────────────────────────────────────────────────────────────────────

  /**
   * Settles jobs whose worker is gone and, unless told not to (read-only commands), starts a
   * worker if pending jobs have none.
   */
  async reconcile({ startWorkers = true } = {}): Promise<void> {
    await this.schedulers.sync();
    await this.workforce.reconcile(startWorkers);
  }

  /** The live workers, with the queues they serve and what they have (`inventory`: GPUs, CPUs, memory). */
  async workers(): Promise<WorkerInfo[]> {
    return this.workforce.live();
  }

  /** What a worker started here would hand out (found now, or as configured). */
  inventory(): Inventory {
    return detectInventory(this.config.resources);
  }

  /** True when a live worker serves the queue (one that a submit would wake). */
  async hasWorkerFor(queue: string): Promise<boolean> {
    return this.workforce.serving(queue);
  }

  /** Creates a worker that runs commands and this docket's handlers; call `run()` on it. */
  worker(options: Partial<Omit<WorkerOptions, 'logsDir'>> = {}): Worker {
    const executors = [new LocalCommandExecutor(), new HandlerExecutor(this.catalog.definitions)];
    const types = [COMMAND_TYPE, ...this.catalog.handlerTypes()];
    const own = { onEvent: (event: WorkerEvent) => this.commands.workerEvent(event), prepare: () => this.saveTypes() };
    return this.workforce.inProcess(executors, types, { ...own, ...options }, this.log);
  }
}
