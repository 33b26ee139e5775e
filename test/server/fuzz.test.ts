/**
 * A fuzz test: at least 1,000 generated malformed requests — bad JSON, wrong types, huge numbers,
 * unicode, path tricks, oversized bodies, bad tokens, roles that may not — get 0 responses ≥ 500;
 * the server stays up and the store is unchanged.
 */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHome, type TestHome } from '../helpers/cli.js';
import { call, createToken, startServer, type TestServer } from '../helpers/server.js';

let home: TestHome;
let server: TestServer;
let admin: string;
let member: string;
let viewer: string;
let stranger: string;
const ids: number[] = [];

beforeAll(async () => {
  home = makeHome();
  server = await startServer(home);
  admin = server.adminToken;
  member = await createToken(home, 'default', 'member');
  viewer = await createToken(home, 'default', 'viewer');
  stranger = await createToken(home, 'elsewhere', 'member');
  for (const cmd of ['echo a', 'echo b', 'echo c']) {
    ids.push((await call(server, member, 'POST', '/jobs', { cmd, delay_sec: 86_400, key: cmd })).body.id);
  }
});

afterAll(async () => {
  await server?.stop();
  await home?.cleanup();
});

/** A small seeded generator, so a failure can be replayed. */
function generator(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  return { next, pick };
}

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}

const WEIRD_VALUES: unknown[] = [
  null,
  true,
  -1,
  0,
  1e308,
  -1e308,
  2 ** 63,
  1.5,
  '',
  ' ',
  '😀'.repeat(50),
  '\u0000',
  '../../etc/passwd',
  '<script>alert(1)</script>',
  "'; DROP TABLE jobs; --",
  '%00',
  [],
  [1, 'two', null],
  {},
  { nested: { deeper: [1, 2, 3] } },
  'x'.repeat(70_000),
];
const FIELDS = [
  'cmd',
  'argv',
  'type',
  'params',
  'priority',
  'queue',
  'delay_sec',
  'run_at',
  'depends_on',
  'max_attempts',
  'timeout_sec',
  'env',
  'cwd',
  'resources',
  'scheduler',
  'key',
  'backoff',
  'name',
  'group',
  'retry_delay_sec',
];
const PATH_TRICKS = [
  '/jobs/../openapi.json',
  '/jobs/%2e%2e/%2e%2e/etc/passwd',
  '/jobs/1%00',
  '/jobs/1;rm -rf',
  '/jobs/0x10',
  '/jobs/1e3',
  '/jobs/99999999999999999999999',
  '/jobs/-1/cancel',
  '/jobs/ID/logs?stream=../../../../etc/passwd',
  '/jobs/ID/logs?offset=-5',
  '/jobs/ID/logs?tail=999999999',
  '/jobs/ID/logs?follow=maybe',
  '/jobs/ID/explode',
  '/jobs?limit=1e999',
  '/jobs?page=NaN',
  '/jobs?status=%ff%fe',
  "/jobs?order=' OR 1=1 --",
  '/jobs?order=-',
  '/jobs?limit=5&limit=6',
  '/jobs?tenant=elsewhere',
  '/job-types/..%2f..%2fetc',
  '/queues/..%2Fx',
  '/stats?window=forever',
  '/stats?window=0s',
  '/events?last_event_id=-1',
  '//jobs',
  '/jobs/ID/logs/../../../../etc/passwd',
  '/%E0%A4%A',
  `/jobs/${'9'.repeat(300)}`,
];

function malformedJob(rng: ReturnType<typeof generator>): string {
  const job: Record<string, unknown> = {};
  for (let i = 0; i < 1 + Math.floor(rng.next() * 4); i++) job[rng.pick(FIELDS)] = rng.pick(WEIRD_VALUES);
  // Always one thing no valid job has, so nothing generated here may be stored.
  const poison = rng.pick(['unknown', 'type', 'range', 'json'] as const);
  if (poison === 'unknown') job[`x_${Math.floor(rng.next() * 1e6)}`] = 1;
  if (poison === 'type') job.priority = rng.pick(['high', [], {}, true, 1.5]);
  if (poison === 'range') job.max_attempts = rng.pick([0, -1, 1e12, 1001]);
  const text = JSON.stringify(job);
  return poison === 'json' ? text.slice(0, Math.max(1, Math.floor(rng.next() * text.length))) : text;
}

