/**
 * The tenant matrix: tenant B acting on tenant A's job, key and events gets a 404 identical to a
 * missing job, or an empty result, and nothing changes (checked through the CLI); viewers are
 * refused on every mutating route; revoked and expired tokens are refused, also when the server
 * had the token verified in memory (PostgreSQL, with its listening connection cut: postgres-tokens.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHome, type TestHome, waitFor } from '../helpers/cli.js';
import { call, createToken, startServer, type TestServer } from '../helpers/server.js';
import { openSse } from './sse.js';

let home: TestHome;
let server: TestServer;
let tokenA: string;
let tokenB: string;
let viewerA: string;
let jobA: { id: number; key: string };
/** A job id that exists nowhere: what "missing" looks like. */
const MISSING = 987654;

beforeAll(async () => {
  home = makeHome();
  server = await startServer(home);
  tokenA = await createToken(home, 'tenant-a', 'member', ['--user', 'alice']);
  tokenB = await createToken(home, 'tenant-b', 'member', ['--user', 'bob']);
  viewerA = await createToken(home, 'tenant-a', 'viewer');
  jobA = (await call(server, tokenA, 'POST', '/jobs', { cmd: 'echo secret', key: 'shared-key', delay_sec: 3600 })).body;
});

afterAll(async () => {
  await server?.stop();
  await home?.cleanup();
});

/** The same request for A's job and for a missing one must look identical to B. */
function sameAsMissing(
  ofA: { status: number; body: unknown; text: string },
  ofMissing: { status: number; body: unknown; text: string },
) {
  expect(ofA.status).toBe(404);
  expect(ofA.text.replaceAll(String(jobA.id), 'N')).toBe(ofMissing.text.replaceAll(String(MISSING), 'N'));
}

describe('another tenant', () => {
  it('gets a 404 identical to a missing job on every job route, and nothing changes', async () => {
    const before = storedFields(await home.json(['status', String(jobA.id)]));
    const routes: [string, string, unknown?][] = [
      ['GET', '/jobs/ID'],
      ['GET', '/jobs/ID/logs'],
      ['GET', '/jobs/ID/logs?stream=stderr&tail=5'],
      ['POST', '/jobs/ID/cancel'],
      ['POST', '/jobs/ID/suspend'],
      ['POST', '/jobs/ID/resume'],
      ['POST', '/jobs/ID/retry'],
      ['DELETE', '/jobs/ID'],
    ];
    for (const [method, path] of routes) {
      const ofA = await call(server, tokenB, method, path.replace('ID', String(jobA.id)));
      const ofMissing = await call(server, tokenB, method, path.replace('ID', String(MISSING)));
      sameAsMissing(ofA, ofMissing);
    }
    const follow = await call(server, tokenB, 'GET', `/jobs/${jobA.id}/logs?follow=1`);
    expect(follow.status).toBe(404);
    const after = storedFields(await home.json(['status', String(jobA.id)]));
    expect(after).toEqual(before);
  });

  it('sees none of its jobs in lists, counts, queues, actions or dependencies', async () => {
    const list = await call(server, tokenB, 'GET', '/jobs?key=shared-key');
    expect(list.body).toMatchObject({ jobs: [], total: 0 });
    expect((await call(server, tokenB, 'GET', '/jobs')).body.total).toBe(0);
    expect((await call(server, tokenB, 'GET', '/progress')).body.total).toBe(0);
    const queues = (await call(server, tokenB, 'GET', '/queues')).body.queues;
    expect(queues.every((queue: { counts: { total: number } }) => queue.counts.total === 0)).toBe(true);
    const actions = await call(server, tokenB, 'POST', '/jobs/actions', { action: 'cancel', ids: [jobA.id] });
    expect(actions.body).toEqual({ matched: 0, changed: 0, failed: [] });
    const byFilter = await call(server, tokenB, 'POST', '/jobs/actions', {
      action: 'cancel',
      filter: { status: 'pending' },
    });
    expect(byFilter.body.matched).toBe(0);
    const dependsOnA = await call(server, tokenB, 'POST', '/jobs', { cmd: 'true', depends_on: [jobA.id] });
    const dependsOnMissing = await call(server, tokenB, 'POST', '/jobs', { cmd: 'true', depends_on: [MISSING] });
    expect(dependsOnA.status).toBe(400);
    expect(dependsOnA.text.replaceAll(String(jobA.id), 'N')).toBe(
      dependsOnMissing.text.replaceAll(String(MISSING), 'N'),
    );
    expect((await call(server, tokenB, 'GET', '/jobs?tenant=tenant-a')).status).toBe(403);
    expect((await home.json(['status', String(jobA.id)])).status).toBe('pending');
  });

  it('has keys of its own: the same key makes a separate job', async () => {
    const ofB = await call(server, tokenB, 'POST', '/jobs', { cmd: 'echo b', key: 'shared-key', delay_sec: 3600 });
    expect(ofB.status).toBe(201);
    expect(ofB.body.id).not.toBe(jobA.id);
    expect(ofB.body.tenant).toBe('tenant-b');
    const replayA = await call(server, tokenA, 'POST', '/jobs', { cmd: 'echo a', key: 'shared-key' });
    expect(replayA.status).toBe(200);
    expect(replayA.body.id).toBe(jobA.id);
  });

  it("receives none of A's events", async () => {
    const streamB = await openSse(`${server.url}/events`, { authorization: `Bearer ${tokenB}`, 'last-event-id': '0' });
    const streamA = await openSse(`${server.url}/events`, { authorization: `Bearer ${tokenA}`, 'last-event-id': '0' });
    const marker = (await call(server, tokenB, 'POST', '/jobs', { cmd: 'true', delay_sec: 3600 })).body;
    await call(server, tokenA, 'POST', `/jobs/${jobA.id}/suspend`);
    await streamA.until((event) => event.event === 'job.state' && JSON.parse(event.data).job_id === jobA.id);
    await streamB.until((event) => event.event === 'job.created' && JSON.parse(event.data).job_id === marker.id);
    await waitFor('the counts to go out', () => streamB.events.some((event) => event.event === 'queue.counts'));
    streamA.close();
    streamB.close();
    const jobEventsOfB = streamB.events
      .filter((event) => event.event.startsWith('job.'))
      .map((e) => JSON.parse(e.data));
    expect(jobEventsOfB.length).toBeGreaterThan(0);
    expect(jobEventsOfB.every((event) => event.tenant === 'tenant-b')).toBe(true);
    const counts = streamB.events.filter((event) => event.event === 'queue.counts').map((e) => JSON.parse(e.data));
    expect(counts.every((event) => event.counts.suspended === 0)).toBe(true);
    await call(server, tokenA, 'POST', `/jobs/${jobA.id}/resume`);
  });
});

