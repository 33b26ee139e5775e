import type { Client, Pool, PoolClient, QueryConfig, QueryResult } from 'pg';
import { InvalidInputError, NotFoundError, StorageError } from '../../core/errors.js';
import type { JobGroupDefinition, StoredJobType } from '../../core/job-types.js';
import type { Allocation, AllocationRecord } from '../../core/resources.js';
import type { NewJob } from '../../core/spec.js';
import { refuse, refuseRequeueBehind, transition } from '../../core/states.js';
import type { FinishedSummary } from '../../core/stats.js';
import type {
  Attempt,
  Job,
  JobFilter,
  JobStatus,
  JobWithAttempts,
  Outcome,
  SchedulerName,
  StatusCounts,
  WorkerInfo,
} from '../../core/words.js';
import type {
  AllocationFilter,
  ApiToken,
  AttemptCount,
  ClaimRequest,
  ClearRequest,
  EngineCapabilities,
  FinishedAttempt,
  FinishedTimes,
  HeldJob,
  JobEventRecord,
  JobSearch,
  LostAttempt,
  NewApiToken,
  ObservedState,
  QueueInfo,
  QueueSettings,
  RefreshRequest,
  RefreshResult,
  StorageEngine,
  StoreIdentity,
  StoreNotice,
  SubmitResult,
  SuspectAttempt,
  WriteOptions,
} from '../engine.js';
import { assertNotNewer, loadMigrations, migrationsDir } from '../migrate.js';
import { applyOutcome, countsFrom, dependencyState, liveAttempt, nextOccurrence, pickWithinRoom } from '../records.js';
import {
  attemptFromRow,
  type ExecutionRow,
  type JobRow,
  jobFromRow,
  newJobRecord,
  suspectFromRow,
  type WorkerRow,
  workerFromRow,
} from '../rows.js';
import { PostgresAllocations } from './allocations.js';
import { PostgresApiStore } from './api.js';
import { PostgresCatalog } from './catalog.js';
import { type ClaimRow, claimCtes, claimResult, completionValues, type QueueLimits, SETTINGS } from './claims.js';
import {
  channelOf,
  createPool,
  numericTypes,
  type PostgresTarget,
  parseTarget,
  qualifyQuery,
  quoteIdent,
  redact,
  schemaQualifier,
} from './connection.js';
import { PostgresExternalJobs } from './external.js';
import { listenForNotices } from './notices.js';
import {
  COMPLETE_CTES,
  COMPLETE_JOBS,
  claimFilter,
  claimSet,
  DEPS_COLUMN,
  INSERT_EXECUTIONS,
  INSERT_JOBS,
  INSERT_ONE_JOB,
  insertArrays,
  insertValues,
  Params,
  prepared,
  SETTLE_JOBS,
  whereClause,
} from './sql.js';

/** Something that runs queries: the pool, a client of ours in a transaction, or the caller's client. */
export interface Queryable {
  query(config: QueryConfig | string, values?: unknown[]): Promise<QueryResult>;
}

export interface PostgresOptions {
  /** `postgres://…`, optionally with `?schema=NAME` (default `docket`). */
  url: string;
  /** Overrides the URL's schema. */
  schema?: string;
  /** Connections in the pool (default 10). */
  poolSize?: number;
  /** Where dropped connections and reconnects are reported (default: one line on stderr). */
  warn?: (message: string) => void;
}

const LIVE = "('running', 'suspended')";
/**
 * The jobs that take a slot of their queue's capacity: running ones, and suspended ones whose
 * process is only stopped (SIGSTOP) — resuming continues them in place, so they keep their slot.
 */
const HOLDS_SLOT = "(status = 'running' OR (status = 'suspended' AND pid IS NOT NULL AND worker_id IS NOT NULL))";

export class PostgresEngine implements StorageEngine {
  readonly capabilities: EngineCapabilities = {
    name: 'postgres',
    singleHost: false,
    onDemandWorkers: false,
    pushesChanges: true,
  };
  readonly schema: string;
  private readonly channel: string;
  private readonly catalog: PostgresCatalog;
  private readonly api: PostgresApiStore;
  private readonly external = new PostgresExternalJobs(this);
  private readonly allocationStore = new PostgresAllocations(this);
  private readonly listeners = new Set<Client>();
  private idSequence: string | null = null;
  private readonly qualify: (text: string) => string;

  private constructor(
    /** @internal */
    readonly pool: Pool,
    private readonly target: PostgresTarget,
    private readonly warn: (message: string) => void,
  ) {
    this.schema = target.schema;
    this.qualify = schemaQualifier(target.schema);
    this.channel = channelOf(target.schema);
    this.catalog = new PostgresCatalog(pool, (work) => this.transaction(work), this.channel);
    this.api = new PostgresApiStore(this, target.connectionString);
  }

  static async connect(options: PostgresOptions): Promise<PostgresEngine> {
    const target = parseTarget(options.url, options.schema);
    const warn = options.warn ?? ((message: string) => process.stderr.write(`docket: ${message}\n`));
    return new PostgresEngine(await createPool(target, options.poolSize ?? 10, warn), target, warn);
  }