function generate(count: number, rng: ReturnType<typeof generator>): FuzzRequest[] {
  const requests: FuzzRequest[] = [];
  const json = { 'content-type': 'application/json' };
  const tokens = [member, viewer, stranger, admin];
  const auth = (token: string) => ({ authorization: `Bearer ${token}` });
  while (requests.length < count) {
    const id = rng.pick(ids);
    const kind = rng.next();
    if (kind < 0.3) {
      const body = malformedJob(rng);
      requests.push(
        rng.pick([
          { method: 'POST', path: '/jobs', headers: { ...json, ...auth(rng.pick(tokens)) }, body },
          { method: 'POST', path: '/jobs/batch', headers: { ...json, ...auth(member) }, body: `{"jobs":[${body}]}` },
          {
            method: 'POST',
            path: '/jobs/batch',
            headers: { ...json, ...auth(member) },
            body: JSON.stringify({ jobs: [] }),
          },
        ]),
      );
    } else if (kind < 0.4) {
      // Well-formed actions only with tokens that may not act on these jobs; members get broken ones.
      const wellFormed = rng.pick([
        JSON.stringify({ action: 'cancel', filter: { status: rng.pick(['', 'pending', 'delayed']) } }),
        JSON.stringify({ action: 'delete', ids: [id] }),
        JSON.stringify({ action: 'cancel', ids: [id] }),
      ]);
      const broken = rng.pick([
        JSON.stringify({ action: rng.pick(['explode', '', null]), ids: [id] }),
        JSON.stringify({ action: 'cancel', ids: rng.pick([[], ['1'], [0], [id, -1]]) }),
        JSON.stringify({ action: 'cancel', filter: { status: rng.pick(WEIRD_VALUES.filter((v) => v !== '')) } }),
        JSON.stringify({ action: 'cancel', ids: [id], max: 0 }),
        JSON.stringify({ action: 'cancel', ids: [id], filter: {} }),
        '{"action":',
      ]);
      requests.push(
        rng.next() < 0.5
          ? {
              method: 'POST',
              path: '/jobs/actions',
              headers: { ...json, ...auth(rng.pick([viewer, stranger])) },
              body: wellFormed,
            }
          : { method: 'POST', path: '/jobs/actions', headers: { ...json, ...auth(member) }, body: broken },
      );
    } else if (kind < 0.5) {
      requests.push({
        method: rng.pick(['POST', 'DELETE']),
        path: rng.pick([`/jobs/${id}/cancel`, `/jobs/${id}/retry`, `/jobs/${id}/suspend`, `/jobs/${id}`]),
        headers: auth(rng.pick([viewer, stranger])),
      });
    } else if (kind < 0.65) {
      requests.push({
        method: rng.pick(['GET', 'POST', 'DELETE', 'PATCH', 'PUT', 'OPTIONS']),
        path: rng.pick(PATH_TRICKS).replace('ID', String(id)),
        headers: auth(rng.pick([viewer, stranger])),
      });
    } else if (kind < 0.75) {
      requests.push({
        method: 'GET',
        path: rng.pick(['/jobs', `/jobs/${id}`, '/queues', '/metrics', '/events']),
        headers: rng.pick<Record<string, string>>([
          {},
          { authorization: 'Bearer' },
          { authorization: 'Bearer ' },
          { authorization: `Bearer ${member}x` },
          { authorization: `Bearer ${'A'.repeat(5000)}` },
          { authorization: 'Bearer dkt_' },
          { authorization: 'Token abc' },
          { authorization: `bearer ${'é'.repeat(10)}` },
          { authorization: `Bearer ${member}, Bearer ${admin}` },
        ]),
      });
    } else if (kind < 0.8) {
      requests.push({
        method: 'POST',
        path: '/jobs',
        headers: { ...json, ...auth(member) },
        body: Buffer.alloc(1024 * 1024 + 1 + Math.floor(rng.next() * 1000), 0x61),
      });
    } else if (kind < 0.9) {
      requests.push({
        method: rng.pick(['POST', 'PATCH']),
        path: rng.pick(['/jobs', '/queues/default', '/jobs/actions']),
        headers: {
          ...auth(rng.pick([member, admin])),
          'content-type': rng.pick([
            'text/plain',
            'application/xml',
            'application/json; charset=latin1',
            'multipart/form-data',
          ]),
        },
        body: rng.pick(['{}', '<job/>', 'cmd=true', '\u0000\u0001']),
      });
    } else {
      const deep = rng.pick(['[', '{"a":']).repeat(5000 + Math.floor(rng.next() * 20_000));
      requests.push({
        method: rng.pick(['POST', 'PATCH']),
        path: rng.pick(['/jobs', '/queues/default']),
        headers: { ...json, ...auth(rng.pick([member, admin])) },
        body: rng.pick([
          deep,
          `{"capacity": ${rng.pick(['1e999', '-0', '"3"', 'NaN', '[]'])}}`,
          '\ufeff{}',
          '{"cmd":"true"}{"cmd":"true"}',
        ]),
      });
    }
  }
  return requests;
}

