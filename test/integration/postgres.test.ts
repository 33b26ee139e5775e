/**
 * PostgreSQL only: what the embedded engine has no counterpart for. Migrations under an advisory
 * lock, schemas, transactional submit, LISTEN/NOTIFY wake-ups and control notices, and several
 * worker processes sharing one database as workers on several machines would.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Docket } from '../../src/docket.js';
import { PostgresEngine } from '../../src/storage/postgres/engine.js';
import type { Worker } from '../../src/worker/worker.js';
import { BIN, processState, ROOT, readRunRecords, runProcess, waitFor } from '../helpers/cli.js';
import { dropTestStore, freshPgUrl } from '../helpers/engines.js';

let home: string;
let db: string;
const cleanups: (() => Promise<void> | void)[] = [];

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'docket-pg-'));
  db = freshPgUrl();
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await dropTestStore(db);
  rmSync(home, { recursive: true, force: true });
});

async function open(url = db): Promise<Docket> {
  const docket = await Docket.open({ home, db: url, manageWorkers: false });
  cleanups.push(() => docket.close());
  return docket;
}

function cli(args: string[], url = db) {
  return runProcess(process.execPath, [BIN, '--db', url, ...args], {
    env: { ...process.env, DOCKET_HOME: home },
    cwd: home,
  });
}

/** The newest schema version: the number of migration files. */
const LATEST = readdirSync(join(ROOT, 'src', 'storage', 'postgres', 'migrations')).filter((file) =>
  file.endsWith('.sql'),
).length;

describe('postgres: schema and migrations', () => {
  it('many processes starting at once migrate exactly once', async () => {
    const results = await Promise.all(Array.from({ length: 6 }, () => cli(['--json', 'db', 'migrate'])));
    for (const result of results) expect(result.code, result.stderr).toBe(0);
    const engine = await PostgresEngine.connect({ url: db, poolSize: 1 });
    cleanups.push(() => engine.close());
    const client = new pg.Client({ connectionString: process.env.DOCKET_TEST_PG });
    await client.connect();
    cleanups.push(() => client.end());
    const { rows } = await client.query(`SELECT version FROM ${engine.schema}.docket_migrations ORDER BY version`);
    expect(rows.map((row) => row.version)).toEqual(Array.from({ length: LATEST }, (_, i) => i + 1));
  });

  it('refuses a schema newer than the code, and changes nothing', async () => {
    const docket = await open();
    await docket.submit({ command: 'true' });
    const client = new pg.Client({ connectionString: process.env.DOCKET_TEST_PG });
    await client.connect();
    cleanups.push(() => client.end());
    const schema = (docket.engine as PostgresEngine).schema;
    await client.query(`INSERT INTO ${schema}.docket_migrations (version, name) VALUES (99, '0099_future.sql')`);
    const result = await cli(['list']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(`schema version 99, newer than this docket understands \\(${LATEST}\\); upgrade docket`),
    );
    expect((await client.query(`SELECT count(*)::int AS n FROM ${schema}.jobs`)).rows[0].n).toBe(1);
  });

  it('one database holds several dockets, one per schema', async () => {
    const other = freshPgUrl();
    cleanups.push(() => dropTestStore(other));
    const a = await open();
    const b = await open(other);
    await a.submit({ command: 'echo a' });
    await a.submit({ command: 'echo a2' });
    await b.submit({ command: 'echo b' });
    expect((await a.list()).map((job) => job.command)).toEqual(['echo a', 'echo a2']);
    expect((await b.list()).map((job) => job.command)).toEqual(['echo b']);
  });

  it('names the server and hides the password when it cannot connect', async () => {
    const result = await cli(['list'], 'postgres://nobody:secret@127.0.0.1:1/none');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^docket: cannot reach PostgreSQL at postgres:\/\/nobody:\*\*\*@127\.0\.0\.1:1\/none: /,
    );
    expect(result.stderr).not.toContain('secret');
  });
});

describe('postgres: logs of a job that ran on another machine', () => {
  it('says where the logs are instead of printing nothing', async () => {
    const docket = await open();
    const job = await docket.submit({ command: 'echo far away' });
    await docket.engine.claim({
      workerId: 'w-far',
      host: 'other-machine',
      pid: 1,
      queues: ['*'],
      scheduler: 'local',
      types: ['*'],
      limit: 1,
      leaseMs: 60_000,
    });
    const result = await cli(['logs', String(job.id)]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(`^docket: job ${job.id} ran on host other-machine; its logs are in the logs folder`),
    );
  });
});

