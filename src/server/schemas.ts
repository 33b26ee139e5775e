/**
 * The HTTP API's contract as TypeBox schemas: they validate requests (unknown body fields are
 * refused), serialise responses, and generate the OpenAPI document. Field names are snake_case
 * like the CLI's --json; times are ISO-8601 strings.
 */
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { JOB_STATUSES, type JobStatus } from '../core/words.js';

/**
 * A value or null, as one type list (`type: [t, 'null']`), not an anyOf: fast-json-stringify
 * serialises a type list with a typeof check, but an anyOf with an ajv validation per value and
 * branch (a third of the time of a job page went there).
 */
const Nullable = <T extends TSchema>(schema: T) =>
  Type.Unsafe<Static<T> | null>({ ...schema, type: [schema.type as string, 'null'] });
const Time = Nullable(Type.String({ description: 'ISO-8601 time' }));
/** Any JSON value (params, results, checkpoints). */
const Json = Type.Unknown();
/** A string enum, not a union of literals (an anyOf, slow to serialise: see Nullable). */
const Status = Type.Unsafe<JobStatus>({ type: 'string', enum: [...JOB_STATUSES], description: 'job state' });
export const JobId = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'job id' });

export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    instance: Type.Optional(Type.String()),
    errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }))),
    current_state: Type.Optional(Status),
  },
  { $id: 'Problem', description: 'RFC 9457 problem document (application/problem+json)' },
);

const Resources = Type.Object(
  {
    cpu_count: Type.Optional(Nullable(Type.Integer({ minimum: 1 }))),
    memory_bytes: Type.Optional(Nullable(Type.Integer({ minimum: 1 }))),
    gpu_count: Type.Optional(Nullable(Type.Integer({ minimum: 0 }))),
    partition: Type.Optional(Nullable(Type.String({ maxLength: 128 }))),
    account: Type.Optional(Nullable(Type.String({ maxLength: 128 }))),
    pin: Type.Optional(Nullable(Type.Boolean({ description: "local jobs: bind the job's processes to its cores" }))),
  },
  { additionalProperties: false },
);

/** What an attempt held of its host (local resources). */
const Allocation = Type.Object({
  gpus: Type.Array(Type.String()),
  cpus: Type.Array(Type.Integer()),
  memory_bytes: Type.Integer(),
  pinned: Type.Boolean(),
  memory_enforced: Type.Boolean(),
});

/** What a worker hands out (local resources). */
const Inventory = Type.Object({
  gpus: Type.Array(
    Type.Object({
      index: Type.String(),
      uuid: Nullable(Type.String()),
      name: Nullable(Type.String()),
      memory_bytes: Nullable(Type.Integer()),
    }),
  ),
  cpus: Type.Array(Type.Integer()),
  memory_bytes: Type.Integer(),
  pin: Type.Boolean(),
  memory_enforcement: Nullable(Type.String()),
  sources: Type.Record(Type.String(), Type.String()),
});

const Attempt = Type.Object({
  attempt: Type.Integer(),
  status: Status,
  started_at: Time,
  ended_at: Time,
  exit_code: Nullable(Type.Integer()),
  signal: Nullable(Type.String()),
  error: Nullable(Type.String()),
  host: Nullable(Type.String()),
  pid: Nullable(Type.Integer()),
  worker_id: Nullable(Type.String()),
  allocation: Type.Optional(Nullable(Allocation)),
});

const jobFields = {
  id: Type.Integer(),
  name: Type.String(),
  type: Type.String(),
  status: Status,
  delayed: Type.Boolean({ description: 'pending and waiting for its run_at time' }),
  blocked: Type.Boolean({ description: 'pending and waiting for its dependencies' }),
  scheduler: Type.String(),
  scheduler_job_id: Nullable(Type.String()),
  queue: Type.String(),
  priority: Type.Integer(),
  command: Nullable(Type.String()),
  argv: Nullable(Type.Array(Type.String())),
  cwd: Type.String(),
  env: Type.Record(Type.String(), Type.String()),
  attempts: Type.Integer(),
  max_attempts: Type.Integer(),
  retry: Type.Object({
    delay_s: Type.Number(),
    backoff: Type.String(),
    jitter: Type.Boolean(),
    max_delay_s: Nullable(Type.Number()),
  }),
  group: Nullable(Type.String()),
  cron: Nullable(Type.String()),
  run_at: Time,
  depends_on: Type.Array(Type.Integer()),
  restarted_from: Nullable(Type.Integer({ description: 'the finished job this one was submitted again from' })),
  key: Nullable(Type.String()),
  tenant: Type.String(),
  user: Nullable(Type.String()),
  params: Json,
  result: Json,
  exit_code: Nullable(Type.Integer()),
  signal: Nullable(Type.String()),
  error: Nullable(Type.String()),
  error_stack: Nullable(Type.String()),
  progress: Nullable(Type.Number()),
  progress_message: Nullable(Type.String()),
  created_at: Time,
  started_at: Time,
  ended_at: Time,
  updated_at: Time,
  pid: Nullable(Type.Integer()),
  host: Nullable(Type.String()),
  worker_id: Nullable(Type.String()),
  resources: Resources,
  time_limit_s: Nullable(Type.Number()),
  pending_reason: Type.Optional(
    Nullable(Type.String({ description: 'why a pending job waits for local resources, when known' })),
  ),
};

