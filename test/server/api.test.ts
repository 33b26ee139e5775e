/**
 * Every endpoint and every error status of `docket serve`, against a real server process on the
 * run's engine, with a real HTTP client; every response checked against the served OpenAPI document.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHome, type TestHome, waitFor } from '../helpers/cli.js';
import {
  type ApiResponse,
  call,
  createToken,
  openApiChecker,
  startServer,
  type TestServer,
} from '../helpers/server.js';
import { openSse } from './sse.js';

let home: TestHome;
let server: TestServer;
let admin: string;
let member: string;
let check: (method: string, path: string, response: ApiResponse) => void;

/** Calls the API and checks the answer against the OpenAPI operation `route`. */
async function api(
  token: string | null,
  method: string,
  route: string,
  path: string,
  body?: unknown,
  headers?: Record<string, string>,
) {
  const response = await call(server, token, method, path, body, headers);
  check(method, route, response);
  return response;
}

beforeAll(async () => {
  home = makeHome();
  writeFileSync(
    join(home.home, 'docket.config.json'),
    JSON.stringify({
      groups: [{ name: 'media', queue: 'images', description: 'pictures' }],
      types: [
        {
          name: 'resize',
          group: 'media',
          suspendable: true,
          maxAttempts: 2,
          paramsSchema: {
            type: 'object',
            properties: { width: { type: 'integer', minimum: 1 } },
            required: ['width'],
            additionalProperties: false,
          },
        },
      ],
    }),
  );
  server = await startServer(home, ['--workers', '2']);
  admin = server.adminToken;
  member = await createToken(home, 'default', 'member', ['--user', 'ana']);
  check = openApiChecker((await call(server, null, 'GET', '/openapi.json')).body);
});

afterAll(async () => {
  await server?.stop();
  await home?.cleanup();
});

const finished = (id: number) =>
  waitFor(`job ${id} to end`, async () => {
    const job = (await call(server, admin, 'GET', `/jobs/${id}`)).body;
    return ['completed', 'failed', 'cancelled', 'timeout', 'skipped'].includes(job.status) && job;
  });

