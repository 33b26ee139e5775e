/** Queues, progress summaries, workers, stats and the caller's identity. */
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { InvalidInputError } from '../../core/errors.js';
import { parseDuration } from '../../core/units.js';
import type { Docket } from '../../docket.js';
import { principalOf, scopeOf } from '../auth.js';
import { iso, queueOut, workerOut } from '../present.js';
import { Me, problemResponses, Queue, QueuePatch, Stats, Worker } from '../schemas.js';

/** The longest window /stats answers for (its buckets are minutes). */
const MAX_STATS_WINDOW_S = 24 * 3600;
const QueueName = Type.Object({ name: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.:@-]+$' }) });
const TenantQuery = Type.Object(
  { tenant: Type.Optional(Type.String({ maxLength: 128, description: 'admins only: one tenant' })) },
  { additionalProperties: false },
);
const ProgressQuery = Type.Object(
  {
    type: Type.Optional(Type.String({ maxLength: 128 })),
    queue: Type.Optional(Type.String({ maxLength: 128 })),
    tenant: Type.Optional(Type.String({ maxLength: 128, description: 'admins only: one tenant' })),
  },
  { additionalProperties: false },
);
const StatsQuery = Type.Object(
  {
    window: Type.Optional(Type.String({ maxLength: 32, description: 'how far back: 15m, 1h (default), up to 24h' })),
    tenant: Type.Optional(Type.String({ maxLength: 128, description: 'admins only: one tenant' })),
  },
  { additionalProperties: false },
);

export function registerOverviewRoutes(api: FastifyInstance, docket: Docket): void {
  const service = docket.service;

  api.get(
    '/me',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['meta'],
        summary: "The token's tenant, user and role",
        response: { 200: Me, ...problemResponses(401) },
      },
    },
    async (request) => {
      const { token } = principalOf(request);
      return {
        tenant: token.tenant,
        user: token.user,
        role: token.role,
        token_id: token.id,
        token_name: token.name,
        expires_at: iso(token.expiresAt),
      };
    },
  );

  api.get<{ Querystring: Static<typeof TenantQuery> }>(
    '/queues',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['queues'],
        summary: 'Queues with counts by state (of your tenant), capacity, paused, running and oldest pending age',
        querystring: TenantQuery,
        response: { 200: Type.Object({ queues: Type.Array(Queue) }), ...problemResponses(400, 401, 403) },
      },
    },
    async (request) => {
      const now = Date.now();
      return { queues: (await service.queues(scopeOf(request, request.query.tenant))).map((q) => queueOut(q, now)) };
    },
  );

  api.patch<{ Params: Static<typeof QueueName>; Body: Static<typeof QueuePatch> }>(
    '/queues/:name',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['queues'],
        summary: 'Set a queue’s capacity (null: no limit) or pause/resume it (admins)',
        params: QueueName,
        body: QueuePatch,
        response: { 200: Queue, ...problemResponses(400, 401, 403, 413, 415) },
      },
    },
    async (request) => {
      await docket.setQueue(request.params.name, request.body);
      const queues = await service.queues({});
      const queue = queues.find((candidate) => candidate.name === request.params.name);
      if (!queue) throw new InvalidInputError('name', `queue ${request.params.name} vanished`);
      return queueOut(queue);
    },
  );

  api.get<{ Querystring: Static<typeof ProgressQuery> }>(
    '/progress',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['queues'],
        summary: 'A count for every state, zeros included (DataJoint’s progress), by type or queue',
        querystring: ProgressQuery,
        response: { 200: Type.Ref('Counts'), ...problemResponses(400, 401, 403) },
      },
    },
    async (request) => {
      const scope = scopeOf(request, request.query.tenant);
      return docket.counts({ type: request.query.type, queue: request.query.queue, tenant: scope.tenant });
    },
  );

  api.get(
    '/workers',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['workers'],
        summary: 'Registered workers: host, pid, queues, concurrency, running jobs (of your tenant), last heartbeat',
        response: { 200: Type.Object({ workers: Type.Array(Worker) }), ...problemResponses(401) },
      },
    },
    async (request) => ({ workers: (await service.workers(scopeOf(request))).map(workerOut) }),
  );

  api.get<{ Querystring: Static<typeof StatsQuery> }>(
    '/stats',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['queues'],
        summary: 'Finished jobs per minute by outcome, and wait/run time p50/p95, over a window',
        querystring: StatsQuery,
        response: { 200: Stats, ...problemResponses(400, 401, 403) },
      },
    },
    async (request) => {
      const windowS = parseDuration(request.query.window ?? '1h', 'window');
      if (windowS < 60 || windowS > MAX_STATS_WINDOW_S) {
        throw new InvalidInputError('window', 'must be between 1m and 24h');
      }
      const stats = await service.stats(Math.round(windowS * 1000), scopeOf(request, request.query.tenant));
      return {
        window_s: Math.round(windowS),
        from: iso(stats.from),
        to: iso(stats.to),
        finished: stats.finished,
        buckets: stats.buckets.map((bucket) => ({
          start: iso(bucket.start),
          counts: bucket.counts,
          wait_s: bucket.waitSeconds,
          run_s: bucket.runSeconds,
        })),
        wait_s: stats.waitSeconds,
        run_s: stats.runSeconds,
      };
    },
  );
}
