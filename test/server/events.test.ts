/**
 * Idempotency under concurrency, and the event stream: a job run by a worker in another process
 * produces its events in order, and a reconnect with Last-Event-ID receives exactly the missed ones.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, makeHome, type TestHome, waitFor } from '../helpers/cli.js';
import { TEST_ENGINE } from '../helpers/engines.js';
import { call, startServer, type TestServer } from '../helpers/server.js';
import { openSse, type SseEvent } from './sse.js';

let home: TestHome;
let server: TestServer;
let token: string;

beforeAll(async () => {
  // PostgreSQL starts no on-demand workers unless told (workers are services there): tell it.
  home = makeHome(TEST_ENGINE === 'postgres' ? { DOCKET_ON_DEMAND: '1' } : {});
  server = await startServer(home);
  token = server.adminToken;
});

afterAll(async () => {
  await server?.stop();
  await home?.cleanup();
});

const jobEvents = (events: SseEvent[], jobId: number) =>
  events.filter((event) => event.event.startsWith('job.') && JSON.parse(event.data).job_id === jobId);

describe('daemonless', () => {
  it('starts an on-demand worker for a submitted job, as the CLI does (no --workers, no docket worker)', async () => {
    const job = (await call(server, token, 'POST', '/jobs', { cmd: 'echo by-itself', queue: 'ondemand' })).body;
    const done = await waitFor(
      'the job to run',
      async () => {
        const current = (await call(server, token, 'GET', `/jobs/${job.id}`)).body;
        return current.status === 'completed' && current;
      },
      60_000,
    );
    expect(done.exit_code).toBe(0);
    expect((await call(server, token, 'GET', `/jobs/${job.id}/logs`)).text).toBe('by-itself\n');
  });
});

describe('idempotency', () => {
  it('20 concurrent submits with one key make one job: 1 × 201 and 19 × 200', async () => {
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        call(server, token, 'POST', '/jobs', { cmd: `echo ${i}`, key: 'race-key', delay_sec: 3600 }),
      ),
    );
    const statuses = responses.map((response) => response.status).sort();
    expect(statuses).toEqual([200, ...Array(18).fill(200), 201].sort());
    expect(statuses.filter((status) => status === 201)).toHaveLength(1);
    expect(new Set(responses.map((response) => response.body.id)).size).toBe(1);
    const replays = responses.filter((response) => response.status === 200);
    expect(replays.every((response) => response.headers.get('idempotent-replayed') === 'true')).toBe(true);
    expect((await call(server, token, 'GET', '/jobs?key=race-key')).body.total).toBe(1);
  });

  it('concurrent submits stored together: a refused one fails alone, the others get their own jobs', async () => {
    const bodies = Array.from({ length: 20 }, (_, i) =>
      i % 5 === 2
        ? { cmd: `echo bad ${i}`, depends_on: [987654], delay_sec: 3600 } // a dependency that does not exist
        : { cmd: `echo good ${i}`, key: `group-${i % 5 === 4 ? 'same' : i}`, delay_sec: 3600 },
    );
    const responses = await Promise.all(bodies.map((body) => call(server, token, 'POST', '/jobs', body)));
    responses.forEach((response, i) => {
      if (i % 5 === 2) {
        expect(response.status).toBe(400);
        expect(response.body.detail).toMatch(/depends_on/);
      } else {
        expect([200, 201]).toContain(response.status);
        expect(response.body.command).toEqual(i % 5 === 4 ? expect.stringMatching(/^echo good/) : `echo good ${i}`);
      }
    });
    const same = responses.filter((_, i) => i % 5 === 4);
    expect(same.filter((response) => response.status === 201)).toHaveLength(1);
    expect(new Set(same.map((response) => response.body.id)).size).toBe(1);
    const others = responses.filter((_, i) => i % 5 !== 2 && i % 5 !== 4);
    expect(others.every((response) => response.status === 201)).toBe(true);
    expect(new Set(others.map((response) => response.body.id)).size).toBe(others.length);
    const stored = (await call(server, token, 'GET', '/jobs?limit=500')).body.jobs as { command: string }[];
    expect(stored.filter((job) => job.command.startsWith('echo good'))).toHaveLength(others.length + 1);
    expect(stored.filter((job) => job.command.startsWith('echo bad'))).toHaveLength(0);
  });
});

describe('the event stream', () => {
  it('carries the events of a job run by a worker in another process, in order, and resumes from Last-Event-ID', async () => {
    const headers = { authorization: `Bearer ${token}` };
    const live = await openSse(`${server.url}/events`, headers);
    expect(live.status).toBe(200);
    // A worker process of its own, so every change below is written by another process.
    const worker = spawn(process.execPath, [BIN, 'worker', '--concurrency', '1'], {
      env: { ...home.env, DOCKET_ON_DEMAND: '0' },
      stdio: 'ignore',
    });
    try {
      const submitted = await call(server, token, 'POST', '/jobs', {
        cmd: 'echo ::progress 0.5 half; sleep 0.5; echo ::progress 0.9 nearly; sleep 0.5',
        queue: 'evq',
      });
      const id = submitted.body.id as number;
      await live.until(
        (event) =>
          event.event === 'job.state' &&
          JSON.parse(event.data).job_id === id &&
          JSON.parse(event.data).status === 'completed',
        60_000,
      );
      const seen = jobEvents(live.events, id);
      expect(seen.map((event) => `${event.event}:${JSON.parse(event.data).status}`)).toEqual([
        'job.created:pending',
        'job.state:running',
        'job.progress:running',
        'job.progress:running',
        'job.state:completed',
      ]);
      expect(seen.map((event) => JSON.parse(event.data).progress).slice(2, 4)).toEqual([0.5, 0.9]);
      const ids = seen.map((event) => Number(event.id));
      expect([...ids].sort((a, b) => a - b)).toEqual(ids);
      await live.until((event) => event.event === 'queue.counts' && JSON.parse(event.data).queue === 'evq');
      live.close();

      // Reconnect as if the connection dropped after the second event: exactly the rest arrives.
      const resumed = await openSse(`${server.url}/events`, { ...headers, 'last-event-id': String(ids[1]) });
      await resumed.until((event) => event.id === String(ids[4]));
      expect(jobEvents(resumed.events, id).map((event) => event.id)).toEqual(ids.slice(2).map(String));
      // …and then live events.
      const next = (await call(server, token, 'POST', '/jobs', { cmd: 'true', queue: 'evq', delay_sec: 3600 })).body;
      await resumed.until((event) => event.event === 'job.created' && JSON.parse(event.data).job_id === next.id);
      resumed.close();
      const again = await openSse(`${server.url}/events?last_event_id=${ids[3]}&access_token=${token}`);
      await again.until((event) => event.id === String(ids[4]));
      expect(again.events.filter((event) => event.id !== null)[0]?.id).toBe(String(ids[4]));
      again.close();
    } finally {
      worker.kill('SIGTERM');
      await new Promise((resolve) => worker.once('exit', resolve));
    }
  });

  it('refuses a bad Last-Event-ID and a missing token', async () => {
    const bad = await call(server, token, 'GET', '/events', undefined, { 'last-event-id': 'abc' });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].field).toBe('Last-Event-ID');
    expect((await call(server, null, 'GET', '/events')).status).toBe(401);
    expect((await call(server, null, 'GET', '/events?access_token=dkt_wrong')).status).toBe(401);
  });
});