describe('jobs', () => {
  it('submits a command (201) and replays its key (200, Idempotent-Replayed)', async () => {
    const first = await api(member, 'POST', '/jobs', '/jobs', { cmd: 'echo hello', key: 'k-submit', name: 'greet' });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ name: 'greet', tenant: 'default', user: 'ana', key: 'k-submit' });
    const again = await api(member, 'POST', '/jobs', '/jobs', { cmd: 'echo other', idempotency_key: 'k-submit' });
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.id).toBe(first.body.id);
    const done = await finished(first.body.id);
    expect(done.status).toBe('completed');
  });

  it('submits typed jobs, checking params against the type schema', async () => {
    const ok = await api(member, 'POST', '/jobs', '/jobs', { type: 'resize', params: { width: 5 }, delay_sec: 3600 });
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({ type: 'resize', queue: 'images', group: 'media', max_attempts: 2, delayed: true });
    const bad = await api(member, 'POST', '/jobs', '/jobs', { type: 'resize', params: { width: 'wide' } });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toContain('application/problem+json');
    expect(bad.body.detail).toMatch(/width/);
    const unknown = await api(member, 'POST', '/jobs', '/jobs', { type: 'nope', params: {} });
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors[0].field).toBe('type');
  });

  it('refuses a NUL character anywhere in a job (PostgreSQL cannot store one), naming the field, and stores nothing', async () => {
    const before = (await api(admin, 'GET', '/jobs', '/jobs?limit=1')).body.total;
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ cmd: 'true', name: 'a\u0000b', delay_sec: 3600 }, /^name/],
      [{ argv: ['echo', 'x\u0000'], delay_sec: 3600 }, /^argv/],
      [{ cmd: 'true', env: { A: '\u0000' }, delay_sec: 3600 }, /^env/],
      [{ cmd: 'true', key: { batch: 'b\u0000' }, delay_sec: 3600 }, /^key/],
    ];
    // Concurrent, so that on a store with group commit they go into one batch.
    const answers = await Promise.all(cases.map(([body]) => api(member, 'POST', '/jobs', '/jobs', body)));
    for (const [index, answer] of answers.entries()) {
      expect(answer.status, JSON.stringify(answer.body)).toBe(400);
      expect(answer.body.errors[0].field).toMatch((cases[index] as [unknown, RegExp])[1]);
      expect(answer.body.detail).toMatch(/NUL/);
    }
    expect((await api(admin, 'GET', '/jobs', '/jobs?limit=1')).body.total).toBe(before);
  });

  it('stores a batch in one transaction: all or none', async () => {
    const before = (await api(admin, 'GET', '/jobs', '/jobs?limit=1')).body.total;
    const bad = await api(member, 'POST', '/jobs/batch', '/jobs/batch', {
      jobs: [
        { cmd: 'true', delay_sec: 3600 },
        { cmd: 'true', queue: 'bad queue!' },
      ],
    });
    expect(bad.status).toBe(400);
    expect((await api(admin, 'GET', '/jobs', '/jobs?limit=1')).body.total).toBe(before);
    const good = await api(member, 'POST', '/jobs/batch', '/jobs/batch', {
      jobs: [
        { cmd: 'true', delay_sec: 3600, queue: 'batchq' },
        { argv: ['true'], delay_sec: 3600, queue: 'batchq', priority: 7 },
      ],
    });
    expect(good.status).toBe(201);
    expect(good.body.created).toBe(2);
    expect((await api(admin, 'GET', '/jobs', '/jobs?limit=1')).body.total).toBe(before + 2);
  });

  it('lists with filters, order, paging and the real total', async () => {
    for (let i = 0; i < 5; i++) {
      await api(member, 'POST', '/jobs', '/jobs', {
        cmd: 'true',
        name: `listme-${i}`,
        queue: 'listq',
        delay_sec: 3600,
        priority: i,
      });
    }
    const page1 = await api(member, 'GET', '/jobs', '/jobs?queue=listq&limit=2&order=-priority');
    expect(page1.status).toBe(200);
    expect(page1.body).toMatchObject({ page: 1, limit: 2, order: '-priority', total: 5 });
    expect(page1.body.jobs.map((job: { name: string }) => job.name)).toEqual(['listme-4', 'listme-3']);
    const page3 = await api(member, 'GET', '/jobs', '/jobs?queue=listq&page_size=2&page=3&order=priority');
    expect(page3.body.total).toBe(5);
    expect(page3.body.jobs.map((job: { name: string }) => job.name)).toEqual(['listme-4']);
    const beyond = await api(member, 'GET', '/jobs', '/jobs?queue=listq&limit=2&page=9');
    expect(beyond.body).toMatchObject({ jobs: [], total: 5 });
    expect((await api(member, 'GET', '/jobs', '/jobs?q=LISTME-3')).body.total).toBe(1);
    expect((await api(member, 'GET', '/jobs', '/jobs?queue=listq&status=delayed')).body.total).toBe(5);
    expect((await api(member, 'GET', '/jobs', '/jobs?queue=listq&status=running,blocked')).body.total).toBe(0);
    expect((await api(member, 'GET', '/jobs', '/jobs?key=k-submit')).body.total).toBe(1);
    expect((await api(member, 'GET', '/jobs', '/jobs?type=resize&group=media')).body.total).toBe(1);
    expect((await api(member, 'GET', '/jobs', '/jobs?scheduler=slurm')).body.total).toBe(0);
  });

  it('searches names and keys with q, within the tenant', async () => {
    const other = await createToken(home, 'other-tenant', 'member');
    await api(member, 'POST', '/jobs', '/jobs', { cmd: 'true', name: 'nightly', key: 'Invoice-2041', delay_sec: 3600 });
    await api(member, 'POST', '/jobs', '/jobs', { cmd: 'true', name: 'invoice-2042', delay_sec: 3600 });
    await api(other, 'POST', '/jobs', '/jobs', { cmd: 'true', name: 'x', key: 'invoice-2043', delay_sec: 3600 });
    const mine = await api(member, 'GET', '/jobs', '/jobs?q=INVOICE-204');
    expect(mine.body.jobs.map((job: { name: string }) => job.name).sort()).toEqual(['invoice-2042', 'nightly']);
    expect(mine.body.total).toBe(2);
    expect((await api(member, 'GET', '/jobs', '/jobs?q=2043')).body.total).toBe(0);
    expect((await api(other, 'GET', '/jobs', '/jobs?q=invoice')).body.jobs).toMatchObject([{ key: 'invoice-2043' }]);
    // LIKE's wildcards are plain text in q.
    expect((await api(member, 'GET', '/jobs', '/jobs?q=invoice_2041')).body.total).toBe(0);
  });

  it('refuses bad list parameters with a 400 naming them', async () => {
    for (const [query, field] of [
      ['order=rm -rf', 'order'],
      ['status=done', 'status'],
      ['limit=1001', 'limit'],
      ['limit=0', 'limit'],
      ['page=-1', 'page'],
      ['page=abc', 'page'],
      ['scheduler=pbs', 'scheduler'],
      ['colour=red', 'colour'],
      ['limit=5&page_size=6', 'limit'],
    ]) {
      const response = await api(member, 'GET', '/jobs', `/jobs?${query}`);
      expect(response.status, query).toBe(400);
      expect(response.body.errors[0].field, query).toBe(field);
    }
  });

  it('shows a job with attempts, dependents and why it waits', async () => {
    const parent = (await api(member, 'POST', '/jobs', '/jobs', { cmd: 'true', delay_sec: 3600 })).body;
    const child = (await api(member, 'POST', '/jobs', '/jobs', { cmd: 'true', depends_on: [parent.id] })).body;
    const shownParent = await api(member, 'GET', '/jobs/{id}', `/jobs/${parent.id}`);
    expect(shownParent.body.dependents).toEqual([child.id]);
    expect(shownParent.body.state_reason).toMatch(/^delayed until \d{4}-/);
    const shownChild = await api(member, 'GET', '/jobs/{id}', `/jobs/${child.id}`);
    expect(shownChild.body).toMatchObject({ blocked: true, state_reason: `blocked by #${parent.id}`, executions: [] });
    await api(member, 'POST', '/jobs/{id}/cancel', `/jobs/${parent.id}/cancel`);
    const skipped = await api(member, 'GET', '/jobs/{id}', `/jobs/${child.id}`);
    expect(skipped.body.status).toBe('skipped');
    expect(skipped.body.state_reason).toBe(`skipped because dependency #${parent.id} ended cancelled`);
    const missing = await api(member, 'GET', '/jobs/{id}', '/jobs/999999');
    expect(missing.status).toBe(404);
    for (const bad of ['abc', '0', '-3', '1.5', '99999999999999999999']) {
      const response = await api(member, 'GET', '/jobs/{id}', `/jobs/${bad}`);
      expect(response.status, bad).toBe(400);
      expect(response.body.errors[0].field).toBe('id');
    }
    const unknownDep = await api(member, 'POST', '/jobs', '/jobs', { cmd: 'true', depends_on: [999999] });
    expect(unknownDep.status).toBe(400);
    expect(unknownDep.body.errors[0].field).toBe('depends_on');
  });

  it('cancels, suspends, resumes, retries; an illegal move is a 409 with the current state', async () => {
    const job = (await api(member, 'POST', '/jobs', '/jobs', { cmd: 'true', delay_sec: 3600 })).body;
    expect((await api(member, 'POST', '/jobs/{id}/suspend', `/jobs/${job.id}/suspend`)).body.status).toBe('suspended');
    const twice = await api(member, 'POST', '/jobs/{id}/suspend', `/jobs/${job.id}/suspend`);
    expect(twice.status).toBe(409);
    expect(twice.body.current_state).toBe('suspended');
    expect((await api(member, 'POST', '/jobs/{id}/resume', `/jobs/${job.id}/resume`)).body.status).toBe('pending');
    const early = await api(member, 'POST', '/jobs/{id}/retry', `/jobs/${job.id}/retry`);
    expect(early.status).toBe(409);
    expect(early.body.current_state).toBe('pending');
    expect((await api(member, 'POST', '/jobs/{id}/cancel', `/jobs/${job.id}/cancel`)).body.status).toBe('cancelled');
    const again = await api(member, 'POST', '/jobs/{id}/cancel', `/jobs/${job.id}/cancel`);
    expect(again).toMatchObject({ status: 409, body: { current_state: 'cancelled' } });
    const retried = await api(member, 'POST', '/jobs/{id}/retry', `/jobs/${job.id}/retry`);
    expect(retried.body).toMatchObject({ status: 'pending', attempts: 0 });
    expect((await api(member, 'POST', '/jobs/{id}/cancel', '/jobs/999999/cancel')).status).toBe(404);
  });

  it('deletes finished jobs only (409 for a live one, then 404)', async () => {
    const job = (await api(member, 'POST', '/jobs', '/jobs', { cmd: 'true', delay_sec: 3600 })).body;
    const live = await api(member, 'DELETE', '/jobs/{id}', `/jobs/${job.id}`);
    expect(live).toMatchObject({ status: 409, body: { current_state: 'pending' } });
    await api(member, 'POST', '/jobs/{id}/cancel', `/jobs/${job.id}/cancel`);
    expect((await api(member, 'DELETE', '/jobs/{id}', `/jobs/${job.id}`)).status).toBe(204);
    expect((await api(member, 'GET', '/jobs/{id}', `/jobs/${job.id}`)).status).toBe(404);
    expect((await api(member, 'DELETE', '/jobs/{id}', `/jobs/${job.id}`)).status).toBe(404);
  });

  it('acts on many jobs by ids or by filter, capped', async () => {
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await api(member, 'POST', '/jobs', '/jobs', { cmd: 'true', queue: 'bulkq', delay_sec: 3600 })).body.id);
    }
    const tooMany = await api(member, 'POST', '/jobs/actions', '/jobs/actions', {
      action: 'cancel',
      filter: { queue: 'bulkq' },
      max: 2,
    });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.errors[0].field).toBe('max');
    expect((await api(member, 'GET', '/jobs', '/jobs?queue=bulkq&status=pending')).body.total).toBe(3);
    const byIds = await api(member, 'POST', '/jobs/actions', '/jobs/actions', {
      action: 'suspend',
      ids: [ids[0], 999999],
    });
    expect(byIds.body).toEqual({ matched: 1, changed: 1, failed: [] });
    const byFilter = await api(member, 'POST', '/jobs/actions', '/jobs/actions', {
      action: 'cancel',
      filter: { queue: 'bulkq', status: 'pending,suspended' },
    });
    expect(byFilter.body).toEqual({ matched: 3, changed: 3, failed: [] });
    const retry = await api(member, 'POST', '/jobs/actions', '/jobs/actions', { action: 'resume', ids });
    expect(retry.body.matched).toBe(3);
    expect(retry.body.changed).toBe(0);
    expect(retry.body.failed).toHaveLength(3);
    expect((await api(member, 'POST', '/jobs/actions', '/jobs/actions', { action: 'delete', ids })).body.changed).toBe(
      3,
    );
    for (const body of [{ action: 'cancel' }, { action: 'explode', ids }, { action: 'cancel', ids, filter: {} }]) {
      expect((await api(member, 'POST', '/jobs/actions', '/jobs/actions', body)).status).toBe(400);
    }
  });

  it('reads logs as text and follows them until the job ends', async () => {
    const job = (await api(member, 'POST', '/jobs', '/jobs', { cmd: 'echo one; echo two; echo oops >&2' })).body;
    await finished(job.id);
    const out = await api(member, 'GET', '/jobs/{id}/logs', `/jobs/${job.id}/logs`);
    expect(out.text).toBe('one\ntwo\n');
    expect(out.headers.get('content-type')).toContain('text/plain');
    expect((await api(member, 'GET', '/jobs/{id}/logs', `/jobs/${job.id}/logs?stream=stderr`)).text).toBe('oops\n');
    expect((await api(member, 'GET', '/jobs/{id}/logs', `/jobs/${job.id}/logs?tail=1`)).text).toBe('two\n');
    expect((await api(member, 'GET', '/jobs/{id}/logs', `/jobs/${job.id}/logs?offset=4`)).text).toBe('two\n');
    expect((await api(member, 'GET', '/jobs/{id}/logs', `/jobs/${job.id}/logs?stream=../../etc/passwd`)).status).toBe(
      400,
    );
    const slow = (await api(member, 'POST', '/jobs', '/jobs', { cmd: 'echo start; sleep 1; echo end' })).body;
    const stream = await openSse(`${server.url}/jobs/${slow.id}/logs?follow=1&access_token=${member}`);
    await stream.ended;
    const text = stream.events
      .filter((e) => e.event === 'log')
      .map((e) => JSON.parse(e.data).text)
      .join('');
    expect(text).toBe('start\nend\n');
    expect(JSON.parse(stream.events.at(-1)?.data ?? '{}')).toEqual({ status: 'completed', exit_code: 0 });
  });
});

