/**
 * The behaviour suite of the storage port. It runs unchanged against each engine: the vitest
 * project picks which (DOCKET_TEST_ENGINE); engine-only tests live elsewhere and say so in their name.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidInputError, InvalidStateError, NotFoundError } from '../../src/core/errors.js';
import { normalizeSpec } from '../../src/core/spec.js';
import type { JobSpec, WorkerInfo } from '../../src/core/words.js';
import { localProcesses } from '../../src/executors/local/processes.js';
import type { ClaimRequest, ObservedState, StorageEngine } from '../../src/storage/engine.js';
import { PostgresEngine } from '../../src/storage/postgres/engine.js';
import { SqliteEngine } from '../../src/storage/sqlite/engine.js';
import { reconcile } from '../../src/worker/reconcile.js';
import { endOne } from '../helpers/ends.js';
import { freshPgUrl, TEST_ENGINE, type TestEngine } from '../helpers/engines.js';

interface EngineFixture {
  engine: StorageEngine;
  dispose(): Promise<void>;
}

const ENGINES: Record<TestEngine, () => Promise<EngineFixture>> = {
  postgres: async () => {
    const engine = await PostgresEngine.connect({ url: freshPgUrl(), poolSize: 4 });
    await engine.migrate();
    return {
      engine,
      dispose: async () => {
        await engine.dropSchema();
        await engine.close();
      },
    };
  },
  sqlite: async () => {
    const dir = mkdtempSync(join(tmpdir(), 'docket-engine-'));
    const engine = new SqliteEngine({ path: join(dir, 'docket.db') });
    await engine.migrate();
    return {
      engine,
      dispose: async () => {
        await engine.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

for (const [engineName, makeEngine] of [[TEST_ENGINE, ENGINES[TEST_ENGINE]] as const]) {
  describe(`storage behaviour: ${engineName}`, () => {
    let fixture: EngineFixture;
    let engine: StorageEngine;
    beforeEach(async () => {
      fixture = await makeEngine();
      engine = fixture.engine;
    });
    afterEach(() => fixture.dispose());

    const submit = async (spec: JobSpec = {}) => {
      const [result] = await engine.submit([normalizeSpec({ command: 'true', ...spec })]);
      return result!.job;
    };
    const claim = (overrides: Partial<ClaimRequest> = {}) =>
      engine.claim({
        workerId: 'w1',
        host: 'test-host',
        pid: 1,
        queues: ['*'],
        scheduler: 'local',
        types: ['*'],
        limit: 10,
        leaseMs: 60_000,
        ...overrides,
      });

    it('migrates idempotently', async () => {
      const again = await engine.migrate();
      expect(again.from).toBe(again.to);
      expect(await engine.schemaVersion()).toBeGreaterThanOrEqual(1);
    });

    it('stores a job and reads it back with every field', async () => {
      const job = await submit({
        name: 'n',
        env: { A: '1' },
        resources: { cpuCount: 2, memoryBytes: 1024 },
        timeLimitSeconds: 5,
        params: { x: [1, 2] },
      });
      const read = await engine.get(job.id);
      expect(read).toMatchObject({
        id: job.id,
        name: 'n',
        status: 'pending',
        env: { A: '1' },
        resources: { cpuCount: 2, memoryBytes: 1024 },
        timeLimitSeconds: 5,
        params: { x: [1, 2] },
        attempts: 0,
        executions: [],
      });
    });

    it('a batch submit returns each job with its own id, in order, whatever mix it holds', async () => {
      const parent = await submit();
      const specs: JobSpec[] = Array.from({ length: 150 }, (_, i) => ({ command: `echo ${i}` }));
      specs.splice(70, 0, { command: 'echo keyed', key: 'k-1' }, { command: 'echo child', dependsOn: [parent.id] });
      specs.push({ command: 'echo keyed again', key: 'k-1' });
      const results = await engine.submit(specs.map((spec) => normalizeSpec(spec)));
      expect(results).toHaveLength(specs.length);
      for (const [index, result] of results.entries()) {
        const stored = await engine.get(result.job.id);
        expect(stored?.command).toBe(index === specs.length - 1 ? 'echo keyed' : specs[index]?.command);
        expect(result.job.command).toBe(stored?.command);
      }
      expect(results.at(-1)).toMatchObject({ created: false, job: { id: results[70]?.job.id } });
      expect(new Set(results.slice(0, -1).map((result) => result.job.id)).size).toBe(specs.length - 1);
      expect(results[71]?.job.dependsOn).toEqual([parent.id]);
    });

    it('claims the highest priority first, then the oldest', async () => {
      const low = await submit({ priority: -1 });
      const a = await submit();
      const high = await submit({ priority: 5 });
      const b = await submit();
      const order = [];
      for (let i = 0; i < 4; i++) order.push(...(await claim({ limit: 1 })).map((job) => job.id));
      expect(order).toEqual([high.id, a.id, b.id, low.id]);
    });

    it('gives a job to exactly one claimer', async () => {
      for (let i = 0; i < 50; i++) await submit();
      const batches = await Promise.all([claim({ workerId: 'a', limit: 30 }), claim({ workerId: 'b', limit: 30 })]);
      const ids = batches.flat().map((job) => job.id);
      expect(ids).toHaveLength(50);
      expect(new Set(ids).size).toBe(50);
    });

    it('does not claim a delayed job before its time, nor other queues', async () => {
      await submit({ runAt: Date.now() + 60_000 });
      await submit({ queue: 'other' });
      expect(await claim({ queues: ['default'] })).toHaveLength(0);
      expect(await engine.nextRunAt(['default'], ['*'], 'local')).toBeGreaterThan(Date.now());
      expect(await claim({ queues: ['other'] })).toHaveLength(1);
    });

    it('records an attempt, its outcome and its history', async () => {
      const job = await submit();
      const [claimed] = await claim();
      expect(claimed).toMatchObject({ id: job.id, status: 'running', attempts: 1, runNo: 1, workerId: 'w1' });
      await engine.recordProcess(job.id, 1, 4242, 99);
      const done = await endOne(engine, {
        how: 'outcome',
        jobId: job.id,
        runNo: 1,
        outcome: { status: 'failed', exitCode: 3, error: 'exited with code 3' },
      });
      expect(done).toMatchObject({ status: 'failed', exitCode: 3, error: 'exited with code 3' });
      const read = await engine.get(job.id);
      expect(read?.executions).toEqual([
        expect.objectContaining({
          attempt: 1,
          status: 'failed',
          exitCode: 3,
          pid: 4242,
          host: 'test-host',
          workerId: 'w1',
        }),
      ]);
    });

    it('retries a failed attempt while attempts remain, after the retry delay', async () => {
      const job = await submit({ maxAttempts: 2, retry: { delaySeconds: 30 } });
      await claim();
      const retried = await endOne(engine, {
        how: 'outcome',
        jobId: job.id,
        runNo: 1,
        outcome: { status: 'failed', error: 'boom' },
      });
      expect(retried).toMatchObject({ status: 'pending', attempts: 1 });
      expect(retried!.runAt).toBeGreaterThan(Date.now() + 20_000);
      expect(await claim()).toHaveLength(0);
      await claim({ now: Date.now() + 31_000 });
      expect(
        await endOne(engine, { how: 'outcome', jobId: job.id, runNo: 2, outcome: { status: 'failed', error: 'boom' } }),
      ).toMatchObject({
        status: 'failed',
        attempts: 2,
      });
      expect((await engine.get(job.id))!.executions.map((e) => e.status)).toEqual(['failed', 'failed']);
    });

    it('records an outcome only once per attempt, and never over a cancel', async () => {
      const job = await submit();
      await claim();
      await engine.cancel(job.id, 'cancelled by user');
      expect(
        await endOne(engine, {
          how: 'outcome',
          jobId: job.id,
          runNo: 1,
          outcome: { status: 'completed', exitCode: 0 },
        }),
      ).toBeNull();
      const read = await engine.get(job.id);
      expect(read).toMatchObject({ status: 'cancelled', error: 'cancelled by user' });
      expect(read!.executions[0]).toMatchObject({ status: 'cancelled', exitCode: 0 });
    });

    it('refuses dependencies on jobs that do not exist, storing nothing', async () => {
      await expect(submit({ dependsOn: [999] })).rejects.toThrowError(InvalidInputError);
      expect((await engine.counts({})).total).toBe(0);
    });

    it('runs dependents only after their dependencies completed', async () => {
      const a = await submit();
      const b = await submit();
      const child = await submit({ dependsOn: [a.id, b.id] });
      const first = await claim();
      expect(first.map((job) => job.id)).toEqual([a.id, b.id]);
      await endOne(engine, { how: 'outcome', jobId: a.id, runNo: 1, outcome: { status: 'completed', exitCode: 0 } });
      expect(await claim()).toHaveLength(0);
      await endOne(engine, { how: 'outcome', jobId: b.id, runNo: 1, outcome: { status: 'completed', exitCode: 0 } });
      expect((await claim()).map((job) => job.id)).toEqual([child.id]);
    });

    it('skips the dependents of a failed job, and theirs, naming the cause', async () => {
      const a = await submit();
      const b = await submit({ dependsOn: [a.id] });
      const c = await submit({ dependsOn: [b.id] });
      await claim();
      await endOne(engine, { how: 'outcome', jobId: a.id, runNo: 1, outcome: { status: 'failed', error: 'x' } });
      expect(await engine.get(b.id)).toMatchObject({ status: 'skipped', error: `dependency ${a.id} ended failed` });
      expect((await engine.get(c.id))!.error).toMatch(new RegExp(`dependency ${b.id} was skipped`));
      // A new job depending on a failed one is skipped at once rather than waiting forever.
      expect(await submit({ dependsOn: [a.id] })).toMatchObject({ status: 'skipped' });
    });

    it('returns the existing job for a known key', async () => {
      const first = await engine.submit([normalizeSpec({ command: 'true', key: { b: 2, a: 1 } })]);
      const second = await engine.submit([normalizeSpec({ command: 'true', key: { a: 1, b: 2 } })]);
      expect(first[0]!.created).toBe(true);
      expect(second[0]).toMatchObject({ created: false, job: { id: first[0]!.job.id } });
      expect((await engine.counts({})).total).toBe(1);
    });

    it('refuses illegal moves and changes nothing', async () => {
      const job = await submit();
      await claim();
      await endOne(engine, { how: 'outcome', jobId: job.id, runNo: 1, outcome: { status: 'completed', exitCode: 0 } });
      await expect(engine.cancel(job.id, 'x')).rejects.toThrowError(InvalidStateError);
      await expect(engine.requeue(job.id)).rejects.toThrowError(InvalidStateError);
      await expect(engine.cancel(12345, 'x')).rejects.toThrowError(NotFoundError);
      expect(await engine.get(job.id)).toMatchObject({ status: 'completed' });
    });

    it('requeues a failed job with attempts reset and history kept', async () => {
      const job = await submit();
      await claim();
      await endOne(engine, { how: 'outcome', jobId: job.id, runNo: 1, outcome: { status: 'failed', error: 'x' } });
      expect(await engine.requeue(job.id)).toMatchObject({ status: 'pending', attempts: 0, error: null });
      const [again] = await claim();
      expect(again).toMatchObject({ attempts: 1, runNo: 2 });
      expect((await engine.get(job.id))!.executions.map((e) => e.attempt)).toEqual([1, 2]);
    });

    it('suspends and resumes: a held pending job returns to pending', async () => {
      const job = await submit();
      expect(await engine.suspend(job.id)).toMatchObject({ status: 'suspended' });
      expect(await claim()).toHaveLength(0);
      expect(await engine.resume(job.id)).toMatchObject({ status: 'pending' });
      await expect(engine.resume(job.id)).rejects.toThrowError(/only suspended jobs can be resumed/);
    });

    it('leaves a job suspended before it started alone when reconciling', async () => {
      const job = await submit();
      await engine.suspend(job.id);
      expect((await reconcile(engine, 60_000, 100, localProcesses)).lost).toEqual([]);
      expect(await engine.get(job.id)).toMatchObject({ status: 'suspended', attempts: 0, error: null });
      expect(await engine.resume(job.id)).toMatchObject({ status: 'pending' });
    });

    it('releases a job on shutdown without counting the attempt', async () => {
      const job = await submit();
      await claim();
      expect(
        await endOne(engine, { how: 'release', jobId: job.id, runNo: 1, reason: 'worker shut down' }),
      ).toMatchObject({ status: 'pending', attempts: 0 });
      expect(await endOne(engine, { how: 'release', jobId: job.id, runNo: 1, reason: 'again' })).toBeNull();
      const [again] = await claim();
      expect(again).toMatchObject({ attempts: 1, runNo: 2 });
    });

    it('settles lost attempts: retried if attempts remain, failed otherwise', async () => {
      const once = await submit();
      const twice = await submit({ maxAttempts: 2 });
      await claim({ leaseMs: -1 }); // leases that lapsed
      await engine.endAttempts([
        { how: 'lost', jobId: once.id, runNo: 1, reason: 'worker w1 died' },
        { how: 'lost', jobId: twice.id, runNo: 1, reason: 'worker w1 died' },
      ]);
      expect(await engine.get(once.id)).toMatchObject({ status: 'failed', error: 'worker w1 died' });
      expect(await engine.get(twice.id)).toMatchObject({ status: 'pending' });
    });

    it('counts every state, zeros included, and lists with filters and paging', async () => {
      for (let i = 0; i < 5; i++) await submit({ queue: i % 2 ? 'odd' : 'even' });
      const counts = await engine.counts({});
      expect(counts).toMatchObject({ pending: 5, running: 0, completed: 0, skipped: 0, total: 5 });
      expect((await engine.counts({ queue: 'odd' })).total).toBe(2);
      const page = await engine.list({ limit: 2, offset: 1, order: 'desc' });
      expect(page.map((job) => job.id)).toEqual([4, 3]);
      expect(await engine.list({ queue: 'odd', statuses: ['pending'] })).toHaveLength(2);
    });

    it('clears finished jobs only', async () => {
      const done = await submit();
      const waiting = await submit();
      await claim({ limit: 1 });
      await endOne(engine, { how: 'outcome', jobId: done.id, runNo: 1, outcome: { status: 'completed', exitCode: 0 } });
      expect(await engine.clear({ statuses: ['completed', 'cancelled'] })).toEqual([done.id]);
      expect(await engine.get(waiting.id)).not.toBeNull();
    });

    it('registers an on-demand candidate only once every worker serving the queue was judged dead, unchanged', async () => {
      const now = Date.now();
      const worker = (id: string, queues: string[]): WorkerInfo => ({
        id,
        host: 'h',
        pid: 1,
        pidStart: null,
        queues,
        concurrency: 1,
        wakeAddress: null,
        startedAt: now,
        heartbeatAt: now - 1_000,
      });
      const old = worker('w-old', ['*']);
      await engine.registerWorker(old);
      await engine.registerWorker(worker('w-other', ['other']));
      const candidate = worker('w-new', ['*']);
      // Not judged yet: the caller is told whom to judge, and nothing is registered.
      expect(await engine.registerWorkerIfNone(candidate, 'default', [])).toEqual({
        registered: false,
        serving: [expect.objectContaining({ id: 'w-old' })],
      });
      // Judged dead, but it renewed its heartbeat since: judged again.
      await engine.heartbeat('w-old', 60_000);
      const renewed = await engine.registerWorkerIfNone(candidate, 'default', [old]);
      expect(renewed).toMatchObject({ registered: false, serving: [{ id: 'w-old' }] });
      // Judged dead as it is now: the candidate is registered.
      const [current] = renewed.registered ? [] : renewed.serving;
      expect(await engine.registerWorkerIfNone(candidate, 'default', [current!])).toEqual({ registered: true });
      expect((await engine.listWorkers()).map((registered) => registered.id).sort()).toEqual([
        'w-new',
        'w-old',
        'w-other',
      ]);
    });

    it('retires an idle worker only when its queues have nothing left', async () => {
      const now = Date.now();
      const register = (id: string) =>
        engine.registerWorker({
          id,
          host: 'h',
          pid: 1,
          pidStart: null,
          queues: ['*'],
          concurrency: 1,
          wakeAddress: null,
          startedAt: now,
          heartbeatAt: now,
        });
      await register('w1');
      await register('w2');
      const job = await submit({ runAt: now + 60_000 });
      expect(await engine.retireIfIdle('w1', ['*'], ['command'], now + 120_000)).toBe(false);
      // A worker that cannot run the waiting job's type has nothing to wait for.
      expect(await engine.retireIfIdle('w2', ['*'], ['other-type'], now + 120_000)).toBe(true);
      expect((await engine.listWorkers()).map((worker) => worker.id)).toEqual(['w1']);
      await engine.cancel(job.id, 'x');
      expect(await engine.retireIfIdle('w1', ['*'], ['command'], now + 120_000)).toBe(true);
      expect(await engine.listWorkers()).toEqual([]);
    });

    it('never leaves a dependent waiting for a parent that completed while it was submitted', async () => {
      for (let round = 0; round < 40; round++) {
        const parent = await submit();
        const [claimed] = await claim({ limit: 1 });
        expect(claimed?.id).toBe(parent.id);
        const [child] = await Promise.all([
          submit({ dependsOn: [parent.id] }),
          engine.endAttempts([
            { how: 'outcome', jobId: parent.id, runNo: 1, outcome: { status: 'completed', exitCode: 0 } },
          ]),
        ]);
        expect(await engine.get(child.id)).toMatchObject({ status: 'pending', blockedBy: 0 });
        await engine.cancel(child.id, 'done with it');
      }
    });

    it('reclaims the jobs of a worker on a vanished machine once its lease lapsed, and not before', async () => {
      const leaseMs = 60_000;
      const job = await submit({ maxAttempts: 2 });
      const now = Date.now();
      const remote = {
        id: 'w-remote',
        host: 'machine-that-vanished',
        pid: 4242,
        pidStart: null,
        queues: ['*'],
        concurrency: 4,
        wakeAddress: null,
        startedAt: now,
        heartbeatAt: now,
      };
      await engine.registerWorker(remote);
      await claim({ workerId: remote.id, host: remote.host, leaseMs });
      // Its heartbeat is recent: a slow worker on another machine is left alone.
      expect((await reconcile(engine, leaseMs, 100, localProcesses)).lost).toEqual([]);
      expect(await engine.get(job.id)).toMatchObject({ status: 'running', workerId: remote.id });
      // Silent past its lease: its job is settled (retried here) with the dead worker named. (A
      // renewal with a negative lease stands for the last renewal being that long ago.)
      await engine.heartbeat(remote.id, -leaseMs);
      await engine.registerWorker({ ...remote, heartbeatAt: now - 2 * leaseMs });
      const lapsed = await reconcile(engine, leaseMs, 100, localProcesses);
      expect(lapsed.lost).toEqual([expect.objectContaining({ jobId: job.id })]);
      const settled = await engine.get(job.id);
      expect(settled).toMatchObject({ status: 'pending', attempts: 1 });
      expect(settled?.executions[0]).toMatchObject({
        status: 'failed',
        host: remote.host,
        error: expect.stringMatching(/w-remote \(host machine-that-vanished, pid 4242\) died/),
      });
      expect((await engine.listWorkers()).map((worker) => worker.id)).not.toContain(remote.id);
    });

    describe('jobs of an external scheduler (SLURM)', () => {
      /** A report of the scheduler based on the job's record as it is now. */
      async function report(fields: Omit<ObservedState, 'seen'>): Promise<ObservedState> {
        const job = await engine.get(fields.jobId);
        if (!job) throw new Error(`no job ${fields.jobId}`);
        return { ...fields, seen: { status: job.status, updatedAt: job.updatedAt } };
      }
      const apply = async (fields: Omit<ObservedState, 'seen'>) => engine.applyObserved([await report(fields)]);

      it('records the scheduler id once: a second hand-over is refused', async () => {
        const job = await submit({ scheduler: 'slurm' });
        expect(await engine.recordSubmitted(job.id, '101')).toMatchObject({ schedulerJobId: '101' });
        expect(await engine.recordSubmitted(job.id, '102')).toBeNull();
        expect(await engine.get(job.id)).toMatchObject({ status: 'pending', schedulerJobId: '101' });
      });

      it('lists the active jobs of the scheduler only, with their dependencies', async () => {
        const local = await submit();
        const parent = await submit({ scheduler: 'slurm' });
        const child = await submit({ scheduler: 'slurm', dependsOn: [parent.id] });
        const tracked = await engine.listTracked('slurm');
        expect(tracked.map((job) => job.id)).toEqual([parent.id, child.id]);
        expect(tracked[1]?.dependsOn).toEqual([parent.id]);
        expect(tracked.some((job) => job.id === local.id)).toBe(false);
      });

      it('applies what the scheduler reports: start, end with exit code, history; stale reports change nothing', async () => {
        const job = await submit({ scheduler: 'slurm' });
        const child = await submit({ dependsOn: [job.id] });
        await engine.recordSubmitted(job.id, '7');
        const started = Date.now() - 5_000;
        const [running] = await apply({
          jobId: job.id,
          schedulerJobId: '7',
          status: 'running',
          startedAt: started,
          host: 'node1',
        });
        expect(running).toMatchObject({ status: 'running', attempts: 1, host: 'node1', startedAt: started });
        // A report about another submission of the job is ignored.
        expect(await apply({ jobId: job.id, schedulerJobId: '8', status: 'failed' })).toEqual([]);
        const ended = Date.now() - 1_000;
        await apply({ jobId: job.id, schedulerJobId: '7', status: 'completed', exitCode: 0, endedAt: ended });
        const done = await engine.get(job.id);
        expect(done).toMatchObject({ status: 'completed', exitCode: 0, endedAt: ended });
        expect(done?.executions).toEqual([
          expect.objectContaining({ attempt: 1, status: 'completed', endedAt: ended }),
        ]);
        expect(await engine.get(child.id)).toMatchObject({ status: 'pending', blockedBy: 0 });
        // A final record stands.
        expect(await apply({ jobId: job.id, schedulerJobId: '7', status: 'failed' })).toEqual([]);
      });

      it('a report taken before docket changed the record changes nothing: a suspend is not undone', async () => {
        const job = await submit({ scheduler: 'slurm' });
        await engine.recordSubmitted(job.id, '41');
        await apply({ jobId: job.id, schedulerJobId: '41', status: 'running', host: 'node1' });
        // Another process reads the record and asks SLURM, which still says RUNNING…
        const before = await report({ jobId: job.id, schedulerJobId: '41', status: 'running', host: 'node1' });
        // …while the job is suspended (scontrol suspend, then the record).
        await engine.suspend(job.id);
        expect(await engine.applyObserved([before])).toEqual([]);
        expect(await engine.get(job.id)).toMatchObject({ status: 'suspended' });
        // The same goes for an end reported on a record that changed since it was read.
        const staleEnd = await report({ jobId: job.id, schedulerJobId: '41', status: 'completed', exitCode: 0 });
        await engine.resume(job.id);
        expect(await engine.applyObserved([staleEnd])).toEqual([]);
        expect(await engine.get(job.id)).toMatchObject({ status: 'running' });
        // A report based on the current record applies.
        await apply({ jobId: job.id, schedulerJobId: '41', status: 'completed', exitCode: 0 });
        expect(await engine.get(job.id)).toMatchObject({ status: 'completed', exitCode: 0 });
      });

      it('a failure retries (held again, without a scheduler id) while attempts remain, then fails and skips dependents', async () => {
        const job = await submit({ scheduler: 'slurm', maxAttempts: 2 });
        const child = await submit({ dependsOn: [job.id] });
        await engine.recordSubmitted(job.id, '1');
        const [retried] = await apply({
          jobId: job.id,
          schedulerJobId: '1',
          status: 'failed',
          exitCode: 3,
          error: 'exited with code 3',
        });
        expect(retried).toMatchObject({ status: 'pending', attempts: 1, schedulerJobId: null });
        await engine.recordSubmitted(job.id, '2');
        await apply({ jobId: job.id, schedulerJobId: '2', status: 'timeout' });
        expect(await engine.get(job.id)).toMatchObject({ status: 'timeout', attempts: 2 });
        expect(await engine.get(child.id)).toMatchObject({ status: 'skipped' });
      });

      it("keeps SLURM's pending reason of the current submission, and forgets it when the job is handed over again", async () => {
        const job = await submit({ scheduler: 'slurm', maxAttempts: 2 });
        await engine.recordSubmitted(job.id, '31');
        const pending = { jobId: job.id, schedulerJobId: '31', status: 'pending' as const };
        // A pending report changes no state: nothing is returned as changed, the reason is kept.
        expect(await apply({ ...pending, reason: 'Priority' })).toEqual([]);
        expect(await engine.get(job.id)).toMatchObject({ status: 'pending', schedulerReason: 'Priority' });
        await apply({ ...pending, reason: 'Resources' });
        expect(await engine.get(job.id)).toMatchObject({ schedulerReason: 'Resources' });
        // A report about another submission leaves it alone.
        await apply({ ...pending, schedulerJobId: '99', reason: 'Dependency' });
        expect(await engine.get(job.id)).toMatchObject({ schedulerReason: 'Resources' });
        await apply({ ...pending, reason: null });
        expect(await engine.get(job.id)).toMatchObject({ schedulerReason: null });
        await apply({ ...pending, reason: 'Resources' });
        await apply({ jobId: job.id, schedulerJobId: '31', status: 'failed', exitCode: 1 });
        expect(await engine.recordSubmitted(job.id, '32')).toMatchObject({
          schedulerJobId: '32',
          schedulerReason: null,
        });
      });

      it('takes back a refused submit: pending jobs that nothing depends on', async () => {
        const refused = await submit({ scheduler: 'slurm' });
        const parent = await submit({ scheduler: 'slurm' });
        await submit({ dependsOn: [parent.id] });
        await engine.discard([refused.id, parent.id]);
        expect(await engine.get(refused.id)).toBeNull();
        expect(await engine.get(parent.id)).not.toBeNull();
      });
    });
  });
}
