/**
 * No daemon: on-demand workers, reconciliation of dead workers, pid reuse, ordering with a real
 * worker, and many processes writing to one store at once — on either engine.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processStartTime } from '../../src/core/processes.js';
import { normalizeSpec } from '../../src/core/spec.js';
import {
  BIN,
  gatedCommand,
  isAlive,
  makeHome,
  processesWithEnv,
  ROOT,
  runProcess,
  type TestHome,
  uniqueMark,
  waitFor,
} from '../helpers/cli.js';
import { dropTestStore, openTestStore, TEST_ENGINE } from '../helpers/engines.js';

let t: TestHome;
beforeAll(() => {
  // On PostgreSQL submits start no worker by default: these tests rely on one being started.
  t = makeHome({ DOCKET_ON_DEMAND: '1' });
});
afterAll(() => t.cleanup());

const status = (id: number, home = t) => home.json(['status', String(id)]);

describe('on-demand workers', () => {
  it('a submit starts a detached worker, which exits by itself once idle', async () => {
    const home = makeHome({ DOCKET_IDLE_EXIT: '1s', DOCKET_ON_DEMAND: '1' });
    try {
      // The job waits for a gate the test opens, so the worker cannot finish and leave before it is seen.
      const gate = join(home.home, 'gate');
      const job = await home.json(['submit', '--cmd', `while [ ! -e ${gate} ]; do sleep 0.05; done`]);
      const db = await openTestStore(home.db);
      const [worker] = await db.listWorkers();
      expect(worker).toBeDefined();
      writeFileSync(gate, '');
      await waitFor(
        'the job to complete',
        async () => (await home.json(['status', String(job.id)])).status === 'completed',
      );
      await waitFor('the worker to exit', () => !isAlive(worker!.pid), 20_000);
      expect(await db.listWorkers()).toEqual([]);
      await db.close();
    } finally {
      await home.cleanup();
    }
  });

  it('an on-demand worker whose store vanished (file deleted, schema dropped) says so once and exits', async () => {
    const home = makeHome({ DOCKET_ON_DEMAND: '1' });
    try {
      // The job waits for a file no one creates: only the store's disappearance can end the worker.
      const never = join(home.home, 'never');
      const job = await home.json(['submit', '--cmd', `while [ ! -e ${never} ]; do sleep 0.05; done`]);
      const running = await waitFor('the job to run', async () => {
        const current = await status(job.id, home);
        return current.status === 'running' && current.pid !== null && current;
      });
      const db = await openTestStore(home.db);
      const [worker] = await db.listWorkers();
      await db.close();
      if (TEST_ENGINE === 'sqlite')
        for (const suffix of ['', '-wal', '-shm']) rmSync(`${home.db}${suffix}`, { force: true });
      else await dropTestStore(home.db);
      await waitFor('the worker to exit', () => !isAlive(worker!.pid), 30_000);
      expect(isAlive(running.pid)).toBe(false); // its job was stopped, not left behind
      const log = readdirSync(join(home.home, 'logs'), { recursive: true, encoding: 'utf8' })
        .filter((file) => file.endsWith('workers.log'))
        .map((file) => readFileSync(join(home.home, 'logs', file), 'utf8'))
        .join('');
      expect(log.match(/the store is gone/g)).toHaveLength(1);
    } finally {
      await home.cleanup();
    }
  });

  it('with DOCKET_ON_DEMAND=0 nothing starts and the job waits for an explicit worker', async () => {
    const home = makeHome({ DOCKET_ON_DEMAND: '0' });
    try {
      const job = await home.json(['submit', '--cmd', 'true']);
      const db = await openTestStore(home.db);
      expect(await db.listWorkers()).toEqual([]);
      await db.close();
      const worker = await home.run(['worker', '--idle-exit', '1s']);
      expect(worker.code).toBe(0);
      expect((await home.json(['status', String(job.id)])).status).toBe('completed');
    } finally {
      await home.cleanup();
    }
  });
});

describe('docket run without a worker', () => {
  it('runs its job in its own process: no background worker is started or left behind', async () => {
    const home = makeHome();
    try {
      const result = await home.run(['run', '--', 'echo', 'here']);
      expect(result).toMatchObject({ code: 0, stdout: 'here\n' });
      const db = await openTestStore(home.db);
      expect(await db.listWorkers()).toEqual([]);
      await db.close();
      const logs = readdirSync(join(home.home, 'logs'), { recursive: true }).map(String);
      expect(logs.some((file) => file.endsWith('workers.log'))).toBe(false);
      const [job] = await home.json(['list', '--all']);
      expect(job).toMatchObject({ status: 'completed', exit_code: 0 });
    } finally {
      await home.cleanup();
    }
  });
});

describe('reconciliation', () => {
  it('a job whose worker is killed with SIGKILL is not left running, and its processes are stopped', async () => {
    const mark = uniqueMark();
    const job = await t.json(['submit', '--env', `MARK=${mark}`, '--cmd', 'sleep 300']);
    const running = await waitFor('the job to run', async () => {
      const current = await status(job.id);
      return current.status === 'running' && current.pid && current;
    });
    const db = await openTestStore(t.db);
    const owner = (await db.listWorkers()).find((worker) => worker.id === running.worker_id);
    await db.close();
    expect(owner).toBeDefined();
    process.kill(owner!.pid, 'SIGKILL');
    await waitFor('the worker to die', () => !isAlive(owner!.pid));
    const after = await status(job.id); // this CLI call reconciles before it shows
    expect(after.status).toBe('failed');
    expect(after.error).toBe(
      `worker ${owner!.id} (host ${hostname()}, pid ${owner!.pid}) died while the job was running`,
    );
    expect(after.executions[0]).toMatchObject({ status: 'failed', pid: running.pid });
    expect(processesWithEnv('MARK', mark)).toEqual([]);
  });

  it('a reused pid is not mistaken for the live job, nor is it signalled', async () => {
    // A process that happens to hold the pid now, but started at another time than the recorded one.
    const stranger = spawn('sleep', ['300'], { stdio: 'ignore' });
    const pid = stranger.pid!;
    try {
      const db = await openTestStore(t.db);
      const realStart = processStartTime(pid)!;
      const now = Date.now();
      await db.registerWorker({
        id: 'w-reused',
        host: hostname(),
        pid,
        pidStart: realStart - 1000,
        queues: ['nowhere'],
        concurrency: 1,
        wakeAddress: null,
        startedAt: now,
        heartbeatAt: now,
      });
      const [submitted] = await db.submit([normalizeSpec({ command: 'sleep 1', queue: 'nowhere' })]);
      const job = submitted!.job;
      await db.claim({
        workerId: 'w-reused',
        host: hostname(),
        pid,
        queues: ['nowhere'],
        scheduler: 'local',
        types: ['*'],
        limit: 1,
        leaseMs: 600_000,
      });
      await db.recordProcess(job.id, 1, pid, realStart - 1000);
      await db.close();
      const after = await status(job.id);
      expect(after.status).toBe('failed');
      expect(after.error).toMatch(/worker w-reused .* died/);
      expect(isAlive(pid)).toBe(true);
    } finally {
      stranger.kill('SIGKILL');
    }
  });
});

describe('ordering with a real worker', () => {
  it('runs higher priority first, then first in, first out', async () => {
    const home = makeHome({ DOCKET_ON_DEMAND: '0' });
    try {
      const out = join(home.home, 'order.txt');
      const submit = (name: string, priority: number) =>
        home.json(['submit', '--priority', String(priority), '--cmd', `echo ${name} >> ${out}`]);
      await submit('low', -5);
      await submit('a', 0);
      await submit('urgent', 10);
      await submit('b', 0);
      await submit('c', 0);
      await submit('high', 5);
      expect((await home.run(['worker', '--concurrency', '1', '--idle-exit', '1s'])).code).toBe(0);
      expect(readFileSync(out, 'utf8').split('\n').filter(Boolean)).toEqual(['urgent', 'high', 'a', 'b', 'c', 'low']);
    } finally {
      await home.cleanup();
    }
  });

  it('--after holds a job until its dependency completed, and skips it when it failed', async () => {
    const out = join(t.home, 'after.txt');
    const gate = join(t.home, 'after-gate');
    const first = await t.json([
      'submit',
      '--cmd',
      `while [ ! -e ${gate} ]; do sleep 0.05; done; echo first >> ${out}`,
    ]);
    const second = await t.json(['submit', '--after', String(first.id), '--cmd', `echo second >> ${out}`]);
    expect((await t.run(['list'])).stdout).toMatch(/pending \(blocked\)/);
    writeFileSync(gate, '');
    await waitFor('the dependent to complete', async () => (await status(second.id)).status === 'completed');
    expect(readFileSync(out, 'utf8')).toBe('first\nsecond\n');
    const [a, b] = [await status(first.id), await status(second.id)];
    expect(Date.parse(b.started_at)).toBeGreaterThanOrEqual(Date.parse(a.ended_at));

    const failGate = join(t.home, 'fail-gate'); // it fails once its dependent is stored
    const failing = await t.json(['submit', '--cmd', gatedCommand(failGate, 'exit 1')]);
    const dependent = await t.json(['submit', '--after', String(failing.id), '--cmd', 'echo never']);
    writeFileSync(failGate, '');
    const skipped = await waitFor('the dependent to be skipped', async () => {
      const current = await status(dependent.id);
      return current.status === 'skipped' && current;
    });
    expect(skipped.error).toBe(`dependency ${failing.id} ended failed`);
  });

  it('--delay holds a job until its time', async () => {
    const later = await t.json(['submit', '--delay', '1h', '--cmd', 'true']);
    expect((await t.run(['list'])).stdout).toMatch(new RegExp(`${later.id} .*pending \\(delayed\\)`));
    await t.json(['cancel', String(later.id)]);
    const job = await t.json(['submit', '--delay', '2s', '--cmd', 'true']);
    const done = await waitFor('the delayed job to complete', async () => {
      const current = await status(job.id);
      return current.status === 'completed' && current;
    });
    expect(Date.parse(done.started_at)).toBeGreaterThanOrEqual(Date.parse(job.run_at));
  });
});

describe('many processes on one store', () => {
  // PostgreSQL takes single submits several times slower: fewer each, the same race.
  const each = TEST_ENGINE === 'sqlite' ? 5000 : 1500;
  it(`four processes submitting ${each} jobs each end with exactly ${4 * each} rows and no lock error`, async () => {
    const home = makeHome({ DOCKET_ON_DEMAND: '0' });
    try {
      const script = `
        import { Docket } from ${JSON.stringify(join(ROOT, 'dist', 'index.js'))};
        const docket = await Docket.open();
        for (let i = 0; i < ${each}; i++) await docket.submit({ command: 'true', name: 'p' + process.argv[1] + '-' + i });
        await docket.close();
      `;
      const env = { ...home.env, DOCKET_ON_DEMAND: '0' };
      const results = await Promise.all(
        [1, 2, 3, 4].map((n) =>
          runProcess(process.execPath, ['--input-type=module', '-e', script, String(n)], { env, cwd: ROOT }),
        ),
      );
      for (const result of results) {
        expect(result.stderr).not.toMatch(/locked|busy/i);
        expect(result.code).toBe(0);
      }
      const counts = await home.json(['progress']);
      expect(counts.total).toBe(4 * each);
      expect(counts.pending).toBe(4 * each);
    } finally {
      await home.cleanup();
    }
  });

  it('concurrent CLI submits all run, and exactly one worker is started for them', async () => {
    const home = makeHome({ DOCKET_IDLE_EXIT: '5m', DOCKET_ON_DEMAND: '1' });
    try {
      const submits = await Promise.all(
        Array.from({ length: 12 }, (_, i) => home.json(['submit', '--cmd', `echo ${i}`])),
      );
      const ids = submits.map((job) => job.id as number);
      expect(new Set(ids).size).toBe(12);
      const db = await openTestStore(home.db);
      const workers = await db.listWorkers();
      await db.close();
      expect(workers).toHaveLength(1);
      const result = await runProcess(process.execPath, [BIN, 'wait', ...ids.map(String)], {
        env: home.env,
      });
      expect(result.code).toBe(0);
    } finally {
      await home.cleanup();
    }
  });
});