describe('postgres: transactional submit', () => {
  it('a job submitted in the caller’s transaction exists exactly when it commits', async () => {
    const docket = await open();
    const client = new pg.Client({ connectionString: db.replace(/\?.*$/, '') });
    await client.connect();
    cleanups.push(() => client.end());
    const schema = (docket.engine as PostgresEngine).schema;

    await client.query('BEGIN');
    const rolledBack = await docket.submit({ command: 'echo never' }, { connection: client });
    expect(await docket.engine.get(rolledBack.id)).toBeNull(); // not visible outside the transaction
    await client.query('ROLLBACK');
    expect(await docket.engine.get(rolledBack.id)).toBeNull();

    await client.query('BEGIN');
    await client.query('CREATE TEMP TABLE mine (n int)');
    const committed = await docket.submit({ command: 'echo kept' }, { connection: client });
    expect(await docket.engine.get(committed.id)).toBeNull();
    // The caller's session is as it was: its search path was restored.
    expect((await client.query("SELECT current_setting('search_path') AS path")).rows[0].path).not.toContain(schema);
    await client.query('COMMIT');
    expect(await docket.get(committed.id)).toMatchObject({ status: 'pending', command: 'echo kept' });
  });

  it('refuses a connection that is not a pg client', async () => {
    const docket = await open();
    await expect(docket.submitMany([{ command: 'true' }, { command: 'true' }], { connection: {} })).rejects.toThrow(
      /connection: must be a pg client/,
    );
    expect((await docket.counts()).total).toBe(0);
  });
});

describe('postgres: notices reach idle workers', () => {
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;

  afterEach(async () => {
    worker?.stop();
    await running;
    worker = undefined;
  });

  /** A worker that would poll and heartbeat only every 10 minutes: anything faster came by NOTIFY. */
  async function idleWorker(docket: Docket): Promise<Worker> {
    worker = docket.worker({ concurrency: 2, pollMs: 600_000, heartbeatMs: 600_000, leaseMs: 1_800_000, graceMs: 500 });
    running = worker.run();
    const id = worker.id;
    await waitFor('the worker to register', async () =>
      (await docket.engine.listWorkers()).some((registered) => registered.id === id),
    );
    return worker;
  }

  it('a submit from another process starts at once, without a poll', async () => {
    const docket = await open();
    docket.define({ name: 'noop', handler: () => 'done' });
    await docket.saveTypes();
    // Know when the worker found nothing to claim and went to sleep on its (10-minute) poll: it
    // asks for the next run-at time just before it sleeps.
    const engine = docket.engine;
    const nextRunAt = engine.nextRunAt.bind(engine);
    let asleep = false;
    engine.nextRunAt = async (...args) => {
      const next = await nextRunAt(...args);
      asleep = true;
      return next;
    };
    await idleWorker(docket);
    await waitFor('the worker to go to sleep', () => asleep);
    const submitted = await cli(['--json', 'submit', '--type', 'noop']);
    expect(submitted.code, submitted.stderr).toBe(0);
    const { id } = JSON.parse(submitted.stdout);
    const done = await waitFor('the job to complete', async () => {
      const job = await docket.get(id);
      return job.status === 'completed' && job;
    });
    expect(done.result).toBe('done');
  });

  it('cancel and suspend made elsewhere reach the worker running the job', async () => {
    const docket = await open();
    await idleWorker(docket);
    const other = await open();
    const job = await other.submit({ command: 'sleep 60' });
    const started = await waitFor('the command to start', async () => {
      const current = await docket.get(job.id);
      return current.pid !== null && current;
    });
    const pid = started.pid as number;
    // The engine's own suspend sends no signal (as on another machine): the worker must act on the notice.
    await other.engine.suspend(job.id);
    await waitFor('the process to be stopped', () => processState(pid) === 'T');
    await other.engine.resume(job.id);
    await waitFor('the process to continue', () => processState(pid) !== 'T');
    await other.engine.cancel(job.id, 'cancelled elsewhere');
    await waitFor('the process to end', () => {
      const state = processState(pid);
      return state === null || state === 'Z';
    });
    expect(await docket.get(job.id)).toMatchObject({ status: 'cancelled', error: 'cancelled elsewhere' });
  });
});

describe('postgres: a dropped connection', () => {
  it('loses no outcome: the worker writes it again and every job completes once', async () => {
    const docket = await open();
    const ran = new Map<number, number>();
    docket.define({
      name: 'count',
      handler: async ({ job }) => {
        ran.set(job.id, (ran.get(job.id) ?? 0) + 1);
        await new Promise((resolve) => setTimeout(resolve, 5));
      },
    });
    const jobs = await docket.submitMany(Array.from({ length: 400 }, () => ({ type: 'count' })));
    const worker = docket.worker({ concurrency: 8, graceMs: 500 });
    const running = worker.run();
    cleanups.push(async () => {
      worker.stop();
      await running;
    });
    const admin = new pg.Client({ connectionString: process.env.DOCKET_TEST_PG });
    await admin.connect();
    cleanups.push(() => admin.end());
    const schema = (docket.engine as PostgresEngine).schema;
    // Cut every connection of this docket, four times, while jobs run and outcomes are being written.
    for (let cut = 0; cut < 4; cut++) {
      await waitFor('some progress', async () => (await docket.counts()).completed > 60 * (cut + 1));
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name IN ($1, $2)', [
        `docket:${schema}`,
        `docket-listen:${schema}`,
      ]);
    }
    await waitFor('all 400 jobs to complete', async () => (await docket.counts()).completed === 400, 120_000);
    for (const job of jobs) expect(ran.get(job.id)).toBe(1);
  });
});

