/** The job routes: HyperSpot's paths (submit, list, get, actions, delete) plus batch actions and logs. */
import type { Static } from '@sinclair/typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { InvalidInputError, InvalidStateError } from '../../core/errors.js';
import { JOB_STATUSES, type JobSpec, type JobStatus } from '../../core/words.js';
import type { JobAction, JobService } from '../../job-service.js';
import { type JobSearch, SEARCH_ORDERS, type SearchOrder } from '../../storage/engine.js';
import { principalOf, scopeOf } from '../auth.js';
import { jobDetailOut, jobOut } from '../present.js';
import { HttpProblem } from '../problems.js';
import {
  BatchAction,
  BatchResult,
  IdParams,
  JobBatch,
  JobListQuery,
  JobPage,
  type jobFilterFields,
  type NewJob,
  problemResponses,
} from '../schemas.js';
import { SubmitBatcher } from '../submit-batcher.js';

const DEFAULT_LIMIT = 50;
const STATUS_WORDS = [...JOB_STATUSES, 'delayed', 'blocked'] as const;
/** `order` values: each column ascending, or descending with a leading `-`. */
export const ORDER_VALUES = SEARCH_ORDERS.flatMap((column) => [column, `-${column}`]);
const ACTIONS: Exclude<JobAction, 'delete'>[] = ['cancel', 'suspend', 'resume', 'retry'];

type FilterQuery = Partial<Record<keyof typeof jobFilterFields, string>>;

