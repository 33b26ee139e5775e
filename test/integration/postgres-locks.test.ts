/**
 * PostgreSQL only: statements that lock several job rows at once. A worker's heartbeat renews the
 * lease of every job it runs while, on another connection, the same worker completes a batch of
 * them (completeAndClaim); unless both lock the rows in one order (by id), each can hold a row the
 * other waits for, and PostgreSQL aborts one (deadlock detected, 40P01). Likewise for the
 * dependents that two batches of parents share (a fan-in): locked in id order before any changes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { Docket } from '../../src/docket.js';
import { waitFor } from '../helpers/cli.js';
import { dropTestStore, freshPgUrl } from '../helpers/engines.js';

let home: string;
let db: string;
const cleanups: (() => Promise<unknown>)[] = [];

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'docket-pg-locks-'));
  db = freshPgUrl();
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  await dropTestStore(db);
  rmSync(home, { recursive: true, force: true });
});

/** A docket (its own pool, as a worker on another machine has) whose log lines the test reads. */
async function openLogged(lines: string[]): Promise<Docket> {
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const docket = await Docket.open({ home, db, manageWorkers: false, logger: pino({ level: 'warn' }, sink) });
  cleanups.push(() => docket.close());
  return docket;
}

const WORKERS = 4;
const JOBS = 4_000;
const PARKED = 60_000;

it('heartbeats every 20 ms beside batched completions of four workers: no deadlock, every job completes once', async () => {
  const lines: string[] = [];
  const runs = new Map<number, number>();
  const dockets: Docket[] = [];
  for (let i = 0; i < WORKERS; i++) {
    const docket = await openLogged(lines);
    docket.define({
      name: 'tick',
      handler: async ({ job }) => {
        runs.set(job.id, (runs.get(job.id) ?? 0) + 1);
        // A few milliseconds of work: many jobs of each worker are running at every heartbeat.
        await new Promise((resolve) => setTimeout(resolve, 1 + (job.id % 7)));
      },
    });
    dockets.push(docket);
  }
  const [first] = dockets as [Docket];
  const jobs = await first.submitMany(Array.from({ length: JOBS }, () => ({ type: 'tick' })));
  // Jobs parked behind a job of a paused queue make the table large enough that a batch of
  // completions finds its rows by primary key, in the order of the batch (as on a store with
  // history), rather than in the order of the heartbeat's scan. Blocked, they cost no claim a look.
  await first.setQueue('parked', { paused: true });
  const parent = await first.submit({ type: 'tick', queue: 'parked' });
  for (let i = 0; i < PARKED; i += 10_000) {
    await first.submitMany(Array.from({ length: 10_000 }, () => ({ type: 'tick', dependsOn: [parent.id] })));
  }
  for (const docket of dockets) {
    const worker = docket.worker({ concurrency: 32, heartbeatMs: 20, leaseMs: 60_000, pollMs: 50 });
    const running = worker.run();
    cleanups.push(async () => {
      worker.stop();
      await running;
    });
  }
  await waitFor(
    `all ${JOBS} jobs to end`,
    async () => {
      const counts = await first.counts();
      return counts.pending === PARKED + 1 && counts.running === 0;
    },
    180_000,
  );
  expect(lines.filter((line) => /deadlock|40P01/.test(line))).toEqual([]);
  expect(await first.counts()).toMatchObject({ completed: JOBS, failed: 0, pending: PARKED + 1 });
  expect(jobs.filter((job) => runs.get(job.id) !== 1)).toEqual([]);
}, 240_000);

it('parents of a fan-in completing in batches on four workers unblock their shared dependents without a deadlock', async () => {
  const lines: string[] = [];
  const dockets: Docket[] = [];
  for (let i = 0; i < WORKERS; i++) {
    const docket = await openLogged(lines);
    docket.define({ name: 'tick', handler: async () => {} });
    dockets.push(docket);
  }
  const [first] = dockets as [Docket];
  // Held back until every job is stored, so that the parents run (and end in batches) side by side.
  await first.setQueue('fan', { paused: true });
  const parents = await first.submitMany(Array.from({ length: 200 }, () => ({ type: 'tick', queue: 'fan' })));
  // Each dependent waits for two parents far apart, twenty dependents a parent: the batches of two
  // workers share dependents both ways.
  const parentOf = (n: number) => (parents[n % parents.length] as { id: number }).id;
  const dependents = await first.submitMany(
    Array.from({ length: 4_000 }, (_, i) => ({ type: 'tick', dependsOn: [parentOf(i), parentOf(i * 7 + 101)] })),
  );
  for (const docket of dockets) {
    const worker = docket.worker({ concurrency: 16, queues: ['fan', 'default'] });
    const running = worker.run();
    cleanups.push(async () => {
      worker.stop();
      await running;
    });
  }
  await first.setQueue('fan', { paused: false });
  await waitFor(
    'every parent and dependent to end',
    async () => {
      const counts = await first.counts();
      return counts.completed + counts.failed + counts.skipped === parents.length + dependents.length;
    },
    180_000,
  );
  expect(lines.filter((line) => /deadlock|40P01/.test(line))).toEqual([]);
  expect(await first.counts()).toMatchObject({ completed: parents.length + dependents.length });
}, 240_000);
