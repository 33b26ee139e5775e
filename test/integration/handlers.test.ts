/**
 * The library API with TypeScript handlers, against a real store (a SQLite file or a PostgreSQL
 * schema, as the vitest project says) and an in-process worker:
 * params schemas, results and errors, retries with backoff, timeouts that stop work, cancel,
 * suspend with checkpoints, dependencies with parent results, keys, refresh and ignore, events.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidInputError, InvalidStateError } from '../../src/core/errors.js';
import { JobAbortedError } from '../../src/core/job-types.js';
import { Docket, type JobEvent } from '../../src/docket.js';
import type { Worker } from '../../src/worker/worker.js';
import { waitFor } from '../helpers/cli.js';
import { dropTestStore, testDb } from '../helpers/engines.js';

let home: string;
let db: string;
let docket: Docket;
let worker: Worker | undefined;
let running: Promise<void> | undefined;

beforeEach(async () => {
  home = mkdtempSync(join(tmpdir(), 'docket-handlers-'));
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

const final = (id: number, timeoutMs = 20_000) =>
  waitFor(
    `job ${id} to end`,
    async () => {
      const job = await docket.get(id);
      return ['completed', 'failed', 'timeout', 'cancelled', 'skipped'].includes(job.status) && job;
    },
    timeoutMs,
  );

const statusOf = async (id: number) => (await docket.get(id)).status;

describe('typed jobs', () => {
  it('runs a handler with its params and stores what it returns', async () => {
    docket.define<{ a: number; b: number }, { sum: number }>({
      name: 'add',
      paramsSchema: {
        type: 'object',
        properties: { a: { type: 'number' }, b: { type: 'number' } },
        required: ['a', 'b'],
      },
      handler: async ({ params }) => ({ sum: params.a + params.b }),
    });
    startWorker();
    const job = await docket.submit({ type: 'add', params: { a: 2, b: 3 } });
    expect(await final(job.id)).toMatchObject({ status: 'completed', result: { sum: 5 }, progress: 1 });
  });

  it('refuses bad params naming the field, and stores nothing', async () => {
    docket.define({
      name: 'resize',
      paramsSchema: {
        type: 'object',
        properties: { sizes: { type: 'array', items: { type: 'integer', minimum: 1 } }, path: { type: 'string' } },
        required: ['path'],
      },
      handler: () => null,
    });
    await expect(docket.submit({ type: 'resize', params: { path: 'a.png', sizes: [10, -1] } })).rejects.toThrowError(
      /^params\/sizes\/1: must be >= 1 \(job type resize\)$/,
    );
    await expect(docket.submit({ type: 'resize', params: {} })).rejects.toThrowError(/^params\/path: is required/);
    await expect(
      docket.submitMany([
        { type: 'resize', params: { path: 'ok' } },
        { type: 'resize', params: { path: 3 } },
      ]),
    ).rejects.toThrowError(InvalidInputError);
    expect((await docket.counts()).total).toBe(0);
  });

  it('refuses an unknown type', async () => {
    await expect(docket.submit({ type: 'nope' })).rejects.toThrowError(/^type: unknown job type "nope"/);
  });

  it('stores the message and the full stack of a throw (100 KB round-trips)', async () => {
    const bigStack = `Error: deep\n${'    at frame (file.ts:1:1)\n'.repeat(4000)}`;
    expect(bigStack.length).toBeGreaterThan(100_000);
    docket.define({
      name: 'explode',
      handler: () => {
        const error = new Error(`a long message ${'x'.repeat(5000)}`);
        error.stack = bigStack;
        throw error;
      },
    });
    startWorker();
    const job = await docket.submit({ type: 'explode' });
    const done = await final(job.id);
    expect(done.status).toBe('failed');
    expect(done.error).toBe(`a long message ${'x'.repeat(5000)}`);
    expect(done.errorStack).toBe(bigStack);
  });

  it('retries with exponential backoff and keeps every attempt', async () => {
    let calls = 0;
    docket.define({
      name: 'flaky',
      maxAttempts: 3,
      retry: { delaySeconds: 0.3, backoff: 'exponential' },
      handler: () => {
        calls++;
        if (calls < 3) throw new Error(`try ${calls} failed`);
        return 'ok';
      },
    });
    startWorker();
    const job = await docket.submit({ type: 'flaky' });
    const done = await final(job.id);
    expect(done).toMatchObject({ status: 'completed', result: 'ok', attempts: 3 });
    const [first, second, third] = done.executions;
    expect([first?.status, second?.status, third?.status]).toEqual(['failed', 'failed', 'completed']);
    expect(first?.error).toBe('try 1 failed');
    // Backoff: 0.3 s after the first failure, 0.6 s after the second.
    expect(second!.startedAt - first!.endedAt!).toBeGreaterThanOrEqual(290);
    expect(third!.startedAt - second!.endedAt!).toBeGreaterThanOrEqual(590);
  });

  it('ends a handler that ignores its signal as timeout, and never records its late result', async () => {
    let aborted: unknown = null;
    let finishLate!: (value: string) => void;
    docket.define({
      name: 'stubborn',
      timeoutSeconds: 0.3,
      handler: ({ signal }) => {
        signal.addEventListener('abort', () => (aborted = signal.reason));
        return new Promise<string>((resolve) => (finishLate = resolve));
      },
    });
    docket.define({ name: 'after', handler: () => 'after' });
    startWorker();
    const job = await docket.submit({ type: 'stubborn' });
    const done = await final(job.id);
    expect(done).toMatchObject({ status: 'timeout', error: 'time limit of 0.3s exceeded' });
    expect(aborted).toBeInstanceOf(JobAbortedError);
    expect((aborted as JobAbortedError).reason).toBe('timeout');
    finishLate('too late');
    // The worker records outcomes in order: once a job submitted after the late result completed
    // and the worker stopped (flushing every outcome it holds), a recorded late result would show.
    const after = await docket.submit({ type: 'after' });
    expect(await final(after.id)).toMatchObject({ status: 'completed', result: 'after' });
    worker?.stop();
    await running;
    const settled = await docket.get(job.id);
    expect(settled).toMatchObject({ status: 'timeout', result: null, attempts: 1 });
    expect(settled.executions).toEqual([expect.objectContaining({ attempt: 1, status: 'timeout' })]);
  });

  it('cancel aborts a running handler', async () => {
    let reason: unknown = null;
    docket.define({
      name: 'long',
      handler: ({ signal }) =>
        new Promise((_, reject) =>
          signal.addEventListener('abort', () => {
            reason = signal.reason;
            reject(reason);
          }),
        ),
    });
    startWorker();
    const job = await docket.submit({ type: 'long' });
    await waitFor('the job to run', async () => (await statusOf(job.id)) === 'running');
    await docket.cancel(job.id);
    await waitFor('the handler to be aborted', () => reason !== null);
    expect((reason as JobAbortedError).reason).toBe('cancel');
    expect(await docket.get(job.id)).toMatchObject({ status: 'cancelled' });
  });
  it('a handler that first looks at its signal after the stop (or through a copy of its context) sees it aborted', async () => {
    // The worker makes a handler's AbortController only when the handler asks for its signal or
    // the job is stopped (issue 12): either order gives the same signal, aborted with the reason.
    let stopped!: () => void;
    const stopSeen = new Promise<void>((resolve) => (stopped = resolve));
    let late: unknown = null;
    let copied: unknown = null;
    docket.define({
      name: 'looks-late',
      handler: async (context) => {
        await stopSeen;
        late = context.signal.aborted && context.signal.reason;
        throw context.signal.reason;
      },
    });
    docket.define({
      name: 'copies',
      handler: (context) => {
        const { signal, ...rest } = { ...context };
        expect(typeof rest.progress).toBe('function');
        return new Promise((_, reject) =>
          signal.addEventListener('abort', () => {
            copied = signal.reason;
            reject(signal.reason);
          }),
        );
      },
    });
    startWorker();
    const lateJob = await docket.submit({ type: 'looks-late' });
    const copyJob = await docket.submit({ type: 'copies' });
    await waitFor(
      'both to run',
      async () => (await statusOf(lateJob.id)) === 'running' && (await statusOf(copyJob.id)) === 'running',
    );
    await docket.cancel(lateJob.id);
    await docket.cancel(copyJob.id);
    await waitFor('the copy to be aborted', () => copied !== null);
    stopped();
    await waitFor('the late look', () => late !== null);
    expect((late as JobAbortedError).reason).toBe('cancel');
    expect((copied as JobAbortedError).reason).toBe('cancel');
    expect(await final(lateJob.id)).toMatchObject({ status: 'cancelled' });
  });
});

describe('suspend and resume of handlers', () => {
  it('only for suspendable types; the next attempt receives the checkpoint', async () => {
    const seen: unknown[] = [];
    let stepsTaken = 0;
    docket.define<{ steps: number }, number>({
      name: 'counter',
      suspendable: true,
      handler: async ({ params, signal, checkpoint, saveCheckpoint }) => {
        seen.push(checkpoint);
        let step = (checkpoint as { step: number } | null)?.step ?? 0;
        while (step < params.steps) {
          if (signal.aborted) {
            await saveCheckpoint({ step });
            throw signal.reason;
          }
          step++;
          stepsTaken++;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        return step;
      },
    });
    docket.define({ name: 'rigid', handler: ({ signal }) => new Promise((r) => signal.addEventListener('abort', r)) });
    startWorker();
    const rigid = await docket.submit({ type: 'rigid' });
    await waitFor('rigid to run', async () => (await statusOf(rigid.id)) === 'running');
    await expect(docket.suspend(rigid.id)).rejects.toThrowError(InvalidStateError);
    await expect(docket.suspend(rigid.id)).rejects.toThrowError(/not suspendable/);
    expect(await statusOf(rigid.id)).toBe('running');

    const job = await docket.submit({ type: 'counter', params: { steps: 40 } });
    await waitFor('counter to take a few steps', () => stepsTaken >= 5);
    await docket.suspend(job.id);
    const parked = await waitFor('the attempt to park', async () => {
      const current = await docket.get(job.id);
      return current.checkpoint !== null && current.workerId === null && current;
    });
    expect(parked.executions[0]).toMatchObject({ status: 'suspended' });
    expect(parked.status).toBe('suspended');
    const saved = (parked.checkpoint as { step: number }).step;
    expect(saved).toBeGreaterThan(0);
    expect(saved).toBeLessThan(40);
    expect((await docket.resume(job.id)).status).toBe('pending');
    expect(await final(job.id)).toMatchObject({ status: 'completed', result: 40 });
    expect(seen).toEqual([null, { step: saved }]);
  });
});

describe('dependencies', () => {
  it('hands parent results to a dependent that asks for them', async () => {
    docket.define({ name: 'value', handler: ({ params }) => params });
    docket.define<unknown, unknown>({
      name: 'sum',
      passParentResults: true,
      handler: ({ parentResults }) => Object.values(parentResults).reduce((a: number, b) => a + (b as number), 0),
    });
    startWorker();
    const a = await docket.submit({ type: 'value', params: 2 });
    const b = await docket.submit({ type: 'value', params: 5 });
    const total = await docket.submit({ type: 'sum', dependsOn: [a.id, b.id] });
    expect(await final(total.id)).toMatchObject({ status: 'completed', result: 7 });
  });
});

describe('keys (DataJoint)', () => {
  it('object keys are canonical; refresh adds missing keys and removes keys that left the set', async () => {
    docket.define({ name: 'process', handler: () => null });
    const first = await docket.submit({ type: 'process', key: { subject: 1, session: 2 } });
    const again = await docket.submit({ type: 'process', key: { session: 2, subject: 1 } });
    expect(again.id).toBe(first.id);

    const keys = [
      { subject: 1, session: 2 },
      { subject: 2, session: 1 },
      { subject: 3, session: 1 },
    ];
    expect(await docket.refresh('process', keys, { priority: 5 })).toEqual({
      added: 2,
      existing: 1,
      removed: 0,
      kept: 0,
    });
    const added = await docket.findByKey('process', { session: 1, subject: 3 });
    expect(added).toMatchObject({ priority: 5, params: { session: 1, subject: 3 } });
    expect(await docket.refresh('process', keys.slice(1), { removeMissing: true })).toEqual({
      added: 0,
      existing: 2,
      removed: 1,
      kept: 0,
    });
    expect((await docket.counts({ type: 'process' })).pending).toBe(2);
  });

  it('ignore marks a key skipped, present or not yet, so it never runs', async () => {
    docket.define({ name: 'analyse', handler: () => 'ran' });
    const existing = await docket.submit({ type: 'analyse', key: 'k1' });
    expect(await docket.ignore('analyse', 'k1')).toMatchObject({
      id: existing.id,
      status: 'skipped',
      error: 'ignored',
    });
    const future = await docket.ignore('analyse', 'k2');
    expect(future).toMatchObject({ status: 'skipped', key: 'k2' });
    expect(await docket.refresh('analyse', ['k1', 'k2', 'k3'])).toEqual({ added: 1, existing: 2, removed: 0, kept: 0 });
    const counts = await docket.counts({ type: 'analyse' });
    expect(counts).toMatchObject({ skipped: 2, pending: 1, total: 3, running: 0, completed: 0 });
  });
});

describe('queues', () => {
  it('a paused queue keeps its jobs pending until resumed', async () => {
    docket.define({ name: 'noop', queue: 'slow', handler: () => 1 });
    docket.define({ name: 'probe', queue: 'open', handler: () => 1 });
    await docket.pauseQueue('slow');
    startWorker();
    const job = await docket.submit({ type: 'noop' });
    // A job submitted later in an open queue completes: the worker claimed after both existed.
    const probe = await docket.submit({ type: 'probe' });
    expect(await final(probe.id)).toMatchObject({ status: 'completed' });
    expect(await statusOf(job.id)).toBe('pending');
    await docket.resumeQueue('slow');
    expect(await final(job.id)).toMatchObject({ status: 'completed' });
  });

  it('groups map their types to one queue', async () => {
    docket.defineGroup({ name: 'media', queue: 'media-q' });
    docket.define({ name: 'transcode', group: 'media', handler: () => null });
    const job = await docket.submit({ type: 'transcode' });
    expect(job).toMatchObject({ queue: 'media-q', group: 'media' });
    expect(await docket.jobGroups()).toEqual([{ name: 'media', queue: 'media-q' }]);
    expect((await docket.jobTypes()).map((type) => type.name)).toEqual(['transcode']);
  });
});

describe('events', () => {
  it('subscribers see a job go from submitted to completed', async () => {
    const events: string[] = [];
    docket.on('job', (event: JobEvent) => events.push(`${event.event}:${event.job.id}`));
    docket.define({
      name: 'report',
      handler: async ({ progress }) => {
        await progress(0.5, 'half');
        return true;
      },
    });
    startWorker();
    const job = await docket.submit({ type: 'report' });
    await final(job.id);
    await waitFor('the completed event', () => events.includes(`completed:${job.id}`));
    expect(events).toEqual([`submitted:${job.id}`, `started:${job.id}`, `progress:${job.id}`, `completed:${job.id}`]);
  });
});

describe('recurring jobs', () => {
  it('a cron type runs once per tick; ticks missed while no worker ran collapse into one run', async () => {
    docket.define({ name: 'tick', cron: '* * * * * *', handler: () => Date.now() });
    // A second docket on the same file with its own worker: two workers compete for every tick.
    const other = await Docket.open({ home, db, manageWorkers: false });
    other.define({ name: 'tick', cron: '* * * * * *', handler: () => Date.now() });
    const otherWorker = other.worker({ concurrency: 2, pollMs: 50 });
    const otherRunning = otherWorker.run();
    startWorker();
    const both = await waitFor('four ticks with two workers', async () => {
      const done = await docket.list({ type: 'tick', statuses: ['completed'] });
      return done.length >= 4 && done;
    });
    otherWorker.stop();
    await otherRunning;
    await other.close();
    expect(new Set(both.map((job) => job.runAt)).size).toBe(both.length);
    // One series: the next occurrence is made in the same transaction that ends the current one.
    expect((await docket.list({ type: 'tick', statuses: ['pending', 'running'] })).length).toBe(1);
    const runs = await waitFor('three ticks', async () => {
      const done = await docket.list({ type: 'tick', statuses: ['completed'] });
      return done.length >= 3 && done;
    });
    const ticks = runs.map((job) => job.runAt);
    expect(new Set(ticks).size).toBe(ticks.length);
    for (const tick of ticks) expect(tick % 1000).toBe(0);

    worker!.stop();
    await running;
    const before = (await docket.list({ type: 'tick', statuses: ['completed'] })).length;
    const [due] = await docket.list({ type: 'tick', statuses: ['pending'] });
    await waitFor('three ticks to be missed with no worker', () => Date.now() > (due?.runAt ?? 0) + 3500);
    startWorker();
    const after = await waitFor('two more runs', async () => {
      const done = await docket.list({ type: 'tick', statuses: ['completed'] });
      return done.length >= before + 2 && done;
    });
    // The occurrence that was due while no worker ran runs once; the next is the next tick after now.
    const [missed, next] = after.slice(before).map((job) => job.runAt);
    expect(next! - missed!).toBeGreaterThanOrEqual(3000);
    expect((await docket.list({ type: 'tick', statuses: ['pending'] })).length).toBe(1);
  });
});

describe('graceful shutdown', () => {
  it('releases handlers that outlive the grace period: nothing is left running', async () => {
    docket.define({
      name: 'slow',
      handler: ({ signal }) =>
        new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
    });
    const w = startWorker({ shutdownGraceMs: 200 });
    const job = await docket.submit({ type: 'slow' });
    await waitFor('the job to run', async () => (await statusOf(job.id)) === 'running');
    w.stop();
    await running;
    const released = await docket.get(job.id);
    expect(released).toMatchObject({ status: 'pending', attempts: 0, workerId: null });
    expect(released.executions[0]).toMatchObject({ status: 'cancelled', error: expect.stringMatching(/shut down/) });
    expect(await docket.engine.listWorkers()).toEqual([]);
  });
});

describe('pruning', () => {
  it('a worker asked to prune deletes old completed jobs and keeps failed ones', async () => {
    docket.define({ name: 'ok', handler: () => 'fine' });
    docket.define({
      name: 'bad',
      handler: () => {
        throw new Error('broken');
      },
    });
    const ok = await docket.submit({ type: 'ok' });
    const bad = await docket.submit({ type: 'bad' });
    startWorker({ pruneAfterMs: 1, heartbeatMs: 100 });
    await waitFor('the completed job to be pruned', async () => (await docket.engine.get(ok.id)) === null);
    await waitFor('the failing job to end', async () => (await docket.get(bad.id)).status === 'failed');
    // A job that completes after the failure ended is pruned by a pass that saw the failed job too.
    const later = await docket.submit({ type: 'ok' });
    await waitFor('the later completed job to be pruned', async () => (await docket.engine.get(later.id)) === null);
    expect(await docket.get(bad.id)).toMatchObject({ status: 'failed', error: 'broken' });
  });
});