export function registerJobRoutes(api: FastifyInstance, service: JobService, groupCommit: boolean): void {
  const submits = new SubmitBatcher(service, groupCommit);
  api.post<{ Body: Static<typeof NewJob> }>(
    '/jobs',
    {
      config: { access: 'member' },
      schema: {
        tags: ['jobs'],
        summary: 'Submit a job (201), or get the existing job of its key (200, Idempotent-Replayed: true)',
        body: Type.Ref('NewJob'),
        response: {
          200: Type.Ref('Job'),
          201: Type.Ref('Job'),
          ...problemResponses(400, 401, 403, 404, 409, 413, 415),
        },
      },
    },
    async (request, reply) => {
      // Concurrent submits are stored together (group commit); each gets its own result or error.
      const result = await submits.submit(specOf(request.body as Static<typeof NewJob>, 'body'), owner(request));
      if (!result.created) reply.header('idempotent-replayed', 'true');
      return reply.code(result.created ? 201 : 200).send(jobOut(result.job));
    },
  );

  api.post<{ Body: Static<typeof JobBatch> }>(
    '/jobs/batch',
    {
      config: { access: 'member' },
      schema: {
        tags: ['jobs'],
        summary: 'Submit up to 1,000 jobs in one transaction: all are stored, or none',
        body: JobBatch,
        response: {
          200: Type.Object({ jobs: Type.Array(Type.Ref('Job')), created: Type.Integer() }),
          201: Type.Object({ jobs: Type.Array(Type.Ref('Job')), created: Type.Integer() }),
          ...problemResponses(400, 401, 403, 404, 409, 413, 415),
        },
      },
    },
    async (request, reply) => {
      const specs = request.body.jobs.map((job, index) => specOf(job as Static<typeof NewJob>, `jobs[${index}]`));
      const results = await service.submit(specs, owner(request));
      const created = results.filter((result) => result.created).length;
      return reply.code(created > 0 ? 201 : 200).send({ jobs: results.map((result) => jobOut(result.job)), created });
    },
  );

  api.get<{ Querystring: Static<typeof JobListQuery> }>(
    '/jobs',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['jobs'],
        summary: 'List jobs: one page and the total number of matches',
        querystring: JobListQuery,
        response: { 200: JobPage, ...problemResponses(400, 401, 403) },
      },
    },
    async (request) => {
      const query = request.query;
      if (query.limit !== undefined && query.page_size !== undefined && query.limit !== query.page_size) {
        throw new InvalidInputError('limit', 'give limit or page_size (its alias), not both');
      }
      const limit = query.limit ?? query.page_size ?? DEFAULT_LIMIT;
      const page = query.page ?? 1;
      const order = query.order ?? '-created_at';
      const search = searchOf(request, query, { order, limit, offset: (page - 1) * limit });
      const { jobs, total } = await service.search(search);
      const now = Date.now();
      return { jobs: jobs.map((job) => jobOut(job, now)), page, limit, order, total };
    },
  );

  api.get<{ Params: Static<typeof IdParams> }>(
    '/jobs/:id',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['jobs'],
        summary: 'A job with its attempts, dependents and why it is where it is',
        params: IdParams,
        response: { 200: Type.Ref('JobDetail'), ...problemResponses(400, 401, 404) },
      },
    },
    async (request) => jobDetailOut(await service.detail(request.params.id, scopeOf(request))),
  );

  for (const action of ACTIONS) {
    api.post<{ Params: Static<typeof IdParams> }>(
      `/jobs/:id/${action}`,
      {
        config: { access: 'member' },
        schema: {
          tags: ['jobs'],
          summary: `${action[0]?.toUpperCase()}${action.slice(1)} a job${action === 'retry' ? ' (requeue it with its attempts reset)' : ''}; 409 with current_state when its state does not allow it`,
          params: IdParams,
          response: { 200: Type.Ref('Job'), ...problemResponses(400, 401, 403, 404, 409) },
        },
      },
      async (request) => {
        const job = await withCurrentState(service, request, () =>
          service.act(action, request.params.id, scopeOf(request)),
        );
        return jobOut(job as NonNullable<typeof job>);
      },
    );
  }

  api.delete<{ Params: Static<typeof IdParams> }>(
    '/jobs/:id',
    {
      config: { access: 'member' },
      schema: {
        tags: ['jobs'],
        summary: 'Delete a finished job and its logs (409 for a live job: cancel it first)',
        params: IdParams,
        response: { 204: Type.Null(), ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      await withCurrentState(service, request, () => service.act('delete', request.params.id, scopeOf(request)));
      return reply.code(204).send();
    },
  );

  api.post<{ Body: Static<typeof BatchAction> }>(
    '/jobs/actions',
    {
      config: { access: 'member' },
      schema: {
        tags: ['jobs'],
        summary:
          'Cancel, retry, delete, suspend or resume many jobs (by ids or by a filter), at most 10,000, in steps of 200',
        body: BatchAction,
        response: { 200: BatchResult, ...problemResponses(400, 401, 403, 413, 415) },
      },
    },
    async (request) => {
      const body = request.body;
      if ((body.ids === undefined) === (body.filter === undefined)) {
        throw new InvalidInputError('ids', 'give either ids or filter');
      }
      const scope = scopeOf(request, body.filter?.tenant);
      if (body.ids) return service.actMany(body.action as JobAction, { ids: body.ids }, scope, body.max);
      const search = searchOf(request, body.filter as FilterQuery, { order: 'created_at', limit: 1, offset: 0 });
      return service.actMany(body.action as JobAction, { search }, scope, body.max);
    },
  );
}

/** The tenant and user a submit is recorded under: always the token's. */
function owner(request: FastifyRequest): { tenant: string; user: string | null } {
  const { token } = principalOf(request);
  return { tenant: token.tenant, user: token.user };
}

/** Runs an action; an illegal move becomes a 409 naming the job's current state. */
async function withCurrentState<T>(
  service: JobService,
  request: FastifyRequest<{ Params: Static<typeof IdParams> }>,
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof InvalidStateError)) throw error;
    const current = await service.get(request.params.id, scopeOf(request));
    throw new HttpProblem(409, error.message, { current_state: current.status });
  }
}

