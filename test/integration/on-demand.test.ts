/**
 * On-demand workers (SQLite, where they are on by default): an explicit worker does not start a
 * second one behind its back; work that cannot run yet keeps none alive; and a library program
 * starts none unless it asks, and then loads no configuration it did not name.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Docket } from '../../src/docket.js';
import { BIN, isAlive, makeHome, type TestHome, waitFor } from '../helpers/cli.js';

let t: TestHome;
let children: ChildProcess[] = [];

beforeEach(() => {
  t = makeHome(); // on-demand workers on (SQLite's default), idle exit after 3s
});

afterEach(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  children = [];
  await t.cleanup();
});

async function withDocket<T>(work: (docket: Docket) => Promise<T>, options = {}): Promise<T> {
  const docket = await Docket.open({ home: t.home, db: t.db, ...options });
  try {
    return await work(docket);
  } finally {
    await docket.close();
  }
}

const workers = () => withDocket((docket) => docket.engine.listWorkers());

describe('on-demand workers', () => {
  it('docket worker --concurrency 1 starts no on-demand worker beside it: one job at a time (item 2)', async () => {
    const out = join(t.home, 'intervals');
    const command = `echo "start $(date +%s%N)" >> ${out}; sleep 0.5; echo "end $(date +%s%N)" >> ${out}`;
    const ids = await withDocket(async (docket) =>
      (await docket.submitMany([1, 2, 3, 4].map(() => ({ command })))).map((job) => job.id),
    );
    const worker = spawn(process.execPath, [BIN, 'worker', '--concurrency', '1'], {
      cwd: t.home,
      env: { ...process.env, DOCKET_HOME: t.home, DOCKET_IDLE_EXIT: '3s' },
      stdio: 'ignore',
    });
    children.push(worker);
    await waitFor('every job to end', async () => (await t.json(['progress'])).completed === 4, 60_000);
    const owners = new Set(
      await Promise.all(ids.map(async (id) => (await t.json(['status', String(id)])).executions[0].worker_id)),
    );
    expect(owners.size).toBe(1);
  });

  it('a job in a paused queue keeps no worker alive; resuming the queue starts one (item 21)', async () => {
    expect((await t.run(['queue', 'pause', 'later'])).code).toBe(0);
    const job = await t.json(['submit', '--queue', 'later', '--cmd', 'true']);
    await waitFor('no worker to be left', async () => (await workers()).length === 0, 30_000);
    expect((await t.json(['status', String(job.id)])).status).toBe('pending');
    expect((await t.run(['queue', 'resume', 'later'])).code).toBe(0);
    await waitFor('the job to run', async () => (await t.json(['status', String(job.id)])).status === 'completed');
  });

  it('a job delayed beyond the idle period, or blocked, starts no worker at all (item 21)', async () => {
    await t.json(['submit', '--delay', '1h', '--cmd', 'true']);
    expect(await workers()).toEqual([]);
    const parent = await t.json(['submit', '--delay', '1h', '--cmd', 'true']);
    await t.json(['submit', '--after', String(parent.id), '--cmd', 'true']);
    expect(await workers()).toEqual([]);
  });

  it('a job delayed beyond the idle period keeps no worker alive; the next call after it is due starts one (item 21)', async () => {
    const job = await t.json(['submit', '--delay', '8s', '--cmd', 'true']);
    const [first] = await workers();
    if (first) await waitFor('the worker to exit', () => !isAlive(first.pid), 30_000);
    await waitFor('no worker to be left', async () => (await workers()).length === 0, 30_000);
    expect((await t.json(['status', String(job.id)])).status).toBe('pending');
    const waited = await t.run(['wait', String(job.id), '--timeout', '60s']);
    expect(waited.code).toBe(0);
    expect((await t.json(['status', String(job.id)])).status).toBe('completed');
  });
});

describe('the library and on-demand workers (item 22)', () => {
  it('a program’s submit starts no worker unless the program asks for one', async () => {
    await withDocket(async (docket) => {
      await docket.submit({ command: 'true' });
      expect(await docket.engine.listWorkers()).toEqual([]);
    });
  });

  it('an on-demand worker a program asked for loads no docket.config.* it did not name', async () => {
    const project = join(t.home, 'project');
    mkdirSync(project, { recursive: true });
    writeFileSync(
      join(project, 'docket.config.json'),
      JSON.stringify({ queues: [{ name: 'from-config', capacity: 2 }] }),
    );
    const before = process.cwd();
    process.chdir(project);
    try {
      await withDocket(
        async (docket) => {
          const job = await docket.submit({ command: 'true' });
          expect((await docket.engine.listWorkers()).length).toBe(1);
          await waitFor('the job to run', async () => (await docket.get(job.id)).status === 'completed');
          expect((await docket.listQueues()).map((queue) => queue.name)).not.toContain('from-config');
        },
        { onDemandWorkers: true },
      );
    } finally {
      process.chdir(before);
    }
  });
});