describe('catalog, queues, workers, figures', () => {
  it('lists job types and groups under both spellings', async () => {
    for (const base of ['/job-types', '/job_types']) {
      const types = await call(server, member, 'GET', base);
      check('GET', '/job-types', types);
      expect(types.body.job_types).toEqual([
        expect.objectContaining({ id: 'resize', queue: 'images', group: 'media', suspendable: true }),
      ]);
      expect(types.body.job_types[0].params_schema.required).toEqual(['width']);
      expect((await call(server, member, 'GET', `${base}/resize`)).body.defaults.max_attempts).toBe(2);
      expect((await call(server, member, 'GET', `${base}/nope`)).status).toBe(404);
    }
    for (const base of ['/job-groups', '/job_groups']) {
      const groups = await call(server, member, 'GET', base);
      check('GET', '/job-groups', groups);
      expect(groups.body.job_groups).toEqual([
        { id: 'media', name: 'media', queue: 'images', description: 'pictures' },
      ]);
      expect((await call(server, member, 'GET', `${base}/media`)).body.queue).toBe('images');
      expect((await call(server, member, 'GET', `${base}/nope`)).status).toBe(404);
    }
  });

  it('shows and changes queues (admins only)', async () => {
    const queues = await api(member, 'GET', '/queues', '/queues');
    const images = queues.body.queues.find((queue: { name: string }) => queue.name === 'images');
    expect(images).toMatchObject({ capacity: null, paused: false, running: 0 });
    expect(images.counts.pending).toBeGreaterThan(0);
    expect(images.oldest_pending_age_s).toBeGreaterThanOrEqual(0);
    expect((await api(member, 'PATCH', '/queues/{name}', '/queues/images', { paused: true })).status).toBe(403);
    const changed = await api(admin, 'PATCH', '/queues/{name}', '/queues/images', { capacity: 3, paused: true });
    expect(changed.body).toMatchObject({ name: 'images', capacity: 3, paused: true });
    const job = (await api(member, 'POST', '/jobs', '/jobs', { type: 'resize', params: { width: 1 } })).body;
    expect((await api(member, 'GET', '/jobs/{id}', `/jobs/${job.id}`)).body.state_reason).toBe(
      'queue images is paused',
    );
    expect((await api(admin, 'PATCH', '/queues/{name}', '/queues/images', { capacity: 0 })).status).toBe(400);
    expect((await api(admin, 'PATCH', '/queues/{name}', '/queues/images', {})).status).toBe(400);
    expect(
      (await api(admin, 'PATCH', '/queues/{name}', '/queues/images', { capacity: null, paused: false })).body,
    ).toMatchObject({
      capacity: null,
      paused: false,
    });
  });

  it('answers progress, workers, stats, me, health and metrics', async () => {
    const progress = await api(member, 'GET', '/progress', '/progress?queue=listq');
    expect(progress.body).toMatchObject({ pending: 5, running: 0, failed: 0, total: 5 });
    const workers = await api(member, 'GET', '/workers', '/workers');
    expect(Array.isArray(workers.body.workers)).toBe(true);
    const stats = await api(member, 'GET', '/stats', '/stats?window=15m');
    expect(stats.body.window_s).toBe(900);
    expect(stats.body.finished).toBeGreaterThan(0);
    expect(stats.body.buckets.length).toBeGreaterThanOrEqual(15);
    expect(stats.body.run_s.p50).not.toBeNull();
    expect((await api(member, 'GET', '/stats', '/stats?window=2d')).status).toBe(400);
    expect((await api(member, 'GET', '/me', '/me')).body).toMatchObject({
      tenant: 'default',
      user: 'ana',
      role: 'member',
    });
    expect((await api(null, 'GET', '/healthz', '/healthz')).body).toMatchObject({ status: 'ok' });
    expect((await api(member, 'GET', '/metrics', '/metrics')).status).toBe(403);
    const metrics = await api(admin, 'GET', '/metrics', '/metrics');
    expect(metrics.text).toContain('docket_jobs{');
  });
});

