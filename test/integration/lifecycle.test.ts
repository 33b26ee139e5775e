/**
 * Promises of the job lifecycle, on both engines through the library and an in-process worker:
 * idempotency keys scoped per tenant and per type, leases renewed for as long as a job runs,
 * requeue of timed-out, cancelled and skipped jobs, and the skip cascade from a parent that
 * ended cancelled or timed out.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Docket } from '../../src/docket.js';
import type { Worker } from '../../src/worker/worker.js';
import { waitFor } from '../helpers/cli.js';
import { dropTestStore, testDb } from '../helpers/engines.js';

let home: string;
let db: string;
let docket: Docket;
let worker: Worker | undefined;
let running: Promise<void> | undefined;

beforeEach(async () => {
  home = mkdtempSync(join(tmpdir(), 'docket-lifecycle-'));
  db = testDb(home);
  docket = await Docket.open({ home, db, manageWorkers: false });
});

afterEach(async () => {
  worker?.stop();
  await running;
  worker = undefined;
  running = undefined;
  await docket.close();
  await dropTestStore(db);
  rmSync(home, { recursive: true, force: true });
});

function startWorker(options: Parameters<Docket['worker']>[0] = {}): Worker {
  worker = docket.worker({ concurrency: 4, graceMs: 300, pollMs: 50, shutdownGraceMs: 500, ...options });
  running = worker.run();
  return worker;
}

const statusIs = (id: number, status: string) =>
  waitFor(`job ${id} to be ${status}`, async () => {
    const job = await docket.get(id);
    return job.status === status && job;
  });

describe('keys', () => {
  it('are unique per tenant and per type, not across them', async () => {
    docket.define({ name: 'a', handler: () => null });
    docket.define({ name: 'b', handler: () => null });
    const first = await docket.submit({ type: 'a', key: 'k' });
    expect((await docket.submit({ type: 'a', key: 'k' })).id).toBe(first.id);
    const otherType = await docket.submit({ type: 'b', key: 'k' });
    const otherTenant = await docket.submit({ type: 'a', key: 'k', tenant: 'acme' });
    expect(new Set([first.id, otherType.id, otherTenant.id]).size).toBe(3);
    expect((await docket.submit({ type: 'a', key: 'k', tenant: 'acme' })).id).toBe(otherTenant.id);
    expect((await docket.findByKey('a', 'k', 'acme'))?.id).toBe(otherTenant.id);
    expect((await docket.findByKey('a', 'k'))?.id).toBe(first.id);
    expect((await docket.findByKey('b', 'k'))?.id).toBe(otherType.id);
    expect((await docket.counts()).total).toBe(3);
  });
});

describe('leases', () => {
  it('heartbeats keep renewing the lease of a job that runs for many lease periods', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    docket.define({ name: 'long', handler: () => gate.then(() => 'done') });
    startWorker({ leaseMs: 1000, heartbeatMs: 100 });
    const job = await docket.submit({ type: 'long' });
    const claimed = await statusIs(job.id, 'running');
    const firstLease = claimed.leaseExpiresAt as number;
    // Three lease periods later the job still holds a lease in the future, renewed since its claim.
    await waitFor('three lease periods to pass', () => Date.now() > firstLease + 2000, 30_000);
    const held = await docket.get(job.id);
    expect(held).toMatchObject({ status: 'running', workerId: worker?.id });
    expect(held.leaseExpiresAt as number).toBeGreaterThan(Date.now());
    expect(held.leaseExpiresAt as number).toBeGreaterThan(firstLease + 1500);
    release();
    const done = await statusIs(job.id, 'completed');
    expect(done).toMatchObject({ result: 'done', attempts: 1 });
    expect(done.executions).toHaveLength(1);
  });
});

describe('requeue', () => {
  it('puts timed-out, cancelled and skipped jobs back to pending with attempts reset, and they run', async () => {
    let slow = true;
    docket.define({
      name: 'sometimes-slow',
      timeoutSeconds: 0.3,
      handler: ({ signal }) =>
        slow ? new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))) : 'quick now',
    });
    docket.define({ name: 'plain', handler: () => 'ran' });
    startWorker();
    const timedOut = await docket.submit({ type: 'sometimes-slow' });
    const cancelled = await docket.submit({ type: 'plain', runAt: Date.now() + 3600_000 });
    const skipped = await docket.submit({ type: 'plain', dependsOn: [cancelled.id] });
    await docket.cancel(cancelled.id);
    await statusIs(timedOut.id, 'timeout');
    await statusIs(skipped.id, 'skipped');

    slow = false;
    for (const id of [timedOut.id, cancelled.id]) {
      expect(await docket.requeue(id)).toMatchObject({ status: 'pending', attempts: 0 });
    }
    expect(await statusIs(timedOut.id, 'completed')).toMatchObject({ result: 'quick now', attempts: 1 });
    const again = await docket.get(timedOut.id);
    expect(again.executions.map((e) => e.status)).toEqual(['timeout', 'completed']);

    // Requeue makes a job due now: the cancelled one runs, although it was submitted for an hour later.
    expect(await statusIs(cancelled.id, 'completed')).toMatchObject({ result: 'ran', attempts: 1 });

    // The skipped dependent runs once requeued, now that its parent completed.
    expect(await docket.requeue(skipped.id)).toMatchObject({ status: 'pending', attempts: 0 });
    expect(await statusIs(skipped.id, 'completed')).toMatchObject({ result: 'ran', attempts: 1 });
  });

  it('refuses to requeue a completed job, and changes nothing', async () => {
    docket.define({ name: 'plain', handler: () => 'ran' });
    startWorker();
    const job = await docket.submit({ type: 'plain' });
    await statusIs(job.id, 'completed');
    await expect(docket.requeue(job.id)).rejects.toThrowError(/completed/);
    expect(await docket.get(job.id)).toMatchObject({ status: 'completed', attempts: 1 });
  });
});

describe('the skip cascade', () => {
  it.each([
    ['cancelled', 'cancelled'],
    ['timed out', 'timeout'],
  ])('a parent that ended %s skips its dependents and theirs, and nothing of them runs', async (_, ending) => {
    const ran: number[] = [];
    docket.define({
      name: 'parent',
      timeoutSeconds: 0.3,
      handler: ({ signal }) =>
        new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
    });
    docket.define({ name: 'child', handler: ({ job }) => ran.push(job.id) });
    startWorker();
    const parent = await docket.submit({ type: 'parent' });
    const child = await docket.submit({ type: 'child', dependsOn: [parent.id] });
    const grandchild = await docket.submit({ type: 'child', dependsOn: [child.id] });
    const bystander = await docket.submit({ type: 'child' });
    if (ending === 'cancelled') {
      await statusIs(parent.id, 'running');
      await docket.cancel(parent.id);
    }
    await statusIs(parent.id, ending);
    expect(await statusIs(child.id, 'skipped')).toMatchObject({ error: `dependency ${parent.id} ended ${ending}` });
    expect(await statusIs(grandchild.id, 'skipped')).toMatchObject({
      error: `dependency ${child.id} was skipped (dependency ${parent.id} ended ${ending})`,
    });
    await statusIs(bystander.id, 'completed');
    expect(ran).toEqual([bystander.id]);
  });
});