  /** Runs `work` in a transaction on a client of the pool, or inside the caller's transaction. */
  /** @internal Runs `work` in a transaction (see external.ts). */
  async transaction<T>(work: (client: Queryable) => Promise<T>, outside?: unknown): Promise<T> {
    if (outside !== undefined) return this.inOutsideTransaction(asQueryable(outside), work);
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  /**
   * Runs `work` on the caller's connection, in the caller's transaction, which must be open: on a
   * pool or an idle client each statement would commit on its own, and the jobs would exist before
   * (or without) the caller's writes. Statements name docket's tables with their schema, so the
   * caller's search path (and tables of the same names on it) play no part and stay as they were.
   */
  private async inOutsideTransaction<T>(db: Queryable, work: (client: Queryable) => Promise<T>): Promise<T> {
    await assertInTransaction(db);
    const types = await numericTypes();
    // Unnamed statements: a named one would clash on a client shared by dockets of two schemas.
    const qualifying: Queryable = {
      query: (config, values) => {
        const query = typeof config === 'string' ? { text: config } : config;
        return db.query({ ...qualifyQuery(query, this.qualify, false), types }, values);
      },
    };
    return work(qualifying);
  }

  /** @internal */
  async rows<T>(db: Queryable, text: string, values: unknown[] = []): Promise<T[]> {
    return (await db.query(prepared(text, values))).rows as T[];
  }

  // ── schema ───────────────────────────────────────────────────────────────────────────────────

  async migrate(): Promise<{ from: number; to: number }> {
    const migrations = loadMigrations(migrationsDir(import.meta.url, 'postgres'));
    const latest = migrations.length;
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw new StorageError(
        `cannot reach PostgreSQL at ${redact(this.target.connectionString)}: ${(error as Error).message}; check the URL and that the server runs`,
      );
    }
    try {
      // A session lock: of many workers starting at once, one migrates and the others then see it done.
      await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [`docket:migrate:${this.schema}`]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(this.schema)}`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${quoteIdent(this.schema)}.docket_migrations (
        version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
      const from = await this.versionOn(client);
      assertNotNewer(from, latest, `schema ${this.schema}`);
      for (const migration of migrations.slice(from)) {
        await client.query('BEGIN');
        try {
          // Migration files name tables plainly: they are created in (and altered within) the schema.
          await client.query("SELECT set_config('search_path', $1, true)", [quoteIdent(this.schema)]);
          await client.query(migration.sql);
          await client.query('INSERT INTO docket_migrations (version, name) VALUES ($1, $2)', [
            migration.version,
            migration.name,
          ]);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK');
          throw new StorageError(`migration ${migration.name} failed: ${(error as Error).message}`);
        }
      }
      return { from, to: latest };
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [`docket:migrate:${this.schema}`]);
      client.release();
    }
  }

  private async versionOn(db: Queryable): Promise<number> {
    const { rows } = await db.query('SELECT coalesce(max(version), 0) AS version FROM docket_migrations');
    return Number(rows[0].version);
  }

  async schemaVersion(): Promise<number> {
    try {
      return await this.versionOn(this.pool);
    } catch (error) {
      if ((error as { code?: string }).code === '42P01') return 0; // no migrations table yet
      throw error;
    }
  }

  async close(): Promise<void> {
    for (const client of this.listeners) await client.end().catch(() => {});
    this.listeners.clear();
    await this.pool.end();
  }

  async reset(): Promise<void> {
    const table = (name: string) => `${quoteIdent(this.schema)}.${name}`;
    await this.transaction(async (db) => {
      await db.query(
        `TRUNCATE ${['allocations', 'executions', 'job_deps', 'jobs', 'workers'].map(table).join(', ')} RESTART IDENTITY`,
      );
      // Event ids keep growing, so a client's Last-Event-ID never points past new events.
      await db.query(`TRUNCATE ${table('job_events')}`);
      // Ids start again at 1: none of them may read logs left in the old place.
      await db.query('UPDATE docket_store SET legacy_logs_max_id = 0');
      // Event ids keep growing (no RESTART), so a client's Last-Event-ID never points past new events.
      await db.query(`TRUNCATE ${table('job_events')}`);
    });
  }

  async identity(): Promise<StoreIdentity> {
    const [row] = await this.rows<{ id: string; legacy_logs_max_id: number }>(
      this.pool,
      'SELECT id, legacy_logs_max_id FROM docket_store',
    );
    if (!row) throw new StorageError(`schema ${this.schema} has no identity; run docket db migrate`);
    return { id: row.id, legacyLogsMaxId: row.legacy_logs_max_id };
  }

  /** Drops the whole schema (tests use one schema each). */
  async dropSchema(): Promise<void> {
    await this.pool.query(`DROP SCHEMA IF EXISTS ${quoteIdent(this.schema)} CASCADE`);
  }

  // ── submit and read ──────────────────────────────────────────────────────────────────────────

  async submit(jobs: NewJob[], options: WriteOptions = {}): Promise<SubmitResult[]> {
    if (jobs.length === 0) return [];
    const now = Date.now();
    const simple = jobs.length === 1 && (jobs[0] as NewJob).dependsOn.length === 0;
    if (simple && options.connection === undefined) {
      // The common case in one statement and one round trip, no explicit transaction.
      const job = jobs[0] as NewJob;
      const state = { status: 'pending' as JobStatus, blockedBy: 0, skipReason: null };
      const { rows } = await this.pool.query(
        prepared(INSERT_ONE_JOB, [...insertValues(job, state, now), now, this.channel]),
      );
      if (rows.length === 1) return [{ job: newJobRecord(rows[0].id, job, 'pending', 0, null, now), created: true }];
      return [{ job: await this.existingByKey(this.pool, job), created: false }];
    }
    return this.transaction((db) => this.insertJobs(db, jobs, now), options.connection);
  }

  /** Inserts jobs inside a transaction: dependencies checked and locked, ids chosen, keys honoured. */
  private async insertJobs(db: Queryable, jobs: NewJob[], now: number): Promise<SubmitResult[]> {
    const parents = [...new Set(jobs.flatMap((job) => job.dependsOn))];
    // FOR SHARE: a parent cannot end between this check and our commit, so no dependent is left
    // waiting for an end it missed.
    const parentStatus = new Map(
      parents.length === 0
        ? []
        : (
            await this.rows<{ id: number; status: JobStatus }>(
              db,
              'SELECT id, status FROM jobs WHERE id = ANY($1::int8[]) ORDER BY id FOR SHARE',
              [parents],
            )
          ).map((row) => [row.id, row.status]),
    );
    const states = jobs.map((job) => dependencyState(job.dependsOn, (id) => parentStatus.get(id)));
    const ids = await this.nextIds(db, jobs.length);
    const { rows } = await db.query(
      prepared(INSERT_JOBS, [...insertArrays(jobs, states, now, ids), now, this.channel]),
    );
    const inserted = new Set(rows.map((row) => row.id as number));
    const results: SubmitResult[] = [];
    const edges: [number, number][] = [];
    for (const [index, job] of jobs.entries()) {
      const id = ids[index] as number;
      const state = states[index] as (typeof states)[number];
      if (!inserted.has(id)) {
        results.push({ job: await this.existingByKey(db, job), created: false });
        continue;
      }
      for (const parent of job.dependsOn) edges.push([id, parent]);
      results.push({
        job: newJobRecord(id, job, state.status, state.blockedBy, state.skipReason, now),
        created: true,
      });
    }
    if (edges.length > 0) {
      await db.query(
        prepared('INSERT INTO job_deps (job_id, depends_on) SELECT * FROM unnest($1::int8[], $2::int8[])', [
          edges.map((edge) => edge[0]),
          edges.map((edge) => edge[1]),
        ]),
      );
      await db.query(
        prepared('UPDATE jobs SET has_dependents = 1 WHERE id = ANY($1::int8[]) AND has_dependents = 0', [
          [...new Set(edges.map((edge) => edge[1]))],
        ]),
      );
    }
    return results;
  }

  private async nextIds(db: Queryable, count: number): Promise<number[]> {
    this.idSequence ??= (
      await this.rows<{ name: string }>(db, "SELECT pg_get_serial_sequence($1, 'id') AS name", [
        `${quoteIdent(this.schema)}.jobs`,
      ])
    )[0]?.name as string;
    const rows = await this.rows<{ id: number }>(db, 'SELECT nextval($1::regclass) AS id FROM generate_series(1, $2)', [
      this.idSequence,
      count,
    ]);
    return rows.map((row) => row.id);
  }

  private async existingByKey(db: Queryable, job: NewJob): Promise<Job> {
    const [row] = await this.rows<JobRow>(db, 'SELECT * FROM jobs WHERE tenant = $1 AND type = $2 AND key = $3', [
      job.tenant,
      job.type,
      job.key,
    ]);
    if (!row) throw new StorageError(`job with key ${job.key} vanished while it was being submitted; submit again`);
    return (await this.attachDeps(db, [row]))[0] as Job;
  }

  async get(id: number, tenant?: string): Promise<JobWithAttempts | null> {
    const [row] =
      tenant === undefined
        ? await this.rows<JobRow>(this.pool, 'SELECT * FROM jobs WHERE id = $1', [id])
        : await this.rows<JobRow>(this.pool, 'SELECT * FROM jobs WHERE id = $1 AND tenant = $2', [id, tenant]);
    if (!row) return null;
    const executions = (
      await this.rows<ExecutionRow>(this.pool, 'SELECT * FROM executions WHERE job_id = $1 ORDER BY attempt', [id])
    ).map(attemptFromRow);
    const live = liveAttempt(row, executions);
    if (live) executions.push(live);
    const job = (await this.attachDeps(this.pool, [row]))[0] as JobWithAttempts;
    job.executions = executions;
    return job;
  }

  async list(filter: JobFilter): Promise<Job[]> {
    const params = new Params();
    const where = whereClause(
      params,
      [
        ['queue', filter.queue],
        ['scheduler', filter.scheduler],
        ['tenant', filter.tenant],
        ['type', filter.type],
        ['key', filter.key],
      ],
      filter.statuses,
    );
    const order = filter.order === 'desc' ? 'DESC' : 'ASC';
    const after =
      filter.afterId === undefined
        ? ''
        : `${where ? 'AND' : 'WHERE'} id ${order === 'DESC' ? '<' : '>'} ${params.add(filter.afterId)}`;
    const limit = filter.limit === undefined ? '' : `LIMIT ${params.add(filter.limit)}`;
    const offset = `OFFSET ${params.add(filter.offset ?? 0)}`;
    const rows = await this.rows<JobRow>(
      this.pool,
      `SELECT * FROM jobs ${where} ${after} ORDER BY id ${order} ${limit} ${offset}`,
      params.values,
    );
    return this.attachDeps(this.pool, rows);
  }

  /** Adds dependencies to many jobs with one query. */
  /** @internal */
  async attachDeps(db: Queryable, rows: JobRow[]): Promise<Job[]> {
    if (rows.length === 0) return [];
    const deps = new Map<number, number[]>();
    {
      const edges = await this.rows<{ job_id: number; depends_on: number }>(
        db,
        'SELECT job_id, depends_on FROM job_deps WHERE job_id = ANY($1::int8[]) ORDER BY depends_on',
        [rows.map((row) => row.id)],
      );
      for (const edge of edges) {
        const list = deps.get(edge.job_id);
        if (list) list.push(edge.depends_on);
        else deps.set(edge.job_id, [edge.depends_on]);
      }
    }
    return rows.map((row) => jobFromRow(row, deps.get(row.id)));
  }

  async counts(filter: Pick<JobFilter, 'queue' | 'tenant' | 'type'>): Promise<StatusCounts> {
    const params = new Params();
    const where = whereClause(params, [
      ['queue', filter.queue],
      ['tenant', filter.tenant],
      ['type', filter.type],
    ]);
    const rows = await this.rows<{ status: JobStatus; n: number }>(
      this.pool,
      `SELECT status, count(*)::int AS n FROM jobs ${where} GROUP BY status`,
      params.values,
    );
    return countsFrom(rows);
  }

  async listLive(scheduler: SchedulerName): Promise<Job[]> {
    const rows = await this.rows<JobRow>(
      this.pool,
      `SELECT * FROM jobs WHERE status IN ${LIVE} AND scheduler = $1 ORDER BY id`,
      [scheduler],
    );
    return rows.map((row) => jobFromRow(row));
  }

  async listSuspect(scheduler: SchedulerName, liveWorkerIds: readonly string[]): Promise<SuspectAttempt[]> {
    const rows = await this.rows<JobRow>(
      this.pool,
      `SELECT * FROM jobs WHERE status IN ${LIVE} AND scheduler = $1 AND worker_id IS NOT NULL
       AND NOT (worker_id = ANY($2::text[])) ORDER BY id`,
      [scheduler, liveWorkerIds],
    );
    return rows.map(suspectFromRow);
  }

  async runnableQueues(scheduler: SchedulerName): Promise<string[]> {
    const rows = await this.rows<{ queue: string }>(
      this.pool,
      `SELECT DISTINCT queue FROM jobs WHERE status = 'pending' AND blocked_by = 0 AND scheduler = $1 AND run_at <= $2
       AND NOT EXISTS (SELECT 1 FROM queues WHERE queues.name = jobs.queue AND paused = 1)`,
      [scheduler, Date.now()],
    );
    return rows.map((row) => row.queue);
  }

  async nextRunAt(
    queues: readonly string[],
    types: readonly string[],
    scheduler: SchedulerName,
    after?: number,
  ): Promise<number | null> {
    const params = new Params();
    const schedulerParam = params.add(scheduler);
    const filter = claimFilter(params, { queues, types }, []);
    const later = after === undefined ? '' : `AND run_at > ${params.add(after)}`;
    const [row] = await this.rows<{ next: number | null }>(
      this.pool,
      `SELECT min(run_at) AS next FROM jobs
       WHERE status = 'pending' AND blocked_by = 0 AND scheduler = ${schedulerParam} ${filter} ${later}`,
      params.values,
    );
    return row?.next ?? null;
  }

  // ── the worker's hot path ────────────────────────────────────────────────────────────────────

  async claim(request: ClaimRequest): Promise<Job[]> {
    const { claimed, limits } = await this.claimUnlimited(this.pool, request);
    if (limits.limited.size === 0 && !limits.wanting) return claimed;
    return this.transaction((db) => this.claimLimited(db, request, limits));
  }

  /**
   * The common claim in one statement and one round trip: read the queue settings, pick, lock and
   * move to running, skipping rows other claimers hold. It claims nothing when a queue it serves has
   * a capacity (those claims need the advisory lock of claimLimited) and reports the settings.
   */
  private async claimUnlimited(db: Queryable, request: ClaimRequest): Promise<{ claimed: Job[]; limits: QueueLimits }> {
    const params = new Params();
    const ctes = claimCtes(params, request);
    const rows = await this.rows<ClaimRow>(
      db,
      `WITH ${ctes}
       SELECT claimed.*, settings.limits, settings.wanting
       FROM ${SETTINGS} LEFT JOIN claimed ON true`,
      params.values,
    );
    return claimResult(rows, request);
  }

  /**
   * The worker's hot path in one statement, one round trip and one commit: a batch of completions
   * (COMPLETE_CTES) and the claim of the slots they free. Returns the completed rows and the claim.
   */
  private async completeAndClaim(
    completions: FinishedAttempt[],
    request: ClaimRequest,
  ): Promise<{ done: JobRow[]; claimed: Job[]; limits: QueueLimits }> {
    const now = Date.now();
    const params = new Params();
    for (const value of completionValues(completions, now)) params.add(value);
    const ctes = claimCtes(params, request);
    const rows = await this.rows<ClaimRow & { kind: 'done' | 'claimed' }>(
      this.pool,
      `WITH ${COMPLETE_CTES}, ${ctes}
       SELECT 'claimed' AS kind, claimed.*, settings.limits, settings.wanting
       FROM ${SETTINGS} LEFT JOIN claimed ON true
       UNION ALL
       SELECT 'done', done.*, NULL::int8[], NULL::json, NULL::boolean FROM done`,
      params.values,
    );
    const { claimed, limits } = claimResult(
      rows.filter((row) => row.kind === 'claimed'),
      request,
    );
    return { done: rows.filter((row) => row.kind === 'done'), claimed, limits };
  }

  /**
   * Claims when some queues have a capacity: their advisory locks serialize the claimers of those
   * queues (on every machine), the running count is read under the lock, and candidates beyond a
   * queue's room are left for later rounds or other queues.
   */
  private async claimLimited(db: Queryable, request: ClaimRequest, limits: QueueLimits): Promise<Job[]> {
    const names = [...limits.limited.keys()].sort(); // one lock order everywhere: no deadlocks
    await db.query(
      prepared('SELECT pg_advisory_xact_lock(hashtextextended($1 || q, 0)) FROM unnest($2::text[]) AS q', [
        `docket:queue:${this.schema}:`,
        names,
      ]),
    );
    const running = await this.rows<{ queue: string; n: number }>(
      db,
      `SELECT queue, count(*)::int AS n FROM jobs WHERE ${HOLDS_SLOT} AND queue = ANY($1::text[]) GROUP BY queue`,
      [names],
    );
    const room = new Map(names.map((name) => [name, limits.limited.get(name) as number]));
    for (const row of running) room.set(row.queue, (room.get(row.queue) ?? 0) - row.n);
    const closed = new Set(limits.closed);
    for (const [name, left] of room) if (left <= 0) closed.add(name);
    const now = request.now ?? Date.now();
    const picked: number[] = [];
    const allocations = new Map<number, Allocation>();
    if (request.resources) {
      // Local resources: candidates chosen by what fits this host (see allocations.ts).
      const resources = request.resources;
      const { selected, queues } = await this.allocationStore.pick(db, { ...request, resources }, now, closed);
      const fitting = selected.map((choice) => ({ id: choice.id, queue: queues.get(choice.id) as string }));
      pickWithinRoom(fitting, room, closed, picked, request.limit);
      for (const choice of selected) {
        if (choice.allocation && picked.includes(choice.id)) allocations.set(choice.id, choice.allocation);
      }
    }
    for (let round = 0; !request.resources && round < 4 && picked.length < request.limit; round++) {
      const params = new Params();
      const scheduler = params.add(request.scheduler);
      const at = params.add(now);
      const filter = claimFilter(params, { ...request, onlyIds: request.onlyIds }, closed);
      const exclude = picked.length > 0 ? `AND NOT (id = ANY(${params.add(picked)}::int8[]))` : '';
      const limit = params.add(request.limit - picked.length);
      const candidates = await this.rows<{ id: number; queue: string }>(
        db,
        `SELECT id, queue FROM jobs
         WHERE status = 'pending' AND blocked_by = 0 AND scheduler = ${scheduler} AND run_at <= ${at} ${filter} ${exclude}
         ORDER BY priority DESC, id LIMIT ${limit} FOR UPDATE SKIP LOCKED`,
        params.values,
      );
      const filled = pickWithinRoom(candidates, room, closed, picked, request.limit);
      if (!filled || candidates.length === 0) break;
    }
    if (picked.length === 0) return [];
    const params = new Params();
    const ids = params.add(picked);
    const at = params.add(now);
    const set = claimSet(params, request, now, at);
    const rows = await this.rows<JobRow & { depends_on: number[] | null }>(
      db,
      `UPDATE jobs AS j SET ${set} WHERE j.id = ANY(${ids}::int8[]) RETURNING j.*, ${DEPS_COLUMN}`,
      params.values,
    );
    const order = new Map(picked.map((id, index) => [id, index]));
    rows.sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0));
    if (allocations.size > 0) {
      const attempts = new Map(rows.map((row) => [Number(row.id), row.run_no]));
      await this.allocationStore.record(db, allocations, attempts, request);
    }
    return rows.map((row) => jobFromRow(row, row.depends_on ?? []));
  }

  async allocations(filter: AllocationFilter): Promise<AllocationRecord[]> {
    return this.allocationStore.list(filter);
  }

  async recordProcess(jobId: number, attempt: number, pid: number, pidStart: number | null): Promise<void> {
    await this.pool.query(
      prepared(
        `UPDATE jobs SET pid = $1, pid_start = $2, updated_at = $3 WHERE id = $4 AND run_no = $5 AND status IN ${LIVE}`,
        [pid, pidStart, Date.now(), jobId, attempt],
      ),
    );
  }

  async setProgress(jobId: number, attempt: number, progress: number | null, message: string | null): Promise<void> {
    await this.pool.query(
      prepared(
        `UPDATE jobs SET progress = $1, progress_message = $2, updated_at = $3
         WHERE id = $4 AND run_no = $5 AND status IN ${LIVE}`,
        [progress, message, Date.now(), jobId, attempt],
      ),
    );
  }

  async heartbeat(workerId: string, leaseMs: number): Promise<HeldJob[] | null> {
    const now = Date.now();
    const rows = await this.rows<{ id: number | null; run_no: number; status: JobStatus; started_at: number | null }>(
      this.pool,
      // Rows are locked in id order, as every statement that locks several jobs does, so a renewal
      // and another worker's completion never wait on each other in a cycle (40P01).
      `WITH mine AS MATERIALIZED (
         SELECT id FROM jobs WHERE worker_id = $2 AND status IN ${LIVE} ORDER BY id FOR UPDATE
       ), leases AS (
         UPDATE jobs SET lease_expires_at = $1 FROM mine
         WHERE jobs.id = mine.id AND jobs.worker_id = $2 AND jobs.status IN ${LIVE}
         RETURNING jobs.id, jobs.run_no, jobs.status, jobs.started_at
       ), me AS (UPDATE workers SET heartbeat_at = $3 WHERE id = $2 RETURNING id)
       SELECT leases.* FROM me LEFT JOIN leases ON true ORDER BY leases.id`,
      [now + leaseMs, workerId, now],
    );
    if (rows.length === 0) return null; // no registration: `me` was empty
    return rows
      .filter((row) => row.id !== null)
      .map((row) => ({ id: row.id as number, runNo: row.run_no, status: row.status, startedAt: row.started_at }));
  }

  async finish(jobId: number, attempt: number, outcome: Outcome): Promise<Job | null> {
    const [recorded] = await this.recordOutcomes([{ jobId, attempt, outcome }]);
    return recorded ?? null;
  }

  /**
   * Completions and the claim of the slots they free in one statement (completeAndClaim); other
   * outcomes, and completions it could not take, through the general path. No transaction spans
   * the two: the claim needs no atomicity with the outcomes, and BEGIN and COMMIT would add two
   * round trips to the hot path for nothing.
   */
  async finishMany(
    finished: FinishedAttempt[],
    next?: ClaimRequest,
  ): Promise<{ recorded: (Job | null)[]; claimed: Job[] }> {
    const completions = finished.filter((item) => item.outcome.status === 'completed');
    if (!next || next.limit <= 0 || completions.length === 0) {
      const recorded = finished.length > 0 ? await this.recordOutcomes(finished) : [];
      return { recorded, claimed: next && next.limit > 0 ? await this.claim(next) : [] };
    }
    const { done, claimed, limits } = await this.completeAndClaim(completions, next);
    const recorded = await this.recordOutcomes(finished, done);
    if (limits.limited.size === 0 && !limits.wanting) return { recorded, claimed };
    return { recorded, claimed: await this.transaction((db) => this.claimLimited(db, next, limits)) };
  }

  /**
   * Completions (the bulk of outcomes) in one statement; whatever that statement did not settle —
   * failures, retries, jobs with dependents or a cron schedule, attempts that no longer own their
   * job — through the general path, in a transaction.
   */
  private async recordOutcomes(items: FinishedAttempt[], done?: JobRow[]): Promise<(Job | null)[]> {
    const recorded = new Map<FinishedAttempt, Job | null>();
    const completions = items.filter((item) => item.outcome.status === 'completed');
    let rows = done ?? [];
    if (!done && completions.length > 0) {
      // One statement, so its own transaction: the rows it returns were completed atomically.
      rows = await this.rows<JobRow>(this.pool, COMPLETE_JOBS, completionValues(completions, Date.now()));
    }
    const byId = new Map(rows.map((row) => [row.id, row]));
    for (const item of completions) {
      const row = byId.get(item.jobId);
      if (row) recorded.set(item, jobFromRow(row));
    }
    const rest = items.filter((item) => !recorded.has(item));
    if (rest.length > 0) {
      const settled = await this.transaction((db) => this.settleMany(db, rest));
      rest.forEach((item, index) => {
        recorded.set(item, settled[index] ?? null);
      });
    }
    return items.map((item) => recorded.get(item) ?? null);
  }

  /**
   * Records a batch of outcomes inside a transaction: the rows are locked and read once, the new
   * states decided here (retry policy, state machine), then written with one statement per table.
   */
  /** @internal */
  async settleMany(db: Queryable, items: FinishedAttempt[]): Promise<(Job | null)[]> {
    const now = Date.now();
    const ids = [...new Set(items.map((item) => item.jobId))].sort((a, b) => a - b);
    const current = new Map(
      (await this.rows<JobRow>(db, 'SELECT * FROM jobs WHERE id = ANY($1::int8[]) ORDER BY id FOR UPDATE', [ids])).map(
        (row) => [row.id, row],
      ),
    );
    const updates: JobRow[] = [];
    const executions: ExecutionValues[] = [];
    const recorded: (Job | null)[] = [];
    for (const { jobId, attempt, outcome } of items) {
      const row = current.get(jobId);
      if (!row || row.run_no !== attempt || (row.status !== 'running' && row.status !== 'suspended')) {
        // Someone else ended the attempt (cancel, reclaim): keep their outcome, add how the work exited.
        await db.query(
          prepared(
            `UPDATE executions SET exit_code = coalesce(exit_code, $1), signal = coalesce(signal, $2)
             WHERE job_id = $3 AND attempt = $4`,
            [outcome.exitCode ?? null, outcome.signal ?? null, jobId, attempt],
          ),
        );
        recorded.push(null);
        continue;
      }
      executions.push(executionValues(row, outcome.status, outcome.error ?? null, outcome, now));
      applyOutcome(row, outcome, now);
      updates.push(row);
      recorded.push(jobFromRow(row));
    }
    if (updates.length > 0) {
      await db.query(
        prepared(SETTLE_JOBS, [
          updates.map((row) => row.id),
          updates.map((row) => row.status),
          updates.map((row) => row.exit_code),
          updates.map((row) => row.signal),
          updates.map((row) => row.error),
          updates.map((row) => row.error_stack),
          updates.map((row) => row.result),
          updates.map((row) => row.ended_at),
          updates.map((row) => row.run_at),
          updates.map((row) => row.progress),
          now,
        ]),
      );
      await this.insertExecutions(db, executions);
    }
    const retried = updates.filter((row) => row.status === 'pending').map((row) => row.queue);
    if (retried.length > 0) await this.notifyWork(db, retried);
    for (const row of updates) {
      if (row.has_dependents === 1 && row.status === 'completed') await this.unblockDependents(db, row.id);
      else if (row.has_dependents === 1 && row.status !== 'pending')
        await this.skipDependents(db, row.id, row.status as JobStatus);
      if (row.cron !== null && row.status !== 'pending') await this.scheduleNextOccurrence(db, row, now);
    }
    return recorded;
  }

  private async insertExecutions(db: Queryable, executions: ExecutionValues[]): Promise<void> {
    if (executions.length === 0) return;
    const column = <K extends keyof ExecutionValues>(key: K) => executions.map((execution) => execution[key]);
    await db.query(
      prepared(INSERT_EXECUTIONS, [
        column('jobId'),
        column('attempt'),
        column('status'),
        column('startedAt'),
        column('endedAt'),
        column('exitCode'),
        column('signal'),
        column('error'),
        column('host'),
        column('pid'),
        column('workerId'),
      ]),
    );
  }

  /** Tells listening workers that these queues have runnable jobs (delivered at commit). */
  private async notifyWork(db: Queryable, queues: Iterable<string>): Promise<void> {
    const distinct = [...new Set(queues)];
    if (distinct.length === 0) return;
    await db.query(prepared("SELECT pg_notify($1, 'w:' || q) FROM unnest($2::text[]) AS q", [this.channel, distinct]));
  }

  /** Tells the worker running a job that its record changed (cancel, suspend, resume). */
  private async notifyControl(db: Queryable, workerId: string | null): Promise<void> {
    if (workerId === null) return;
    await db.query(prepared("SELECT pg_notify($1, 'c:' || $2)", [this.channel, workerId]));
  }

  /** A recurring job that ended makes its next occurrence (see the SQLite engine); the key makes it one. */
  private async scheduleNextOccurrence(db: Queryable, row: JobRow, now: number): Promise<void> {
    const next = nextOccurrence(row, now);
    if (next === null) return;
    await db.query(
      prepared(
        `INSERT INTO jobs (name, type, status, scheduler, queue, priority, command, argv, cwd, env, resources,
           time_limit_s, max_attempts, retry_delay_s, retry_backoff, retry_max_delay_s, retry_jitter, run_at,
           blocked_by, key, tenant, user_name, params, job_group, cron, created_at, updated_at)
         SELECT name, type, 'pending', scheduler, queue, priority, command, argv, cwd, env, resources,
           time_limit_s, max_attempts, retry_delay_s, retry_backoff, retry_max_delay_s, retry_jitter, $1,
           0, $2, tenant, user_name, params, job_group, cron, $3, $3
         FROM jobs WHERE id = $4 ON CONFLICT DO NOTHING`,
        [next.runAt, next.key, now, row.id],
      ),
    );
  }

  private async unblockDependents(db: Queryable, jobId: number): Promise<void> {
    const rows = await this.rows<{ queue: string; blocked_by: number }>(
      db,
      `UPDATE jobs SET blocked_by = blocked_by - 1
       WHERE id IN (SELECT job_id FROM job_deps WHERE depends_on = $1) AND blocked_by > 0
         AND status IN ('pending', 'suspended')
       RETURNING queue, blocked_by`,
      [jobId],
    );
    await this.notifyWork(
      db,
      rows.filter((row) => row.blocked_by === 0).map((row) => row.queue),
    );
  }

  /** A dependency ended without completing: its waiting dependents, and theirs, become skipped. */
  private async skipDependents(db: Queryable, jobId: number, status: JobStatus): Promise<void> {
    const now = Date.now();
    let frontier: { id: number; reason: string }[] = [{ id: jobId, reason: `dependency ${jobId} ended ${status}` }];
    while (frontier.length > 0) {
      const next: { id: number; reason: string }[] = [];
      for (const parent of frontier) {
        const skipped = await this.rows<{ id: number }>(
          db,
          `UPDATE jobs SET status = 'skipped', error = $1, ended_at = $2, updated_at = $2
           WHERE id IN (SELECT job_id FROM job_deps WHERE depends_on = $3) AND status IN ('pending', 'suspended')
           RETURNING id`,
          [parent.reason, now, parent.id],
        );
        for (const { id } of skipped) next.push({ id, reason: `dependency ${id} was skipped (${parent.reason})` });
      }
      frontier = next;
    }
  }

  async saveCheckpoint(jobId: number, attempt: number, checkpoint: unknown): Promise<void> {
    await this.pool.query(
      prepared('UPDATE jobs SET checkpoint = $1, updated_at = $2 WHERE id = $3 AND run_no = $4', [
        JSON.stringify(checkpoint ?? null),
        Date.now(),
        jobId,
        attempt,
      ]),
    );
  }

  async park(jobId: number, attempt: number): Promise<Job | null> {
    return this.transaction(async (db) => {
      const now = Date.now();
      const current = await this.lockRow(db, jobId);
      if (current && current.run_no === attempt) {
        await this.insertExecutions(db, [executionValues(current, 'suspended', 'suspended', {}, now)]);
      }
      const [row] = await this.rows<JobRow>(
        db,
        `UPDATE jobs SET attempts = greatest(attempts - 1, 0), worker_id = NULL, lease_expires_at = NULL, updated_at = $1
         WHERE id = $2 AND run_no = $3 AND status = 'suspended' RETURNING *`,
        [now, jobId, attempt],
      );
      return row ? jobFromRow(row) : null;
    });
  }

  async settleLost(lost: LostAttempt[]): Promise<void> {
    if (lost.length === 0) return;
    await this.transaction(async (db) => {
      // The rows are locked first: an owner's renewal either committed before this read or waits
      // for this transaction (and then renews nothing, the attempt being settled).
      const now = Date.now();
      const leases = new Map(
        (
          await this.rows<{ id: number; run_no: number; lease_expires_at: number | null }>(
            db,
            'SELECT id, run_no, lease_expires_at FROM jobs WHERE id = ANY($1::int8[]) ORDER BY id FOR UPDATE',
            [[...new Set(lost.map((item) => item.jobId))].sort((a, b) => a - b)],
          )
        ).map((row) => [row.id, row]),
      );
      const lapsed = lost.filter((item) => {
        const row = leases.get(item.jobId);
        if (item.processGone || !row || row.run_no !== item.attempt) return true;
        return row.lease_expires_at == null || row.lease_expires_at < now;
      });
      await this.settleMany(
        db,
        lapsed.map((item) => ({
          jobId: item.jobId,
          attempt: item.attempt,
          outcome: { status: 'failed', error: item.reason },
        })),
      );
    });
  }

  async release(jobId: number, attempt: number, reason: string): Promise<Job | null> {
    return this.transaction(async (db) => {
      const now = Date.now();
      const current = await this.lockRow(db, jobId);
      const owned = current && current.run_no === attempt && ['running', 'suspended'].includes(current.status);
      if (owned) await this.insertExecutions(db, [executionValues(current, 'cancelled', reason, {}, now)]);
      const [row] = await this.rows<JobRow>(
        db,
        `UPDATE jobs SET status = 'pending', attempts = greatest(attempts - 1, 0), worker_id = NULL, pid = NULL,
           pid_start = NULL, lease_expires_at = NULL, run_at = $1, updated_at = $1
         WHERE id = $2 AND run_no = $3 AND status IN ${LIVE} RETURNING *`,
        [now, jobId, attempt],
      );
      if (row) await this.notifyWork(db, [row.queue]);
      return row ? jobFromRow(row) : null;
    });
  }

  // ── commands on one job ──────────────────────────────────────────────────────────────────────

  /** @internal */
  async lockRow(db: Queryable, id: number): Promise<JobRow | undefined> {
    return (await this.rows<JobRow>(db, 'SELECT * FROM jobs WHERE id = $1 FOR UPDATE', [id]))[0];
  }

  private async mustLock(db: Queryable, id: number): Promise<JobRow> {
    const row = await this.lockRow(db, id);
    if (!row) throw new NotFoundError(`job ${id} does not exist; see docket list --all`);
    return row;
  }

  async cancel(id: number, reason: string): Promise<Job> {
    return this.transaction(async (db) => {
      const current = await this.mustLock(db, id);
      transition(id, current.status as JobStatus, 'cancelled', 'cancel');
      const now = Date.now();
      if (current.worker_id !== null && ['running', 'suspended'].includes(current.status)) {
        await this.insertExecutions(db, [executionValues(current, 'cancelled', reason, {}, now)]);
        await this.notifyControl(db, current.worker_id);
      }
      const [row] = await this.rows<JobRow>(
        db,
        `UPDATE jobs SET status = 'cancelled', error = $1, ended_at = $2, lease_expires_at = NULL, updated_at = $2
         WHERE id = $3 RETURNING *`,
        [reason, now, id],
      );
      await this.skipDependents(db, id, 'cancelled');
      return jobFromRow(row as JobRow);
    });
  }

  async suspend(id: number): Promise<Job> {
    return this.transaction(async (db) => {
      const current = await this.mustLock(db, id);
      transition(id, current.status as JobStatus, 'suspended', 'suspend');
      if (current.status === 'running') await this.notifyControl(db, current.worker_id);
      return this.setStatus(db, id, 'suspended');
    });
  }

  async resume(id: number): Promise<Job> {
    return this.transaction(async (db) => {
      const current = await this.mustLock(db, id);
      if (current.status !== 'suspended') throw refuse(id, current.status as JobStatus, 'resume');
      // A command's stopped process is still there to continue, and SLURM resumes its job in
      // place; anything else starts over.
      const inPlace = current.pid != null || (current.scheduler_job_id != null && current.worker_id != null);
      const target: JobStatus = inPlace && current.ended_at == null && current.run_no > 0 ? 'running' : 'pending';
      if (target === 'running') await this.notifyControl(db, current.worker_id);
      else await this.notifyWork(db, [current.queue]);
      return this.setStatus(db, id, target);
    });
  }

  async requeue(id: number): Promise<Job> {
    return this.transaction(async (db) => {
      const current = await this.mustLock(db, id);
      transition(id, current.status as JobStatus, 'pending', 'requeue');
      const parents = (
        await this.rows<{ depends_on: number }>(
          db,
          'SELECT depends_on FROM job_deps WHERE job_id = $1 ORDER BY depends_on',
          [id],
        )
      ).map((row) => row.depends_on);
      const [ended] = await this.rows<{ id: number; status: JobStatus }>(
        db,
        `SELECT id, status FROM jobs WHERE id = ANY($1::int8[])
         AND status IN ('failed', 'timeout', 'cancelled', 'skipped') ORDER BY id LIMIT 1`,
        [parents],
      );
      if (ended) throw refuseRequeueBehind(id, current.status as JobStatus, ended.id, ended.status);
      const [{ n: blockedBy }] = (await this.rows<{ n: number }>(
        db,
        "SELECT count(*)::int AS n FROM jobs WHERE id = ANY($1::int8[]) AND status != 'completed'",
        [parents],
      )) as [{ n: number }];
      const now = Date.now();
      const [row] = await this.rows<JobRow>(
        db,
        `UPDATE jobs SET status = 'pending', attempts = 0, run_at = $1, blocked_by = $2, exit_code = NULL, signal = NULL,
           error = NULL, error_stack = NULL, result = NULL, progress = NULL, progress_message = NULL, pid = NULL,
           pid_start = NULL, worker_id = NULL, host = NULL, lease_expires_at = NULL, started_at = NULL,
           ended_at = NULL, scheduler_job_id = NULL, updated_at = $1
         WHERE id = $3 RETURNING *`,
        [now, blockedBy, id],
      );
      if (blockedBy === 0) await this.notifyWork(db, [current.queue]);
      return jobFromRow(row as JobRow, parents);
    });
  }

  private async setStatus(db: Queryable, id: number, status: JobStatus): Promise<Job> {
    const [row] = await this.rows<JobRow>(
      db,
      'UPDATE jobs SET status = $1, updated_at = $2 WHERE id = $3 RETURNING *',
      [status, Date.now(), id],
    );
    return jobFromRow(row as JobRow);
  }

  async clear(request: ClearRequest): Promise<number[]> {
    const params = new Params();
    const where = [`status = ANY(${params.add(request.statuses)}::text[])`];
    if (request.endedBefore !== undefined)
      where.push(`coalesce(ended_at, updated_at) < ${params.add(request.endedBefore)}`);
    if (request.queue !== undefined) where.push(`queue = ${params.add(request.queue)}`);
    const limit = request.limit === undefined ? '' : `ORDER BY id LIMIT ${params.add(request.limit)}`;
    const rows = await this.rows<{ id: number }>(
      this.pool,
      `DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE ${where.join(' AND ')} ${limit}) RETURNING id`,
      params.values,
    );
    return rows.map((row) => row.id);
  }

  async refresh(request: RefreshRequest): Promise<RefreshResult> {
    return this.transaction(async (db) => {
      const results = request.jobs.length > 0 ? await this.insertJobs(db, request.jobs, Date.now()) : [];
      const added = results.filter((result) => result.created).length;
      let removed = 0;
      let kept = 0;
      if (request.removeMissing) {
        // Lock the jobs whose key left the set first; the delete's fresh snapshot then sees any
        // dependent that a concurrent submit (which locks its parents) committed meanwhile.
        const missing = await this.rows<{ id: number }>(
          db,
          `SELECT id FROM jobs WHERE type = $1 AND tenant = $2 AND status = 'pending' AND key IS NOT NULL
             AND NOT (key = ANY($3::text[])) ORDER BY id FOR UPDATE`,
          [request.type, request.tenant, request.jobs.map((job) => job.key)],
        );
        const [counts] = await this.rows<{ removed: number }>(
          db,
          `WITH removed AS (
             DELETE FROM jobs AS j WHERE j.id = ANY($1::int8[])
               AND NOT EXISTS (SELECT 1 FROM job_deps AS d WHERE d.depends_on = j.id) RETURNING j.id
           ) SELECT count(*)::int AS removed FROM removed`,
          [missing.map((row) => row.id)],
        );
        removed = counts?.removed ?? 0;
        kept = missing.length - removed;
      }
      return { added, existing: request.jobs.length - added, removed, kept };
    });
  }

  async ignore(job: NewJob): Promise<Job> {
    return this.transaction(async (db) => {
      const [{ job: current, created }] = (await this.insertJobs(db, [job], Date.now())) as [SubmitResult];
      if (current.status === 'skipped' && current.error === 'ignored') return current;
      const locked = (await this.lockRow(db, current.id)) as JobRow;
      // A job skipped for its dependency is only marked ignored; any other state moves (or is refused) here.
      if (!created && locked.status !== 'skipped')
        transition(current.id, locked.status as JobStatus, 'skipped', 'skip');
      const now = Date.now();
      const [row] = await this.rows<JobRow>(
        db,
        `UPDATE jobs SET status = 'skipped', error = 'ignored', ended_at = $1, updated_at = $1 WHERE id = $2 RETURNING *`,
        [now, current.id],
      );
      await this.skipDependents(db, current.id, 'skipped');
      return jobFromRow(row as JobRow, current.dependsOn);
    });
  }

  // ── jobs of external schedulers (SLURM) ──────────────────────────────────────────────────────

  listTracked(scheduler: SchedulerName): Promise<Job[]> {
    return this.external.listTracked(scheduler);
  }

  recordSubmitted(jobId: number, schedulerJobId: string): Promise<Job | null> {
    return this.external.recordSubmitted(jobId, schedulerJobId);
  }

  discard(ids: number[]): Promise<void> {
    return this.external.discard(ids);
  }

  applyObserved(observed: ObservedState[]): Promise<Job[]> {
    return this.external.applyObserved(observed);
  }

  // ── catalog ──────────────────────────────────────────────────────────────────────────────────

  setQueue(name: string, settings: QueueSettings): Promise<QueueInfo> {
    return this.catalog.setQueue(name, settings);
  }

  listQueues(): Promise<QueueInfo[]> {
    return this.catalog.listQueues();
  }

  saveJobTypes(types: StoredJobType[]): Promise<void> {
    return this.catalog.saveJobTypes(types);
  }

  listJobTypes(): Promise<StoredJobType[]> {
    return this.catalog.listJobTypes();
  }

  saveJobGroups(groups: JobGroupDefinition[]): Promise<void> {
    return this.catalog.saveJobGroups(groups);
  }

  listJobGroups(): Promise<JobGroupDefinition[]> {
    return this.catalog.listJobGroups();
  }

  // ── workers ──────────────────────────────────────────────────────────────────────────────────

  async registerWorker(worker: WorkerInfo): Promise<void> {
    await this.insertWorker(this.pool, worker);
  }

  private async insertWorker(db: Queryable, worker: WorkerInfo): Promise<void> {
    await db.query(
      prepared(
        `INSERT INTO workers (id, host, pid, pid_start, queues, concurrency, wake_address, started_at, heartbeat_at, machine,
           inventory)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (id) DO UPDATE SET machine = excluded.machine, pid = excluded.pid, pid_start = excluded.pid_start,
           queues = excluded.queues,
           concurrency = greatest(excluded.concurrency, workers.concurrency),
           wake_address = coalesce(excluded.wake_address, workers.wake_address), heartbeat_at = excluded.heartbeat_at,
           inventory = coalesce(excluded.inventory, workers.inventory)`,
        [
          worker.id,
          worker.host,
          worker.pid,
          worker.pidStart,
          JSON.stringify(worker.queues),
          worker.concurrency,
          worker.wakeAddress,
          worker.startedAt,
          worker.heartbeatAt,
          worker.machine ?? null,
          worker.inventory ? JSON.stringify(worker.inventory) : null,
        ],
      ),
    );
  }

  async registerWorkerIfNone(
    candidate: WorkerInfo,
    queue: string,
    isAlive: (worker: WorkerInfo) => boolean,
  ): Promise<boolean> {
    return this.transaction(async (db) => {
      await db.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`docket:workers:${this.schema}`]);
      const workers = (await this.rows<WorkerRow>(db, 'SELECT * FROM workers')).map(workerFromRow);
      const serving = workers.some(
        (worker) => (worker.queues.includes('*') || worker.queues.includes(queue)) && isAlive(worker),
      );
      if (serving) return false;
      await this.insertWorker(db, candidate);
      return true;
    });
  }

  async removeWorker(id: string): Promise<void> {
    await this.pool.query(prepared('DELETE FROM workers WHERE id = $1', [id]));
  }

  async listWorkers(): Promise<WorkerInfo[]> {
    return (await this.rows<WorkerRow>(this.pool, 'SELECT * FROM workers ORDER BY started_at')).map(workerFromRow);
  }

  /**
   * Without locking the jobs table (which would stall every worker's writes): the registration is
   * removed first, in its own commit, and only then is the work looked for. A submit commits its job
   * and then reads the registrations; if it still saw this worker, its job committed before the
   * removal and so before the look, which finds it, and the worker registers again and stays.
   * Otherwise the submit saw no worker and started one.
   */
  async retireIfIdle(
    workerId: string,
    queues: readonly string[],
    types: readonly string[],
    dueBefore: number,
  ): Promise<boolean> {
    const [registration] = await this.rows<WorkerRow>(this.pool, 'DELETE FROM workers WHERE id = $1 RETURNING *', [
      workerId,
    ]);
    const params = new Params();
    const filter = claimFilter(params, { queues, types }, []);
    const [row] = await this.rows<{ busy: boolean }>(
      this.pool,
      `SELECT EXISTS (SELECT 1 FROM jobs WHERE scheduler = 'local' ${filter} AND (status = 'running'
         OR (status = 'suspended' AND worker_id = ${params.add(workerId)})
         OR (status = 'pending' AND blocked_by = 0 AND run_at < ${params.add(dueBefore)}
             AND NOT EXISTS (SELECT 1 FROM queues WHERE queues.name = jobs.queue AND paused = 1)))) AS busy`,
      params.values,
    );
    if (!row?.busy) return true;
    if (registration) await this.insertWorker(this.pool, workerFromRow(registration));
    return false;
  }

  // ── housekeeping ─────────────────────────────────────────────────────────────────────────────

  /**
   * VACUUMs (and analyzes) each table whose dead row versions exceed 10 % of its live rows (and
   * 1,000): autovacuum normally gets there first (the jobs table asks it to act at 2 %), but where
   * it is off or behind, this keeps churn from growing the tables without bound. One worker at a
   * time does it (a try-lock), outside any transaction as VACUUM requires.
   */
  async maintain(): Promise<string[]> {
    const client = await this.pool.connect();
    const lock = `docket:maintain:${this.schema}`;
    try {
      const { rows } = await client.query('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok', [lock]);
      if (!rows[0].ok) return [];
      try {
        const stats = await client.query(
          `SELECT relname, n_live_tup::int8 AS live, n_dead_tup::int8 AS dead FROM pg_stat_user_tables
           WHERE schemaname = $1 AND relname IN ('jobs', 'executions', 'job_deps', 'workers', 'job_events')`,
          [this.schema],
        );
        const done: string[] = [];
        for (const table of stats.rows as { relname: string; live: number; dead: number }[]) {
          if (table.dead <= 1_000 || table.dead <= table.live * 0.1) continue;
          await client.query(`VACUUM (ANALYZE) ${quoteIdent(this.schema)}.${quoteIdent(table.relname)}`);
          done.push(`vacuumed ${table.relname} (${table.dead} dead row versions)`);
        }
        return done;
      } finally {
        await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [lock]);
      }
    } finally {
      client.release();
    }
  }

  // ── notices ──────────────────────────────────────────────────────────────────────────────────

  /** LISTENs for the notices of this docket (see notices.ts). */
  listen(onNotice: (notice: StoreNotice) => void): Promise<() => Promise<void>> {
    return listenForNotices(this.target.connectionString, this.schema, this.listeners, onNotice, this.warn);
  }

  // ── what the HTTP API reads ──────────────────────────────────────────────────────────────────

  search(query: JobSearch): Promise<Job[]> {
    return this.api.search(query);
  }

  countJobs(query: JobSearch): Promise<number> {
    return this.api.countJobs(query);
  }

  queueSettings(): Promise<Omit<QueueInfo, 'counts'>[]> {
    return this.api.queueSettings();
  }

  dependents(id: number): Promise<number[]> {
    return this.api.dependents(id);
  }

  remove(ids: number[], tenant?: string): Promise<number[]> {
    return this.api.remove(ids, tenant);
  }

  queueOverview(tenant?: string): Promise<(QueueInfo & { oldestPendingAt: number | null })[]> {
    return this.api.queueOverview(tenant);
  }

  finishedSince(since: number, tenant?: string): Promise<FinishedTimes[]> {
    return this.api.finishedSince(since, tenant);
  }

  finishedSummary(first: number, since: number, tenant?: string): Promise<FinishedSummary> {
    return this.api.finishedSummary(first, since, tenant);
  }

  attemptCounts(): Promise<AttemptCount[]> {
    return this.api.attemptCounts();
  }

  createToken(token: NewApiToken): Promise<ApiToken> {
    return this.api.createToken(token);
  }

  tokenByHash(hash: string): Promise<ApiToken | null> {
    return this.api.tokenByHash(hash);
  }

  listTokens(): Promise<ApiToken[]> {
    return this.api.listTokens();
  }

  revokeToken(id: number): Promise<boolean> {
    return this.api.revokeToken(id);
  }

  eventsAfter(afterId: number, limit: number, tenant?: string): Promise<JobEventRecord[]> {
    return this.api.eventsAfter(afterId, limit, tenant);
  }

  lastEventId(): Promise<number> {
    return this.api.lastEventId();
  }

  watchEvents(onEvents: () => void): Promise<() => Promise<void>> {
    return this.api.watchEvents(onEvents);
  }
}

/** The caller's `pg` client: anything with a `query` method, but not a pool (see assertInTransaction). */
function asQueryable(connection: unknown): Queryable {
  if (connection === null || typeof (connection as Queryable).query !== 'function') {
    throw new InvalidInputError('connection', 'must be a pg client, the one on which you called BEGIN');
  }
  const pool = connection as { connect?: unknown; totalCount?: unknown };
  if (typeof pool.connect === 'function' && typeof pool.totalCount === 'number') {
    throw new InvalidInputError(
      'connection',
      'a pool is not a transaction: take a client from it (pool.connect()), call BEGIN on it and pass that client',
    );
  }
  return connection as Queryable;
}

/**
 * Refuses a connection that is not inside a transaction. A setting made local to the transaction
 * (set_config's `true`) outlives the statement only when a transaction is open: outside one, the
 * statement was its own transaction and the setting is gone by the next.
 */
async function assertInTransaction(db: Queryable): Promise<void> {
  await db.query("SELECT set_config('docket.in_caller_transaction', 'yes', true)");
  const { rows } = await db.query("SELECT current_setting('docket.in_caller_transaction', true) AS inside");
  if (rows[0]?.inside !== 'yes') {
    throw new InvalidInputError(
      'connection',
      'the client is not inside a transaction: call BEGIN on it first (and COMMIT after), so the jobs exist exactly when your writes do',
    );
  }
}

/** An executions row: the attempt, and the job it belongs to. */
type ExecutionValues = Attempt & { jobId: number; endedAt: number };

/** The executions row of the attempt a job row describes, as it ends. */
function executionValues(
  row: JobRow,
  status: JobStatus,
  error: string | null,
  exit: { exitCode?: number | null; signal?: string | null },
  now: number,
): ExecutionValues {
  return {
    jobId: row.id,
    attempt: row.run_no,
    status,
    startedAt: row.started_at ?? now,
    endedAt: now,
    exitCode: exit.exitCode ?? null,
    signal: exit.signal ?? null,
    error,
    host: row.host,
    pid: row.pid,
    workerId: row.worker_id,
  };
}
