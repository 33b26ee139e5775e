/**
 * The worker's runtime under trouble, on every engine (the vitest project picks which): long time
 * limits, a job's log folder vanishing, a registration wiped by reset-db, leases that cannot be
 * renewed, a store that fails mid-job, machines that share a hostname, outcomes at the instant of a
 * stop, capacity held by suspended jobs, bounded bookkeeping and the order of events.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../src/core/errors.js';
import { JobAbortedError } from '../../src/core/job-types.js';
import { normalizeSpec } from '../../src/core/spec.js';
import type { JobSpec } from '../../src/core/words.js';
import { Docket, type JobEvent } from '../../src/docket.js';
import { attemptTag, localProcesses, TAG_VARIABLE } from '../../src/executors/local/processes.js';
import type { ClaimRequest } from '../../src/storage/engine.js';
import { thisMachine } from '../../src/worker/machine.js';
import { reconcile } from '../../src/worker/reconcile.js';
import type { Worker } from '../../src/worker/worker.js';
import {
  BIN,
  gatedCommand,
  isAlive,
  makeHome,
  processesWithEnv,
  type TestHome,
  uniqueMark,
  waitFor,
} from '../helpers/cli.js';

let t: TestHome;
let docket: Docket;
let children: ChildProcess[] = [];
const cleanups: (() => Promise<unknown>)[] = [];

beforeEach(async () => {
  t = makeHome({ DOCKET_ON_DEMAND: '0' });
  docket = await Docket.open({ home: t.home, db: t.db, manageWorkers: false });
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  children = [];
  await docket.close();
  await t.cleanup();
});

/** A `docket worker` process of this test's store. */
function startCliWorker(args: string[] = []): ChildProcess {
  const worker = spawn(process.execPath, [BIN, 'worker', ...args], {
    cwd: t.home,
    env: { ...process.env, DOCKET_HOME: t.home, DOCKET_DB: t.db, DOCKET_ON_DEMAND: '0', DOCKET_GRACE: '1s' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  worker.stderr?.on('data', () => {});
  children.push(worker);
  return worker;
}

const registered = async () => (await docket.engine.listWorkers()).filter((worker) => worker.concurrency > 0);
const statusOf = async (id: number) => (await docket.get(id)).status;

/** An in-process worker on a connection of its own, so the test can take the store away from it. */
async function isolatedWorker(
  define: (own: Docket) => void,
  options: Parameters<Docket['worker']>[0] = {},
): Promise<{ own: Docket; worker: Worker; running: Promise<unknown> }> {
  const own = await Docket.open({ home: t.home, db: t.db, manageWorkers: false, logger: pino({ level: 'silent' }) });
  define(own);
  const worker = own.worker({ concurrency: 1, pollMs: 50, graceMs: 200, shutdownGraceMs: 200, ...options });
  const running = worker.run().catch(() => {});
  cleanups.push(async () => {
    worker.stop();
    await running;
    await own.close();
  });
  return { own, worker, running };
}

describe('time limits', () => {
  it('a time limit of 30 days does not fire at once (item 1)', async () => {
    const result = await t.run(['run', '--time-limit', '30d', '--', 'sleep', '1']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });
});

describe('a worker survives one job’s trouble', () => {
  it('deleting a running job’s log folder does not kill the worker or its other jobs (item 3)', async () => {
    const worker = startCliWorker(['--concurrency', '2']);
    await waitFor('the worker to register', async () => (await registered()).length === 1);
    const gate = join(t.home, 'gate'); // both jobs run until the log folder is gone
    const victim = await docket.submit({ command: gatedCommand(gate, 'echo late') });
    const bystander = await docket.submit({ command: gatedCommand(gate, 'echo fine') });
    await waitFor('both to run', async () => (await docket.counts({})).running === 2);
    rmSync(dirname(docket.logPaths(victim.id).stdout), { recursive: true, force: true });
    writeFileSync(gate, '');
    await waitFor('both to end', async () => (await docket.counts({})).completed === 2, 30_000);
    expect(await statusOf(victim.id)).toBe('completed');
    expect(await statusOf(bystander.id)).toBe('completed');
    expect(isAlive(worker.pid as number)).toBe(true);
  });

  it('a worker whose registration vanished (reset-db) re-registers and keeps its jobs (item 4)', async () => {
    const worker = startCliWorker(['--concurrency', '1']);
    await waitFor('the worker to register', async () => (await registered()).length === 1);
    const reset = await t.run(['config', 'reset-db', '--yes']);
    expect(reset.code).toBe(0);
    const gate = join(t.home, 'gate'); // the job runs until the worker has re-registered
    const job = await docket.submit({ command: gatedCommand(gate) });
    await waitFor('the job to run', async () => (await statusOf(job.id)) === 'running');
    // Every CLI call reconciles: none may take the live worker's job for a lost one.
    for (let i = 0; i < 3; i++) expect((await t.run(['list'])).code).toBe(0);
    await waitFor('the worker to re-register', async () => (await registered()).length === 1);
    expect(await statusOf(job.id)).toBe('running');
    writeFileSync(gate, '');
    await waitFor('the job to end', async () => (await statusOf(job.id)) !== 'running', 30_000);
    expect(await docket.get(job.id)).toMatchObject({ status: 'completed', attempts: 1 });
    expect(isAlive(worker.pid as number)).toBe(true);
  });
});

describe('leases', () => {
  const claim = (overrides: Partial<ClaimRequest> = {}) =>
    docket.engine.claim({
      workerId: 'w-remote',
      host: 'another-host',
      pid: 1,
      queues: ['*'],
      scheduler: 'local',
      types: ['*'],
      limit: 10,
      leaseMs: 60_000,
      ...overrides,
    });
  const submit = async (spec: JobSpec = {}) =>
    (await docket.engine.submit([normalizeSpec({ command: 'true', ...spec })]))[0]!.job;

  it('a lost attempt is settled only where its lease has lapsed, checked as it is settled (item 10)', async () => {
    const job = await submit();
    await claim();
    // A reconciler decided the owner was dead; the owner renewed its lease since.
    await docket.engine.endAttempts([{ how: 'lost', jobId: job.id, runNo: 1, reason: 'worker w-remote died' }]);
    expect(await docket.engine.get(job.id)).toMatchObject({ status: 'running', workerId: 'w-remote', error: null });
    const lapsed = await submit();
    await claim({ leaseMs: -1 });
    await docket.engine.endAttempts([{ how: 'lost', jobId: lapsed.id, runNo: 1, reason: 'worker w-remote died' }]);
    expect(await docket.engine.get(lapsed.id)).toMatchObject({ status: 'failed', error: 'worker w-remote died' });
  });

  it('refuses a lease shorter than three heartbeats, naming the setting (item 11)', () => {
    expect(() => docket.worker({ heartbeatMs: 2000, leaseMs: 5000 })).toThrowError(InvalidInputError);
    expect(() => docket.worker({ heartbeatMs: 2000, leaseMs: 5000 })).toThrowError(/lease/);
    expect(() => docket.worker({ heartbeatMs: 2000, leaseMs: 6000 })).not.toThrow();
  });

  it('the CLI refuses DOCKET_LEASE shorter than three heartbeats, exit 2 (item 11)', async () => {
    const result = await t.run(['list'], { env: { DOCKET_LEASE: '5s' } });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^docket: lease: 5s is shorter than 3 heartbeats.*DOCKET_LEASE/);
  });

  it('a worker that cannot renew its lease stops the work it can no longer prove it owns (item 11)', async () => {
    let aborted: unknown = null;
    const { own } = await isolatedWorker(
      (own) =>
        own.define({
          name: 'long',
          handler: ({ signal }) =>
            new Promise((_, reject) =>
              signal.addEventListener('abort', () => {
                aborted = signal.reason;
                reject(signal.reason);
              }),
            ),
        }),
      { heartbeatMs: 100, leaseMs: 600 },
    );
    const job = await own.submit({ type: 'long' });
    await waitFor('the job to run', async () => (await statusOf(job.id)) === 'running');
    await own.engine.close(); // the worker's store is gone: no heartbeat gets through any more
    await waitFor('the handler to be stopped', () => aborted !== null, 15_000);
    expect(aborted).toBeInstanceOf(JobAbortedError);
    // Nothing was recorded over the job: it is still the lost attempt's, for reconciliation to settle.
    expect(await docket.get(job.id)).toMatchObject({ status: 'running', runNo: 1 });
  });
});

describe('unhandled promises', () => {
  it('a progress report that the store refuses does not kill the worker (item 13)', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    cleanups.push(async () => process.off('unhandledRejection', onUnhandled));
    let go!: () => void;
    const released = new Promise<void>((resolve) => (go = resolve));
    let reported = false;
    const { own, running } = await isolatedWorker((own) =>
      own.define({
        name: 'reporter',
        handler: async ({ progress }) => {
          await released;
          await progress(0.5, 'half way');
          reported = true;
          return 'done';
        },
      }),
    );
    const job = await own.submit({ type: 'reporter' });
    await waitFor('the job to run', async () => (await statusOf(job.id)) === 'running');
    await own.engine.close();
    go();
    await waitFor('the handler to report', () => reported);
    // Give a rejection every chance to surface: it would be reported on the next turns of the loop.
    await waitFor('a few turns of the event loop', async () => {
      await new Promise((resolve) => setImmediate(resolve));
      return true;
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(unhandled).toEqual([]);
    let settled = false;
    void running.then(() => (settled = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false); // the worker is still running
  });
});

/** A registered worker whose pid (4,194,000) is no process here, holding one claimed job running `command`. */
async function deadPidWorkerWithJob(id: string, machine: string, command: string) {
  const now = Date.now();
  const pid = 4_194_000;
  await docket.engine.registerWorker({
    id,
    host: hostname(),
    machine,
    pid,
    pidStart: 1,
    queues: ['*'],
    concurrency: 1,
    wakeAddress: null,
    startedAt: now,
    heartbeatAt: now,
  });
  const [submitted] = await docket.engine.submit([normalizeSpec({ command })]);
  const [claimed] = await docket.engine.claim({
    workerId: id,
    host: hostname(),
    machine,
    pid,
    queues: ['*'],
    scheduler: 'local',
    types: ['*'],
    limit: 1,
    leaseMs: 60_000,
  });
  return { job: submitted!.job, claimed: claimed! };
}

describe('machines', () => {
  it('a worker on another machine with the same hostname is judged by its lease, not a pid here (item 12)', async () => {
    const { job } = await deadPidWorkerWithJob('w-twin', 'another-boot-id:pid:[1]', 'sleep 60');
    await docket.engine.recordProcess(job.id, 1, 4_194_001, 1);
    const { lost } = await reconcile(docket.engine, 60_000, 100, localProcesses);
    expect(lost).toEqual([]);
    expect(await statusOf(job.id)).toBe('running');
    expect((await docket.engine.listWorkers()).map((worker) => worker.id)).toEqual(['w-twin']);
  });
});

describe('lost attempts without a recorded pid', () => {
  it('reconciling a dead worker’s attempt stops the processes carrying its tag, though no pid was recorded', async () => {
    const { job, claimed } = await deadPidWorkerWithJob('w-dead', thisMachine(), 'sleep 300');
    // The worker spawned the command and died before recording its pid.
    const tag = attemptTag(job.id, claimed.runNo, 'w-dead');
    const orphan = spawn('sleep', ['300'], { env: { ...process.env, [TAG_VARIABLE]: tag }, stdio: 'ignore' });
    children.push(orphan);
    await waitFor('the orphan to start', () => processesWithEnv(TAG_VARIABLE, tag).length === 1);
    const { lost } = await reconcile(docket.engine, 60_000, 100, localProcesses);
    expect(lost.map((attempt) => attempt.jobId)).toEqual([job.id]);
    expect(processesWithEnv(TAG_VARIABLE, tag)).toEqual([]);
  });
});

describe('outcomes at the instant of a stop', () => {
  const finishesOnAbort = (own: Docket, suspendable: boolean) =>
    own.define({
      name: 'quick',
      suspendable,
      handler: ({ signal }) =>
        new Promise((resolve) => signal.addEventListener('abort', () => resolve('finished anyway'))),
    });

  it('a handler that returns as its worker shuts down keeps its result (item 14)', async () => {
    const { own, worker, running } = await isolatedWorker((own) => finishesOnAbort(own, false));
    const job = await own.submit({ type: 'quick' });
    await waitFor('the job to run', async () => (await statusOf(job.id)) === 'running');
    worker.stop();
    await running;
    expect(await docket.get(job.id)).toMatchObject({ status: 'completed', result: 'finished anyway', attempts: 1 });
  });

  it('a handler that returns as it is suspended keeps its result (item 14)', async () => {
    const { own } = await isolatedWorker((own) => finishesOnAbort(own, true));
    const job = await own.submit({ type: 'quick' });
    await waitFor('the job to run', async () => (await statusOf(job.id)) === 'running');
    await own.suspend(job.id);
    const done = await waitFor('the outcome', async () => {
      const current = await docket.get(job.id);
      return current.status !== 'suspended' && current.status !== 'running' && current;
    });
    expect(done).toMatchObject({ status: 'completed', result: 'finished anyway', attempts: 1 });
  });
});

describe('capacity', () => {
  it('a suspended job keeps its slot, so resuming it never exceeds the capacity (item 16)', async () => {
    await docket.setQueue('solo', { capacity: 1 });
    const [first, second] = await docket.engine.submit([
      normalizeSpec({ command: 'sleep 60', queue: 'solo' }),
      normalizeSpec({ command: 'sleep 60', queue: 'solo' }),
    ]);
    const request: ClaimRequest = {
      workerId: 'w1',
      host: hostname(),
      pid: process.pid,
      queues: ['*'],
      scheduler: 'local',
      types: ['*'],
      limit: 1,
      leaseMs: 60_000,
    };
    expect((await docket.engine.claim(request)).map((job) => job.id)).toEqual([first!.job.id]);
    await docket.engine.recordProcess(first!.job.id, 1, 4_194_002, 1);
    await docket.engine.suspend(first!.job.id);
    expect(await docket.engine.claim(request)).toEqual([]);
    expect(await docket.engine.resume(first!.job.id)).toMatchObject({ status: 'running' });
    expect((await docket.engine.counts({ queue: 'solo' })).running).toBe(1);
    expect(second!.job.status).toBe('pending');
  });
});

describe('bounded bookkeeping (item 17)', () => {
  const request = (workerId: string): ClaimRequest => ({
    workerId,
    host: hostname(),
    pid: process.pid,
    queues: ['*'],
    scheduler: 'local',
    types: ['*'],
    limit: 5,
    leaseMs: 60_000,
  });

  it('reconciliation reads only the jobs of workers that are not alive', async () => {
    await docket.engine.submit(Array.from({ length: 6 }, () => normalizeSpec({ command: 'true' })));
    await docket.engine.claim(request('w-alive'));
    const [orphan] = await docket.engine.claim(request('w-gone'));
    const suspects = await docket.engine.listSuspect('local', ['w-alive']);
    expect(suspects.map((job) => job.id)).toEqual([orphan!.id]);
  });

  it('a heartbeat renews and reports the worker’s jobs in one call, and says when it is not registered', async () => {
    const now = Date.now();
    await docket.engine.registerWorker({
      id: 'w1',
      host: hostname(),
      machine: null,
      pid: process.pid,
      pidStart: null,
      queues: ['*'],
      concurrency: 2,
      wakeAddress: null,
      startedAt: now,
      heartbeatAt: now,
    });
    await docket.engine.submit([normalizeSpec({ command: 'true' }), normalizeSpec({ command: 'true' })]);
    const [a, b] = await docket.engine.claim(request('w1'));
    await docket.engine.cancel(b!.id, 'x');
    expect(await docket.engine.heartbeat('w1', 60_000)).toEqual([
      { id: a!.id, runNo: 1, status: 'running', startedAt: a!.startedAt },
    ]);
    await docket.engine.removeWorker('w1');
    expect(await docket.engine.heartbeat('w1', 60_000)).toBeNull();
  });

  it('clearing takes a batch size', async () => {
    const jobs = await docket.engine.submit(Array.from({ length: 5 }, () => normalizeSpec({ command: 'true' })));
    for (const { job } of jobs) await docket.engine.cancel(job.id, 'x');
    expect(await docket.engine.clear({ statuses: ['cancelled'], limit: 2 })).toHaveLength(2);
    expect(await docket.engine.clear({ statuses: ['cancelled'], limit: 10 })).toHaveLength(3);
  });
});

describe('docket run and Ctrl-C (item 18)', () => {
  it('a second Ctrl-C while the cancel is stopping the job does not leave its processes running', async () => {
    const mark = uniqueMark();
    const run = spawn(
      process.execPath,
      [BIN, 'run', '--env', `MARK=${mark}`, '--cmd', 'trap "" TERM; echo ready; sleep 30'],
      {
        cwd: t.home,
        env: { ...process.env, DOCKET_HOME: t.home, DOCKET_DB: t.db, DOCKET_ON_DEMAND: '0', DOCKET_GRACE: '2s' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    children.push(run);
    let stdout = '';
    run.stdout?.on('data', (chunk) => (stdout += chunk));
    run.stderr?.on('data', () => {});
    const exited = new Promise<number>((resolve) => run.once('close', (code) => resolve(code ?? -1)));
    await waitFor('the job to start', () => stdout.includes('ready'));
    run.kill('SIGINT');
    await waitFor('the cancel to be under way', async () => (await docket.counts({})).cancelled === 1);
    run.kill('SIGINT'); // the job ignores SIGTERM: its stop waits for the grace period, then SIGKILL
    expect(await exited).toBe(130);
    await waitFor('no process of the job to be left', () => processesWithEnv('MARK', mark).length === 0, 10_000);
  });
});

describe('pruning', () => {
  it('a worker prunes a backlog bigger than one batch, batch after batch (item 17)', async () => {
    const jobs = await docket.engine.submit(Array.from({ length: 1100 }, () => normalizeSpec({ command: 'true' })));
    for (const { job } of jobs) await docket.engine.cancel(job.id, 'old');
    const worker = docket.worker({ concurrency: 1, pollMs: 50, heartbeatMs: 100, pruneAfterMs: 1 });
    const running = worker.run();
    cleanups.push(async () => {
      worker.stop();
      await running;
    });
    await waitFor('every old job to be pruned', async () => (await docket.counts({})).total === 0);
  });
});

describe('concurrency', () => {
  it('a worker never runs more jobs than its concurrency while its claims and completions overlap', async () => {
    let running = 0;
    let most = 0;
    const ran: number[] = [];
    docket.define({
      name: 'short',
      handler: async ({ params }: { params: { i: number } }) => {
        most = Math.max(most, ++running);
        ran.push(params.i);
        // Ends at different turns of the event loop, so claims and outcome writes interleave.
        await new Promise((resolve) => setTimeout(resolve, params.i % 4));
        running--;
      },
    });
    const jobs = Array.from({ length: 150 }, (_, i) => ({ type: 'short', params: { i } }));
    await docket.submitMany(jobs);
    const worker = docket.worker({ concurrency: 3, pollMs: 50 });
    const stopped = worker.run();
    cleanups.push(async () => {
      worker.stop();
      await stopped;
    });
    await waitFor('every job to complete', async () => (await docket.counts({})).completed === jobs.length);
    expect(most).toBeLessThanOrEqual(3);
    expect(ran.sort((a, b) => a - b)).toEqual(jobs.map((_, i) => i));
  });
});

describe('events', () => {
  it('events of a job, and of a parent before its dependents, keep causal order (item 25)', async () => {
    docket.define({ name: 'step', handler: async () => 'ok' });
    const events: JobEvent[] = [];
    docket.on('job', (event) => events.push(event));
    const worker = docket.worker({ concurrency: 4, pollMs: 50 });
    const running = worker.run();
    cleanups.push(async () => {
      worker.stop();
      await running;
    });
    const chains: number[][] = [];
    for (let i = 0; i < 3; i++) {
      const first = await docket.submit({ type: 'step' });
      const second = await docket.submit({ type: 'step', dependsOn: [first.id] });
      const third = await docket.submit({ type: 'step', dependsOn: [second.id] });
      chains.push([first.id, second.id, third.id]);
    }
    const ids = chains.flat();
    await waitFor('every job to complete', () =>
      ids.every((id) => events.some((event) => event.job.id === id && event.event === 'completed')),
    );
    const at = (id: number, kind: JobEvent['event']) =>
      events.findIndex((event) => event.job.id === id && event.event === kind);
    for (const id of ids) {
      expect(at(id, 'submitted')).toBeLessThan(at(id, 'started'));
      expect(at(id, 'started')).toBeLessThan(at(id, 'completed'));
    }
    for (const [first, second, third] of chains) {
      expect(at(first!, 'completed')).toBeLessThan(at(second!, 'started'));
      expect(at(second!, 'completed')).toBeLessThan(at(third!, 'started'));
    }
  });
});
