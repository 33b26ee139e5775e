/**
 * Several real worker processes on one SQLite file, configured by a TypeScript config file with
 * TypeScript handler modules (no build step): exactly-once claims, a queue capacity that holds
 * across workers, a SIGKILLed worker whose job another worker reclaims, graceful SIGTERM.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BIN, isAlive, makeHome, readRunRecords, type TestHome, waitFor } from '../helpers/cli.js';

let t: TestHome;
let workers: ChildProcess[] = [];
let project: string;

const CONFIG = `
import type { JobTypeDefinition } from '${join(process.cwd(), 'src', 'index.ts')}';

export default {
  queues: [{ name: 'solo', capacity: 1 }],
  types: [
    {
      name: 'record',
      handler: './handlers/record.ts',
      paramsSchema: {
        type: 'object',
        properties: { ms: { type: 'integer', minimum: 0 }, file: { type: 'string' }, gate: { type: 'string' } },
        required: ['ms', 'file'],
      },
      maxAttempts: 2,
    },
    { name: 'solo-record', handler: './handlers/record.ts', queue: 'solo' },
  ] satisfies Omit<JobTypeDefinition, 'handler'>[] as unknown[],
};
`;

const HANDLER = `
import { appendFileSync, existsSync } from 'node:fs';
import type { HandlerContext } from '${join(process.cwd(), 'src', 'index.ts')}';

// Waits \`ms\`, or until the file \`gate\` exists (the test opens it), or until it is stopped.
export default async function record({ params, job, signal }: HandlerContext<{ ms: number; file: string; gate?: string }>) {
  const started = Date.now();
  await new Promise<void>((resolve, reject) => {
    const end = () => { clearInterval(poll); clearTimeout(timer); };
    const poll = setInterval(() => { if (params.gate && existsSync(params.gate)) { end(); resolve(); } }, 20);
    const timer = params.gate ? undefined : setTimeout(() => { end(); resolve(); }, params.ms);
    signal.addEventListener('abort', () => { end(); reject(signal.reason); });
  });
  appendFileSync(params.file, JSON.stringify({ id: job.id, pid: process.pid, started, ended: Date.now() }) + '\\n');
  return process.pid;
}
`;

beforeEach(() => {
  t = makeHome({ DOCKET_ON_DEMAND: '0' });
  project = join(t.home, 'project');
  mkdirSync(join(project, 'handlers'), { recursive: true });
  writeFileSync(join(project, 'docket.config.ts'), CONFIG);
  writeFileSync(join(project, 'handlers', 'record.ts'), HANDLER);
});

afterEach(async () => {
  for (const worker of workers) if (worker.exitCode === null) worker.kill('SIGKILL');
  workers = [];
  await t.cleanup();
});

/** A `docket worker` process; `log()` is what it wrote so far (its log on stdout, anything on stderr). */
function startWorker(concurrency = 4): ChildProcess & { log(): string } {
  const worker = spawn(process.execPath, [BIN, 'worker', '--concurrency', String(concurrency)], {
    cwd: project,
    env: { ...process.env, DOCKET_HOME: t.home, DOCKET_DB: t.db, DOCKET_ON_DEMAND: '0', DOCKET_GRACE: '1s' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  worker.stdout?.on('data', (chunk) => (log += chunk));
  worker.stderr?.on('data', (chunk) => (log += chunk));
  workers.push(worker);
  return Object.assign(worker, { log: () => log });
}

async function waitForWorkers(count: number): Promise<void> {
  await waitFor(`${count} workers to register`, async () => {
    const { Docket } = await import('../../src/docket.js');
    const docket = await Docket.open({ home: t.home, db: t.db, manageWorkers: false });
    const workers = await docket.engine.listWorkers();
    await docket.close();
    return workers.filter((worker) => worker.concurrency > 0).length >= count;
  });
}

const records = readRunRecords;

/** Submits from another program that has no handlers: it relies on the types the workers stored. */
async function submitMany(type: string, count: number, params: Record<string, unknown>): Promise<number[]> {
  const { Docket } = await import('../../src/docket.js');
  const docket = await Docket.open({ home: t.home, db: t.db, manageWorkers: false });
  const jobs = await docket.submitMany(Array.from({ length: count }, () => ({ type, params })));
  await docket.close();
  return jobs.map((job) => job.id);
}

describe('worker processes', () => {
  it('submit --type checks params against the config file, naming the field', async () => {
    const bad = await t.run(['submit', '--type', 'record', '--params', '{"ms": -1, "file": "x"}'], { cwd: project });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('docket: params/ms: must be >= 0 (job type record)\n');
    const notJson = await t.run(['submit', '--type', 'record', '--params', '{ms'], { cwd: project });
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toMatch(/^docket: --params: is not valid JSON/);
    expect((await t.json(['progress'])).total).toBe(0);
  });

  it('two workers run 300 jobs, each exactly once', async () => {
    const out = join(t.home, 'once.jsonl');
    startWorker();
    startWorker();
    await waitForWorkers(2);
    const ids = await submitMany('record', 300, { ms: 0, file: out });
    await waitFor('all jobs to complete', async () => (await t.json(['progress'])).completed === 300, 60_000);
    const seen = records(out).map((record) => record.id);
    expect(seen.sort((a, b) => a - b)).toEqual(ids);
    const statuses = await t.json(['list', '--all', '--limit', '0']);
    expect(statuses.every((job: { attempts: number }) => job.attempts === 1)).toBe(true);
  });

  it('a queue capacity of 1 holds across two workers', async () => {
    const out = join(t.home, 'solo.jsonl');
    startWorker();
    startWorker();
    await waitForWorkers(2);
    await submitMany('solo-record', 8, { ms: 150, file: out });
    const queues = await t.json(['queue', 'list']);
    expect(queues.find((queue: { name: string }) => queue.name === 'solo')).toMatchObject({ capacity: 1 });
    await waitFor('all solo jobs to complete', async () => (await t.json(['progress'])).completed === 8, 60_000);
    const intervals = records(out).sort((a, b) => a.started - b.started);
    for (let i = 1; i < intervals.length; i++) {
      expect(intervals[i]!.started).toBeGreaterThanOrEqual(intervals[i - 1]!.ended);
    }
  });

  it('a job whose worker is killed with SIGKILL is reclaimed by another worker', async () => {
    const out = join(t.home, 'reclaim.jsonl');
    const gate = join(t.home, 'reclaim.gate'); // the job runs until the test opens it
    const first = startWorker(1);
    await waitForWorkers(1);
    const params = JSON.stringify({ ms: 0, file: out, gate });
    const job = await t.json(['submit', '--type', 'record', '--params', params], { cwd: project });
    await waitFor('the job to run', async () => (await t.json(['status', String(job.id)])).status === 'running');
    first.kill('SIGKILL');
    await waitFor('the first worker to die', () => first.exitCode !== null || first.signalCode !== null);
    startWorker(1);
    await waitFor(
      'the job to run again on the other worker',
      async () => {
        const current = await t.json(['status', String(job.id)]);
        return current.status === 'running' && current.attempts === 2;
      },
      60_000,
    );
    writeFileSync(gate, '');
    const done = await waitFor('the job to complete', async () => {
      const current = await t.json(['status', String(job.id)]);
      return current.status === 'completed' && current;
    });
    expect(done.executions).toHaveLength(2);
    expect(done.executions[0]).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/died while the job was running/),
    });
    expect(done.executions[0].pid).toBe(null);
    expect(done.executions[0].worker_id).not.toBe(done.executions[1].worker_id);
    expect(done.result).not.toBe(first.pid);
  });

  it('SIGTERM lets a short job finish, releases a long one, and leaves nothing running', async () => {
    const out = join(t.home, 'graceful.jsonl');
    const shortGate = join(t.home, 'short.gate'); // opened once the worker is shutting down
    const worker = startWorker(2);
    await waitForWorkers(1);
    const submit = (gate: string) =>
      t.json(['submit', '--type', 'record', '--params', JSON.stringify({ ms: 0, file: out, gate })], { cwd: project });
    const short = await submit(shortGate);
    const long = await submit(join(t.home, 'never.gate')); // runs until stopped
    await waitFor('both to run', async () => (await t.json(['progress'])).running === 2);
    worker.kill('SIGTERM');
    await waitFor('the worker to start shutting down', () => worker.log().includes('shutting down gracefully'));
    writeFileSync(shortGate, ''); // the short job ends within the shutdown's grace period
    await waitFor('the worker to exit', () => worker.exitCode !== null, 30_000);
    expect(worker.exitCode).toBe(0);
    expect((await t.json(['status', String(short.id)])).status).toBe('completed');
    const released = await t.json(['status', String(long.id)]);
    expect(released).toMatchObject({ status: 'pending', attempts: 0 });
    expect((await t.json(['progress'])).running).toBe(0);
    expect(isAlive(worker.pid!)).toBe(false);
  });
});