/** Sends exactly the bytes given (fetch would normalise `..` in paths). */
function send(baseUrl: string, request: FuzzRequest): Promise<number> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: request.method,
        // Spaces and non-ASCII must be escaped on the wire; `..` and `%` tricks go as they are.
        path: request.path.replace(/[^\x21-\x7e]/g, (char) => encodeURIComponent(char)),
        headers: request.headers,
      },
      (response) => {
        response.resume();
        // An event stream stays open: its status is all we need.
        if ((response.headers['content-type'] ?? '').startsWith('text/event-stream')) response.destroy();
        resolve(response.statusCode ?? 0);
      },
    );
    outgoing.setTimeout(30_000, () => outgoing.destroy(new Error(`timeout: ${request.method} ${request.path}`)));
    outgoing.on('error', (error) => {
      // The server may answer 413 and close before the whole oversized body is sent.
      if ((error as NodeJS.ErrnoException).code === 'EPIPE' || (error as NodeJS.ErrnoException).code === 'ECONNRESET')
        resolve(413);
      else reject(error);
    });
    outgoing.end(request.body);
  });
}

async function snapshot() {
  const jobs = await call(server, admin, 'GET', '/jobs?limit=1000&order=created_at');
  const progress = await home.json(['progress']);
  const queues = await call(server, admin, 'GET', '/queues');
  const tokens = await home.json(['token', 'list']);
  return {
    jobs: jobs.body,
    progress,
    queues: queues.body.queues.map((q: { name: string; capacity: unknown; paused: unknown; counts: unknown }) => [
      q.name,
      q.capacity,
      q.paused,
      q.counts,
    ]),
    tokens,
  };
}

describe('fuzzing the API', () => {
  it('answers 1,200 malformed requests without a 5xx, stays up, and changes nothing', async () => {
    const before = await snapshot();
    const rng = generator(Number(process.env.DOCKET_FUZZ_SEED ?? 9457));
    const requests = generate(1200, rng);
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    for (let start = 0; start < requests.length; start += 16) {
      const batch = requests.slice(start, start + 16);
      const results = await Promise.all(batch.map((request) => send(server.url, request)));
      results.forEach((status, index) => {
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        const request = batch[index] as FuzzRequest;
        if (status >= 500 || status === 0) {
          failures.push(`${status} ${request.method} ${request.path} ${String(request.body ?? '').slice(0, 80)}`);
        }
      });
    }
    expect(failures).toEqual([]);
    expect(requests.length).toBeGreaterThanOrEqual(1000);
    // Almost everything is refused; only reads (200) and SSE may succeed.
    expect([...statuses.keys()].every((status) => status < 500)).toBe(true);
    expect((await call(server, null, 'GET', '/healthz')).status).toBe(200);
    expect(await snapshot()).toEqual(before);
  });
});