/** A search from list filters, scoped to what the token may see. */
function searchOf(
  request: FastifyRequest,
  query: FilterQuery,
  page: { order: string; limit: number; offset: number },
): JobSearch {
  if (!ORDER_VALUES.includes(page.order)) {
    throw new InvalidInputError('order', `"${page.order}" is not an order; use one of ${ORDER_VALUES.join(', ')}`);
  }
  const descending = page.order.startsWith('-');
  return {
    ...scopeOf(request, query.tenant),
    statuses: query.status === undefined ? undefined : statusesOf(query.status),
    queue: query.queue,
    type: query.type,
    group: query.group,
    key: query.key,
    scheduler: query.scheduler as JobSearch['scheduler'],
    nameOrKeyContains: query.q,
    order: (descending ? page.order.slice(1) : page.order) as SearchOrder,
    descending,
    limit: page.limit,
    offset: page.offset,
    now: Date.now(),
  };
}

function statusesOf(text: string): (JobStatus | 'delayed' | 'blocked')[] {
  const words = text
    .split(',')
    .map((word) => word.trim())
    .filter(Boolean);
  for (const word of words) {
    if (!(STATUS_WORDS as readonly string[]).includes(word)) {
      throw new InvalidInputError('status', `"${word}" is not a state; use ${STATUS_WORDS.join(', ')}`);
    }
  }
  return words as (JobStatus | 'delayed' | 'blocked')[];
}

/** A request body's job as the library's JobSpec; `field` prefixes error names in a batch. */
function specOf(body: Static<typeof NewJob>, field: string): JobSpec {
  const at = (name: string) => (field === 'body' ? name : `${field}.${name}`);
  if (body.key !== undefined && body.idempotency_key !== undefined) {
    throw new InvalidInputError(at('idempotency_key'), 'is an alias of key; give one of them');
  }
  if (body.run_at !== undefined && body.delay_sec !== undefined) {
    throw new InvalidInputError(at('delay_sec'), 'give run_at or delay_sec, not both');
  }
  const isCommand = body.type === undefined || body.type === 'command';
  if (isCommand && (body.cmd === undefined) === (body.argv === undefined)) {
    throw new InvalidInputError(
      at('cmd'),
      'a command job needs cmd (a shell line) or argv (a program and its arguments)',
    );
  }
  if (!isCommand && (body.cmd !== undefined || body.argv !== undefined)) {
    throw new InvalidInputError(at('cmd'), `a job of type ${body.type} takes params, not cmd or argv`);
  }
  let runAt: number | undefined;
  if (body.run_at !== undefined) {
    runAt = Date.parse(body.run_at);
    if (!/^\d{4}-\d{2}-\d{2}T/.test(body.run_at) || Number.isNaN(runAt)) {
      throw new InvalidInputError(at('run_at'), `"${body.run_at}" is not an ISO-8601 time like 2030-01-31T12:00:00Z`);
    }
  }
  if (body.delay_sec !== undefined) runAt = Date.now() + body.delay_sec * 1000;
  const resources = body.resources ?? {};
  return {
    type: body.type,
    params: body.params,
    command: body.cmd,
    argv: body.argv,
    cwd: body.cwd,
    env: body.env,
    name: body.name,
    queue: body.queue,
    group: body.group,
    priority: body.priority,
    runAt,
    dependsOn: body.depends_on,
    timeLimitSeconds: body.timeout_sec,
    maxAttempts: body.max_attempts,
    retry: {
      ...(body.retry_delay_sec !== undefined && { delaySeconds: body.retry_delay_sec }),
      ...(body.backoff !== undefined && { backoff: body.backoff }),
    },
    resources: {
      cpuCount: resources.cpu_count ?? undefined,
      memoryBytes: resources.memory_bytes ?? undefined,
      gpuCount: resources.gpu_count ?? undefined,
      partition: resources.partition ?? undefined,
      account: resources.account ?? undefined,
      pin: resources.pin ?? undefined,
    },
    scheduler: body.scheduler,
    key: (body.key ?? body.idempotency_key) as JobSpec['key'],
  };
}

export { HttpProblem };
