/**
 * The facade's catalog: the job types and groups this process defines (with their handlers), the
 * ones other processes stored, and the queues' settings. A submit's specs are completed here from
 * their type's defaults and checked against its params schema; what is defined here is stored
 * before any job that needs it, so other processes can submit it too.
 */
import { type LoadedWorkerConfig, loadWorkerConfig } from './config/worker-config.js';
import { nextTick } from './core/cron.js';
import { InvalidInputError, InvalidStateError, NotFoundError } from './core/errors.js';
import { type JobGroupDefinition, type JobTypeDefinition, type StoredJobType, storedPart } from './core/job-types.js';
import { JobTypeRegistry } from './core/registry.js';
import { type NewJob, normalizeSpec } from './core/spec.js';
import { COMMAND_TYPE, FINAL_STATUSES, type JobSpec } from './core/words.js';
import type { QueueInfo, QueueSettings, StorageEngine } from './storage/engine.js';

export class Catalog {
  private readonly registry = new JobTypeRegistry();
  private storedTypes: Map<string, StoredJobType> | null = null;
  private unsaved = false;

  constructor(
    private readonly engine: StorageEngine,
    /** The worker config file of on-demand workers, whose types a submit may name before any worker stored them. */
    private readonly workerConfig: string | undefined,
    /** Submits the first job of a recurring type (its series key makes it one however many processes save). */
    private readonly seed: (spec: JobSpec) => Promise<unknown>,
    /** Wakes (or starts) the workers of these queues. */
    private readonly notify: (queues: Set<string>) => Promise<void>,
  ) {}

  /** The types defined in this process, by name (with their handlers). */
  get definitions(): ReadonlyMap<string, JobTypeDefinition> {
    return this.registry.types;
  }

  define(definition: JobTypeDefinition): void {
    this.registry.define(definition);
    this.unsaved = true;
  }

  defineGroup(group: JobGroupDefinition): void {
    this.registry.defineGroup(group);
    this.unsaved = true;
  }

  /** Stores the types and groups defined here, and seeds the first job of each recurring type. */
  async save(): Promise<void> {
    if (!this.unsaved) return;
    this.unsaved = false;
    await this.engine.saveJobGroups([...this.registry.groups.values()]);
    await this.engine.saveJobTypes([...this.registry.types.values()].map(storedPart));
    this.storedTypes = null;
    for (const type of this.registry.types.values()) {
      if (!type.cron) continue;
      const runAt = nextTick(type.cron, Date.now());
      // The series key makes this exactly one seed job however many processes define the type.
      if (runAt !== null) await this.seed({ type: type.name, key: `cron:${type.name}`, runAt });
    }
  }

  /** A worker config file's groups, types and (unless told not to) queue settings; then saves. */
  async apply(config: LoadedWorkerConfig, { queues = true } = {}): Promise<void> {
    for (const group of config.groups) this.defineGroup(group);
    for (const type of config.types) this.define(type);
    for (const queue of queues ? config.queues : []) {
      await this.setQueue(queue.name, { capacity: queue.capacity, paused: queue.paused });
    }
    await this.save();
  }

  async jobTypes(): Promise<StoredJobType[]> {
    await this.save();
    return this.engine.listJobTypes();
  }

  async jobGroups(): Promise<JobGroupDefinition[]> {
    await this.save();
    return this.engine.listJobGroups();
  }

  /** Types whose handler this process can run. */
  handlerTypes(): string[] {
    return this.registry.handlerTypes();
  }

  /** Whether a worker of this process can run jobs of the type (commands, or a defined handler). */
  canRun(type: string): boolean {
    return type === COMMAND_TYPE || this.registry.handlerTypes().includes(type);
  }

  /** Whether a type (defined here or stored by another process) is `suspendable`. */
  async isSuspendable(type: string): Promise<boolean> {
    const definition = this.registry.types.get(type) ?? (await this.storedTypeMap()).get(type);
    return definition?.suspendable === true;
  }

  /** A type only the on-demand workers' config file declares (no worker stored it yet): load it from there. */
  async loadNamedTypes(specs: JobSpec[]): Promise<void> {
    if (this.workerConfig === undefined) return;
    const stored = await this.storedTypeMap();
    const known = (type = COMMAND_TYPE) => type === COMMAND_TYPE || this.registry.types.has(type) || stored.has(type);
    if (specs.every((spec) => known(spec.type))) return;
    await this.apply(await loadWorkerConfig(this.workerConfig), { queues: false });
  }

  /**
   * The jobs these specs make: each checked against its type (params schema included) and
   * completed from its defaults. @throws InvalidInputError a bad spec or params, an unknown type.
   */
  async newJobs(specs: JobSpec[], now: number): Promise<NewJob[]> {
    const cwd = process.cwd();
    const stored = await this.storedTypeMap();
    return specs.map((spec) => normalizeSpec(spec, now, cwd, this.registry.resolve(spec, stored)));
  }

  private async storedTypeMap(): Promise<Map<string, StoredJobType>> {
    this.storedTypes ??= new Map((await this.engine.listJobTypes()).map((type) => [type.name, type]));
    return this.storedTypes;
  }

  // ── queues ─────────────────────────────────────────────────────────────────────────────────

  /** Sets a queue's capacity or pause; a queue that may run more now has its workers woken. */
  async setQueue(name: string, settings: QueueSettings): Promise<QueueInfo> {
    if (settings.capacity != null && (!Number.isInteger(settings.capacity) || settings.capacity < 1)) {
      throw new InvalidInputError('capacity', `${settings.capacity} must be a positive integer`);
    }
    const queue = await this.engine.setQueue(name, settings);
    if (settings.paused === false || settings.capacity !== undefined) await this.notify(new Set([name]));
    return queue;
  }

  /** Removes an empty queue; says what to do about the jobs in one that is not. */
  async removeQueue(name: string): Promise<void> {
    const queue = (await this.engine.listQueues()).find((candidate) => candidate.name === name);
    if (!queue) throw new NotFoundError(`queue ${name} does not exist; see docket queue list`);
    if (await this.engine.removeQueue(name)) return;
    const active = queue.counts.pending + queue.counts.running + queue.counts.suspended;
    const jobs = `${queue.counts.total} job${queue.counts.total === 1 ? '' : 's'}`;
    const clear = `docket clear --queue ${name} --status ${FINAL_STATUSES.join(',')}`;
    throw new InvalidStateError(
      active > 0
        ? `queue ${name} holds ${jobs}, ${active} active; cancel those, then ${clear}`
        : `queue ${name} holds ${jobs}; remove them first: ${clear}`,
    );
  }
}