describe('roles and token states', () => {
  it('refuses viewers on every mutating route, and changes nothing', async () => {
    const before = storedFields(await home.json(['status', String(jobA.id)]));
    const mutations: [string, string, unknown?][] = [
      ['POST', '/jobs', { cmd: 'true' }],
      ['POST', '/jobs/batch', { jobs: [{ cmd: 'true' }] }],
      ['POST', `/jobs/${jobA.id}/cancel`],
      ['POST', `/jobs/${jobA.id}/suspend`],
      ['POST', `/jobs/${jobA.id}/resume`],
      ['POST', `/jobs/${jobA.id}/retry`],
      ['DELETE', `/jobs/${jobA.id}`],
      ['POST', '/jobs/actions', { action: 'cancel', ids: [jobA.id] }],
      ['PATCH', '/queues/default', { paused: true }],
    ];
    for (const [method, path, body] of mutations) {
      const response = await call(server, viewerA, method, path, body);
      expect(response.status, `${method} ${path}`).toBe(403);
      expect(response.body.detail).toMatch(/viewer/);
    }
    expect((await call(server, tokenA, 'PATCH', '/queues/default', { paused: true })).status).toBe(403);
    expect((await call(server, viewerA, 'GET', `/jobs/${jobA.id}`)).status).toBe(200);
    expect(storedFields(await home.json(['status', String(jobA.id)]))).toEqual(before);
    expect(
      (await home.json(['queue', 'list'])).find((q: { name: string }) => q.name === 'default')?.paused ?? false,
    ).toBe(false);
  });

  it('refuses revoked and expired tokens', async () => {
    const created = await home.json(['token', 'create', '--tenant', 'tenant-a', '--role', 'member']);
    expect((await call(server, created.token, 'GET', '/me')).status).toBe(200);
    const revoke = await home.run(['token', 'revoke', String(created.id)]);
    expect(revoke.code).toBe(0);
    const revoked = await call(server, created.token, 'GET', '/me');
    expect(revoked.status).toBe(401);
    expect(revoked.body.detail).toMatch(/revoked/);
    const shortLived = await createToken(home, 'tenant-a', 'member', ['--expires', '1s']);
    await waitFor(
      'the token to expire',
      async () => (await call(server, shortLived, 'GET', '/me')).status === 401,
      15_000,
    );
    const listed = await home.run(['token', 'list']);
    expect(listed.stdout).toMatch(/revoked/);
    expect(listed.stdout).toMatch(/expired/);
    expect(listed.stdout).not.toContain(created.token);
    expect((await home.run(['token', 'revoke', '424242'])).code).toBe(3);
    expect((await home.run(['token', 'create', '--tenant', 't', '--role', 'root'])).code).toBe(2);
  });
});

/** A job as stored: without `state_reason`, which is worded from the clock ("in 59m") at each read. */
function storedFields(job: Record<string, unknown>): Record<string, unknown> {
  const { state_reason: _reason, ...stored } = job;
  return stored;
}