/** p50 and p95 of these values as SQL's percentile_cont computes them (interpolated); null for none. */
function percentiles(values: number[]): { p50: number | null; p95: number | null } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => {
    if (sorted.length === 0) return null;
    const position = q * (sorted.length - 1);
    const below = sorted[Math.floor(position)] as number;
    const above = sorted[Math.ceil(position)] as number;
    return below + (above - below) * (position - Math.floor(position));
  };
  return { p50: at(0.5), p95: at(0.95) };
}

/** What /stats should say, worked out from the jobs' own records; figures rounded to compare floats. */
// biome-ignore lint/suspicious/noExplicitAny: JSON records of the API
function statsFromJobs(jobs: any[], stats: any) {
  const ms = (text: string) => Date.parse(text);
  const round = (value: number | null) => (value === null ? null : Number(value.toFixed(6)));
  const rounded = (p: { p50: number | null; p95: number | null }) => ({ p50: round(p.p50), p95: round(p.p95) });
  const inWindow = jobs.filter((job) => job.ended_at !== null && ms(job.ended_at) >= ms(stats.from));
  const wait = (job: (typeof jobs)[number]) =>
    Math.max(0, ms(job.started_at) - Math.max(ms(job.created_at), ms(job.run_at))) / 1000;
  const run = (job: (typeof jobs)[number]) => Math.max(0, ms(job.ended_at) - ms(job.started_at)) / 1000;
  // biome-ignore lint/suspicious/noExplicitAny: JSON records of the API
  const figures = (of: any[]) => {
    const started = of.filter((job) => job.started_at !== null);
    return { wait_s: rounded(percentiles(started.map(wait))), run_s: rounded(percentiles(started.map(run))) };
  };
  return {
    finished: inWindow.length,
    ...figures(inWindow),
    // biome-ignore lint/suspicious/noExplicitAny: JSON records of the API
    buckets: stats.buckets.map((bucket: any) => {
      const start = ms(bucket.start);
      const of = inWindow.filter((job) => ms(job.ended_at) >= start && ms(job.ended_at) < start + 60_000);
      const counts: Record<string, number> = {};
      for (const job of of) counts[job.status] = (counts[job.status] ?? 0) + 1;
      return { start: bucket.start, counts, ...figures(of) };
    }),
  };
}