describe('postgres: worker processes on one database', () => {
  let project: string;
  let processes: ChildProcess[] = [];

  const CONFIG = `export default {
  queues: [{ name: 'pair', capacity: 2 }],
  types: [
    { name: 'record', handler: './record.ts' },
    { name: 'pair-record', handler: './record.ts', queue: 'pair' },
  ],
};`;
  const HANDLER = `import { appendFileSync } from 'node:fs';
export default async function record({ params, job }: { params: { ms: number; file: string }; job: { id: number } }) {
  const started = Date.now();
  if (params.ms > 0) await new Promise((resolve) => setTimeout(resolve, params.ms));
  appendFileSync(params.file, JSON.stringify({ id: job.id, pid: process.pid, started, ended: Date.now() }) + '\\n');
}`;

  beforeEach(() => {
    project = join(home, 'project');
    mkdirSync(project, { recursive: true });
    writeFileSync(join(project, 'docket.config.ts'), CONFIG);
    writeFileSync(join(project, 'record.ts'), HANDLER);
  });

  afterEach(() => {
    for (const child of processes) if (child.exitCode === null) child.kill('SIGKILL');
    processes = [];
  });

  function startWorkers(count: number, concurrency: number): void {
    for (let i = 0; i < count; i++) {
      const child = spawn(process.execPath, [BIN, '--db', db, 'worker', '--concurrency', String(concurrency)], {
        cwd: project,
        env: { ...process.env, DOCKET_HOME: home, DOCKET_GRACE: '1s' },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      child.stderr?.on('data', () => {});
      processes.push(child);
    }
  }

  async function waitForWorkers(docket: Docket, count: number): Promise<void> {
    await waitFor(`${count} workers to register`, async () => {
      const workers = await docket.engine.listWorkers();
      return workers.filter((worker) => worker.concurrency > 0).length >= count;
    });
  }

  const records = readRunRecords;

  it('four workers run 20,000 jobs, each exactly once', async () => {
    const docket = await open();
    const out = join(home, 'once.jsonl');
    startWorkers(4, 10);
    await waitForWorkers(docket, 4);
    const ids: number[] = [];
    for (let chunk = 0; chunk < 20; chunk++) {
      const jobs = await docket.submitMany(
        Array.from({ length: 1000 }, () => ({ type: 'record', params: { ms: 0, file: out } })),
      );
      ids.push(...jobs.map((job) => job.id));
    }
    await waitFor(
      'all 20,000 jobs to complete',
      async () => (await docket.counts({ type: 'record' })).completed === 20_000,
      180_000,
    );
    const ran = records(out);
    expect(ran.length).toBe(20_000);
    expect(new Set(ran.map((record) => record.id)).size).toBe(20_000);
    expect(new Set(ran.map((record) => record.id))).toEqual(new Set(ids));
    // Every worker took part (the claims are spread, not serialized behind one).
    expect(new Set(ran.map((record) => record.pid)).size).toBe(4);
    const counts = await docket.counts();
    expect(counts).toMatchObject({ completed: 20_000, total: 20_000 });
  }, 240_000);

  it('a cancel reaches a job running in another process, which stops its processes', async () => {
    const docket = await open();
    startWorkers(1, 2);
    await waitForWorkers(docket, 1);
    const job = await docket.submit({ command: 'sleep 60' });
    const running = await waitFor('the command to start', async () => {
      const current = await docket.get(job.id);
      return current.pid !== null && current;
    });
    // The engine's cancel sends no signal itself (as from another machine): the worker must act.
    await docket.engine.cancel(job.id, 'cancelled from elsewhere');
    await waitFor('the process tree to be stopped', () => {
      const state = processState(running.pid as number);
      return state === null || state === 'Z';
    });
    expect(await docket.get(job.id)).toMatchObject({ status: 'cancelled', error: 'cancelled from elsewhere' });
  });

  it('a queue capacity of 2 holds across four workers', async () => {
    const docket = await open();
    const out = join(home, 'pair.jsonl');
    startWorkers(4, 4);
    await waitForWorkers(docket, 4);
    await docket.submitMany(
      Array.from({ length: 16 }, () => ({ type: 'pair-record', params: { ms: 150, file: out } })),
    );
    await waitFor(
      '16 jobs to complete',
      async () => (await docket.counts({ queue: 'pair' })).completed === 16,
      120_000,
    );
    const ran = records(out);
    // The most handlers running at one instant: sweep the starts and ends in time order (an end
    // before a start at the same millisecond, since the slot was freed first).
    const events = ran.flatMap((record) => [
      { at: record.started, delta: 1 },
      { at: record.ended, delta: -1 },
    ]);
    events.sort((a, b) => a.at - b.at || a.delta - b.delta);
    let most = 0;
    let now = 0;
    for (const event of events) {
      now += event.delta;
      most = Math.max(most, now);
    }
    expect(most).toBeLessThanOrEqual(2);
    expect(most).toBe(2);
  });
});