export const Job = Type.Object(jobFields, { $id: 'Job' });
export const JobDetail = Type.Object(
  {
    ...jobFields,
    executions: Type.Array(Attempt),
    dependents: Type.Array(Type.Integer(), { description: 'ids of the jobs that depend on this one' }),
    state_reason: Nullable(Type.String({ description: 'why the job is where it is, in plain words' })),
  },
  { $id: 'JobDetail' },
);

const KeyValue = Type.Union([Type.String({ minLength: 1, maxLength: 1024 }), Type.Record(Type.String(), Json)], {
  description: 'idempotency key: a string or a JSON object (stored canonically), unique per tenant and type',
});

export const NewJob = Type.Object(
  {
    type: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'job type (default: command)' })),
    params: Type.Optional(Json),
    cmd: Type.Optional(Type.String({ minLength: 1, maxLength: 65536, description: 'a shell command line (sh -c)' })),
    argv: Type.Optional(Type.Array(Type.String({ maxLength: 65536 }), { minItems: 1, maxItems: 4096 })),
    cwd: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
    env: Type.Optional(Type.Record(Type.String({ maxLength: 1024 }), Type.String({ maxLength: 65536 }))),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    queue: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    group: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    priority: Type.Optional(Type.Integer({ minimum: -1_000_000_000, maximum: 1_000_000_000 })),
    run_at: Type.Optional(Type.String({ description: 'ISO-8601 earliest start', maxLength: 64 })),
    delay_sec: Type.Optional(Type.Number({ minimum: 0, maximum: 10 * 365 * 86_400 })),
    depends_on: Type.Optional(Type.Array(JobId, { maxItems: 1000 })),
    timeout_sec: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 10 * 365 * 86_400 })),
    max_attempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    retry_delay_sec: Type.Optional(Type.Number({ minimum: 0, maximum: 365 * 86_400 })),
    backoff: Type.Optional(Type.Union([Type.Literal('fixed'), Type.Literal('exponential')])),
    resources: Type.Optional(Resources),
    scheduler: Type.Optional(Type.Union([Type.Literal('local'), Type.Literal('slurm')])),
    key: Type.Optional(KeyValue),
    idempotency_key: Type.Optional(KeyValue),
  },
  { additionalProperties: false, $id: 'NewJob' },
);

export const JobBatch = Type.Object(
  { jobs: Type.Array(Type.Ref('NewJob'), { minItems: 1, maxItems: 1000 }) },
  { additionalProperties: false },
);

export const JobPage = Type.Object({
  jobs: Type.Array(Type.Ref('Job')),
  page: Type.Integer(),
  limit: Type.Integer(),
  order: Type.String(),
  total: Type.Integer({ description: 'every job that matches the filters, not only this page' }),
});

/** Filters of GET /jobs (and of batch actions). */
export const jobFilterFields = {
  status: Type.Optional(Type.String({ description: 'comma list of states; also delayed and blocked', maxLength: 512 })),
  queue: Type.Optional(Type.String({ maxLength: 128 })),
  type: Type.Optional(Type.String({ maxLength: 128 })),
  group: Type.Optional(Type.String({ maxLength: 128 })),
  key: Type.Optional(Type.String({ maxLength: 1024 })),
  q: Type.Optional(Type.String({ maxLength: 256, description: 'name or key contains (case-insensitive)' })),
  scheduler: Type.Optional(Type.Union([Type.Literal('local'), Type.Literal('slurm')])),
  tenant: Type.Optional(Type.String({ maxLength: 128, description: 'admins only: one tenant' })),
};