describe('stats', () => {
  it('gives counts and wait/run p50/p95 per minute and overall that match the jobs themselves', async () => {
    const finishedStates = 'completed,failed,cancelled,timeout,skipped';
    for (const cmd of ['true', 'sleep 0.2', 'false']) {
      await finished((await api(member, 'POST', '/jobs', '/jobs', { cmd, queue: 'statsq' })).body.id);
    }
    // A job may end between the two reads: compare again until both reads agree (or give up and show the diff).
    // biome-ignore lint/suspicious/noExplicitAny: JSON of the API
    let got: any;
    // biome-ignore lint/suspicious/noExplicitAny: JSON of the API
    let want: any;
    for (let attempt = 0; attempt < 10; attempt++) {
      const stats = (await api(member, 'GET', '/stats', '/stats?window=15m')).body;
      const jobs = (await api(member, 'GET', '/jobs', `/jobs?status=${finishedStates}&limit=1000`)).body.jobs;
      want = statsFromJobs(jobs, stats);
      const round = (value: number | null) => (value === null ? null : Number(value.toFixed(6)));
      // biome-ignore lint/suspicious/noExplicitAny: JSON of the API
      const rounded = (p: any) => p && { p50: round(p.p50), p95: round(p.p95) };
      got = {
        finished: stats.finished,
        wait_s: rounded(stats.wait_s),
        run_s: rounded(stats.run_s),
        // biome-ignore lint/suspicious/noExplicitAny: JSON of the API
        buckets: stats.buckets.map((bucket: any) => ({
          start: bucket.start,
          counts: bucket.counts,
          wait_s: rounded(bucket.wait_s),
          run_s: rounded(bucket.run_s),
        })),
      };
      if (isDeepStrictEqual(got, want)) break;
    }
    expect(got).toEqual(want);
    expect(want.finished).toBeGreaterThan(0);
    // biome-ignore lint/suspicious/noExplicitAny: JSON of the API
    expect(want.buckets.some((bucket: any) => bucket.run_s.p50 !== null)).toBe(true);
  });
});

