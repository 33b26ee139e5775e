/** Streams: the job event stream (`GET /events`) and job logs, read or followed (`GET /jobs/{id}/logs`). */
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { InvalidInputError } from '../../core/errors.js';
import { FINAL_STATUSES } from '../../core/words.js';
import type { JobService, Scope } from '../../job-service.js';
import { scopeOf } from '../auth.js';
import type { EventHub } from '../events.js';
import { HEARTBEAT_MS } from '../events.js';
import { IdParams, problemResponses } from '../schemas.js';

const EventsQuery = Type.Object(
  {
    last_event_id: Type.Optional(
      Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'like the Last-Event-ID header' }),
    ),
    tenant: Type.Optional(Type.String({ maxLength: 128, description: 'admins only: one tenant' })),
    access_token: Type.Optional(
      Type.String({ maxLength: 200, description: 'the token, for EventSource clients that cannot send headers' }),
    ),
  },
  { additionalProperties: false },
);

const LogsQuery = Type.Object(
  {
    stream: Type.Optional(Type.Union([Type.Literal('stdout'), Type.Literal('stderr')], { default: 'stdout' })),
    offset: Type.Optional(
      Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'start at this byte' }),
    ),
    tail: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, description: 'only the last N lines' })),
    follow: Type.Optional(
      Type.Union([Type.Literal('1'), Type.Literal('true'), Type.Literal('0'), Type.Literal('false')]),
    ),
    access_token: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);

/** How often a followed log is checked for more output. */
const FOLLOW_POLL_MS = 250;

export function registerEventRoutes(api: FastifyInstance, service: JobService, hub: EventHub): void {
  api.get<{ Querystring: Static<typeof EventsQuery> }>(
    '/events',
    {
      config: { access: 'viewer', tokenInQuery: true },
      schema: {
        tags: ['events'],
        summary:
          'Server-sent events: job.created, job.state, job.progress, job.deleted (each with an id; reconnect with Last-Event-ID) and queue.counts',
        querystring: EventsQuery,
        produces: ['text/event-stream'],
        response: { 200: Type.String({ description: 'text/event-stream' }), ...problemResponses(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const scope = scopeOf(request, request.query.tenant);
      const lastEventId = lastEventIdOf(request);
      openStream(reply);
      await hub.attach(reply.raw, scope, lastEventId);
    },
  );

  api.get<{ Params: Static<typeof IdParams>; Querystring: Static<typeof LogsQuery> }>(
    '/jobs/:id/logs',
    {
      config: { access: 'viewer', tokenInQuery: true },
      schema: {
        tags: ['jobs'],
        summary: 'A job’s stdout or stderr as text; with follow=1, server-sent `log` events until the job ends',
        params: IdParams,
        querystring: LogsQuery,
        produces: ['text/plain', 'text/event-stream'],
        response: { 200: Type.String(), ...problemResponses(400, 401, 404) },
      },
    },
    async (request, reply) => {
      const { stream = 'stdout', offset, tail } = request.query;
      const scope = scopeOf(request);
      if (offset !== undefined && tail !== undefined)
        throw new InvalidInputError('tail', 'give offset or tail, not both');
      const follow = request.query.follow === '1' || request.query.follow === 'true';
      const first = await service.readLog(request.params.id, scope, stream, { offset, tail });
      if (!follow) {
        reply.header('x-log-offset', String(first.end));
        return reply.type('text/plain; charset=utf-8').send(first.text);
      }
      openStream(reply);
      await followLog(service, reply, request.params.id, scope, stream, first);
    },
  );
}

function lastEventIdOf(request: FastifyRequest<{ Querystring: Static<typeof EventsQuery> }>): number | null {
  const header = request.headers['last-event-id'];
  if (typeof header === 'string' && header !== '') {
    if (!/^\d{1,15}$/.test(header))
      throw new InvalidInputError('Last-Event-ID', `"${header.slice(0, 40)}" is not an event id`);
    return Number(header);
  }
  return request.query.last_event_id ?? null;
}

function openStream(reply: FastifyReply): void {
  reply.hijack();
  reply.raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    'x-content-type-options': 'nosniff',
  });
}

/** Sends `log` events with new output until the job is final and its log fully sent, then `end`. */
async function followLog(
  service: JobService,
  reply: FastifyReply,
  id: number,
  scope: Scope,
  stream: 'stdout' | 'stderr',
  first: { text: string; end: number },
): Promise<void> {
  const response = reply.raw;
  let closed = false;
  response.once('close', () => {
    closed = true;
  });
  let offset = first.end;
  let lastWrite = Date.now();
  const send = (event: string, data: unknown) => {
    response.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    lastWrite = Date.now();
  };
  if (first.text) send('log', { offset: 0, end: offset, text: first.text });
  while (!closed) {
    const next = await service.readLog(id, scope, stream, { offset }).catch(() => null);
    if (next === null) break; // deleted meanwhile
    if (next.text) {
      send('log', { offset, end: next.end, text: next.text });
      offset = next.end;
      continue;
    }
    if (FINAL_STATUSES.includes(next.job.status)) {
      send('end', { status: next.job.status, exit_code: next.job.exitCode });
      break;
    }
    if (Date.now() - lastWrite > HEARTBEAT_MS) {
      response.write(': heartbeat\n\n');
      lastWrite = Date.now();
    }
    await new Promise((resolve) => setTimeout(resolve, FOLLOW_POLL_MS));
  }
  response.end();
}