export const JobListQuery = Type.Object(
  {
    ...jobFilterFields,
    page: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    page_size: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'alias of limit' })),
    order: Type.Optional(Type.String({ maxLength: 32 })),
  },
  { additionalProperties: false },
);

export const BatchAction = Type.Object(
  {
    action: Type.Union(['cancel', 'retry', 'delete', 'suspend', 'resume'].map((name) => Type.Literal(name))),
    ids: Type.Optional(Type.Array(JobId, { minItems: 1, maxItems: 10_000 })),
    filter: Type.Optional(Type.Object(jobFilterFields, { additionalProperties: false })),
    max: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
  },
  { additionalProperties: false },
);

export const BatchResult = Type.Object({
  matched: Type.Integer(),
  changed: Type.Integer(),
  failed: Type.Array(Type.Object({ id: Type.Integer(), detail: Type.String() })),
});

export const Counts = Type.Object(
  Object.fromEntries([...JOB_STATUSES, 'total'].map((status) => [status, Type.Integer()])),
  { $id: 'Counts' },
);

export const Queue = Type.Object({
  name: Type.String(),
  capacity: Nullable(Type.Integer()),
  paused: Type.Boolean(),
  counts: Type.Ref('Counts'),
  running: Type.Integer(),
  oldest_pending_at: Time,
  oldest_pending_age_s: Nullable(Type.Number()),
});

export const QueuePatch = Type.Object(
  {
    capacity: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 1_000_000 }))),
    paused: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const Worker = Type.Object({
  id: Type.String(),
  host: Type.String(),
  pid: Type.Integer(),
  queues: Type.Array(Type.String()),
  concurrency: Type.Integer(),
  alive: Type.Boolean(),
  running_jobs: Type.Array(Type.Integer()),
  started_at: Time,
  last_heartbeat_at: Time,
  inventory: Type.Optional(Nullable(Inventory)),
});

export const JobType = Type.Object({
  id: Type.String(),
  name: Type.String(),
  queue: Nullable(Type.String()),
  group: Nullable(Type.String()),
  params_schema: Nullable(Type.Record(Type.String(), Json)),
  defaults: Type.Object({
    priority: Nullable(Type.Integer()),
    timeout_sec: Nullable(Type.Number()),
    max_attempts: Nullable(Type.Integer()),
    retry_delay_sec: Nullable(Type.Number()),
    backoff: Nullable(Type.String()),
  }),
  suspendable: Type.Boolean(),
  cron: Nullable(Type.String()),
});

export const JobGroup = Type.Object({
  id: Type.String(),
  name: Type.String(),
  queue: Type.String(),
  description: Nullable(Type.String()),
});

export const Me = Type.Object({
  tenant: Type.String(),
  user: Nullable(Type.String()),
  role: Type.Union([Type.Literal('admin'), Type.Literal('member'), Type.Literal('viewer')]),
  token_id: Type.Integer(),
  token_name: Nullable(Type.String()),
  expires_at: Time,
});

const Percentiles = (what: string) =>
  Type.Object(
    { p50: Nullable(Type.Number()), p95: Nullable(Type.Number()) },
    { description: `${what}: p50 and p95, interpolated as SQL percentile_cont (null when no job started)` },
  );
const WAIT = 'seconds from runnable (created or run_at, whichever is later) to start';
const RUN = 'seconds from start to end';

export const Stats = Type.Object({
  window_s: Type.Integer(),
  from: Time,
  to: Time,
  finished: Type.Integer(),
  buckets: Type.Array(
    Type.Object({
      start: Time,
      counts: Type.Record(Type.String(), Type.Integer(), { description: 'finished jobs by outcome' }),
      wait_s: Percentiles(`${WAIT}, of the jobs that ended in this minute`),
      run_s: Percentiles(`${RUN}, of the jobs that ended in this minute`),
    }),
  ),
  wait_s: Percentiles(WAIT),
  run_s: Percentiles(RUN),
});

export const IdParams = Type.Object({ id: JobId }, { additionalProperties: false });
export const NameParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) });

/** Error responses of a route: each an RFC 9457 problem document. */
export const problemResponses = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((status) => [
      status,
      { description: 'problem document', content: { 'application/problem+json': { schema: Type.Ref('Problem') } } },
    ]),
  );