describe('errors', () => {
  it('answers 401, 403, 404, 413, 415 and 400 with problem documents', async () => {
    const cases: [string, string, string, string | null, unknown, Record<string, string>, number][] = [
      ['GET', '/jobs', '/jobs', null, undefined, {}, 401],
      ['GET', '/jobs', '/jobs', 'dkt_not-a-token', undefined, {}, 401],
      ['GET', '/jobs', '/jobs', null, undefined, { authorization: 'Basic Zm9vOmJhcg==' }, 401],
      ['POST', '/jobs', '/jobs', member, '{"cmd": ', {}, 400],
      ['POST', '/jobs', '/jobs', member, { cmd: 'true', colour: 'red' }, {}, 400],
      ['POST', '/jobs', '/jobs', member, { cmd: 'true', priority: '5' }, {}, 400],
      ['POST', '/jobs', '/jobs', member, { cmd: 'true', priority: 1e300 }, {}, 400],
      ['POST', '/jobs', '/jobs', member, { cmd: 'true', argv: ['x'] }, {}, 400],
      ['POST', '/jobs', '/jobs', member, { cmd: 'true', run_at: 'tomorrow' }, {}, 400],
      ['POST', '/jobs', '/jobs', member, {}, {}, 400],
      ['POST', '/jobs', '/jobs', member, `{"cmd": "${'x'.repeat(1024 * 1024)}"}`, {}, 413],
      ['POST', '/jobs', '/jobs', member, 'cmd=true', { 'content-type': 'application/x-www-form-urlencoded' }, 415],
    ];
    for (const [method, route, path, token, body, headers, status] of cases) {
      const response = await api(token, method, route, path, body, headers);
      expect(response.status, `${method} ${path} ${String(body).slice(0, 40)}`).toBe(status);
      expect(response.headers.get('content-type')).toContain('application/problem+json');
      expect(response.body).toMatchObject({ status, title: expect.any(String), detail: expect.any(String) });
    }
    const unknownRoute = await call(server, member, 'GET', '/nothing/here');
    expect(unknownRoute.status).toBe(404);
    expect(unknownRoute.headers.get('content-type')).toContain('application/problem+json');
  });

  it('redirects the base path without its slash to the page, keeping the query', async () => {
    const proxiedHome = makeHome();
    const proxied = await startServer(proxiedHome, ['--base-path', '/under/proxy']);
    try {
      expect(proxied.url).toMatch(/\/under\/proxy$/);
      // Relative asset paths only work from `/under/proxy/`: the bare path must not answer the page.
      const bare = await fetch(`${proxied.url}?token=abc&x=1`, { redirect: 'manual' });
      expect([301, 308]).toContain(bare.status);
      expect(bare.headers.get('location')).toBe('/under/proxy/?token=abc&x=1');
      const page = await fetch(new URL(bare.headers.get('location') as string, proxied.url));
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('./assets/');
      const api = await call(proxied, proxied.adminToken, 'GET', '/jobs');
      expect(api.status).toBe(200);
    } finally {
      await proxied.stop();
      await proxiedHome.cleanup();
    }
  });

  it('serves the pages without a token, HTML with a strict CSP', async () => {
    const root = await call(server, null, 'GET', '/');
    expect(root.status).toBe(200);
    const docs = await call(server, null, 'GET', '/docs');
    expect(docs.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(docs.text).toContain('<script src="docs/app.js">');
    expect((await call(server, null, 'GET', '/docs/app.js')).status).toBe(200);
  });
});
