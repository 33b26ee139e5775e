/**
 * PostgreSQL only: connections that drop. A pool connection lost while idle is reported, not
 * swallowed; the LISTEN connection comes back exactly once however often it is cut; a connection
 * cut while a transaction holds it fails that transaction, never the process.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pg from 'pg';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Docket } from '../../src/docket.js';
import { createPool, PostgresConnection, parseTarget } from '../../src/storage/postgres/connection.js';
import type { PostgresEngine } from '../../src/storage/postgres/engine.js';
import { BIN, runProcess, waitFor } from '../helpers/cli.js';
import { dropTestStore, freshPgUrl } from '../helpers/engines.js';

let home: string;
let db: string;
let admin: pg.Client;
const cleanups: (() => Promise<unknown>)[] = [];

beforeEach(async () => {
  home = mkdtempSync(join(tmpdir(), 'docket-pg-runtime-'));
  db = freshPgUrl();
  admin = new pg.Client({ connectionString: process.env.DOCKET_TEST_PG });
  await admin.connect();
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  await admin.end();
  await dropTestStore(db);
  rmSync(home, { recursive: true, force: true });
});

/** A docket whose log lines the test can read. */
async function openLogged(): Promise<{ docket: Docket; lines: string[] }> {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const docket = await Docket.open({ home, db, manageWorkers: false, logger: pino({ level: 'info' }, sink) });
  cleanups.push(() => docket.close());
  return { docket, lines };
}

const connections = async (applicationName: string) =>
  Number(
    (await admin.query('SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1', [applicationName]))
      .rows[0].n,
  );

const terminate = (applicationName: string) =>
  admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [applicationName]);

describe('postgres: dropped connections (item 18)', () => {
  it('an idle pool connection that is cut is reported in the log', async () => {
    const { docket, lines } = await openLogged();
    await docket.counts(); // leaves an idle connection in the pool
    const schema = (docket.engine as PostgresEngine).schema;
    await terminate(`docket:${schema}`);
    await waitFor('the loss to be logged', () => lines.some((line) => /connection/i.test(line)));
    expect(await docket.counts()).toMatchObject({ total: 0 }); // and the next query reconnects
  });

  it('the LISTEN connection, cut again and again, comes back as exactly one', async () => {
    const { docket } = await openLogged();
    const worker = docket.worker({ concurrency: 1, pollMs: 50 });
    const running = worker.run();
    cleanups.push(async () => {
      worker.stop();
      await running;
    });
    const listen = `docket-listen:${(docket.engine as PostgresEngine).schema}`;
    await waitFor('the worker to listen', async () => (await connections(listen)) === 1);
    const until = Date.now() + 3_000;
    while (Date.now() < until) {
      await terminate(listen);
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
    await waitFor('the listener to come back', async () => (await connections(listen)) >= 1, 30_000);
    // Any second reconnect loop would have opened its own connection by now (the longest back-off is 5 s).
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    expect(await connections(listen)).toBe(1);
    const job = await docket.submit({ command: 'true' });
    await waitFor('the job to run', async () => (await docket.get(job.id)).status === 'completed');
  });
});

describe('postgres: a connection cut while a transaction holds it', () => {
  it('fails that transaction between two statements, and the process goes on', async () => {
    const { docket } = await openLogged(); // migrates the schema
    const target = parseTarget(db);
    const conn = new PostgresConnection(await createPool(target, 2, () => {}), target, () => {});
    cleanups.push(() => conn.pool.end());
    const name = `docket:${target.schema}`;
    await terminate(name); // the docket's own connections: only the transaction's is counted below
    const cut = conn.transaction(async (client) => {
      await client.query('SELECT 1');
      // Idle in the transaction, between two statements, when the connection is cut.
      await terminate(name);
      await waitFor('the connection to be gone', async () => (await connections(name)) === 0);
      await client.query('SELECT 1');
    });
    await expect(cut).rejects.toThrow();
    expect((await conn.pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]); // a new connection
    expect(await docket.counts()).toMatchObject({ total: 0 });
  });

  it('a worker whose claim loses its connection mid-transaction lives on and runs the job', async () => {
    const cli = (args: string[]) =>
      runProcess(process.execPath, [BIN, '--db', db, ...args], { env: { ...process.env, DOCKET_HOME: home } });
    expect((await cli(['queue', 'set', 'gated', '--capacity', '1'])).code).toBe(0);
    const schema = new URL(db).searchParams.get('schema') as string;
    // A queue with a capacity is claimed in a transaction that first takes the queue's advisory
    // lock: holding it here stops the worker's claim inside its transaction, where it is cut.
    const lockKey = `docket:queue:${schema}:gated`;
    await admin.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [lockKey]);
    const worker = spawn(process.execPath, [BIN, '--db', db, 'worker', '--concurrency', '1', '--no-config'], {
      cwd: home,
      env: { ...process.env, DOCKET_HOME: home, DOCKET_GRACE: '1s' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = ''; // its log (stdout) and any crash (stderr)
    worker.stdout?.on('data', (chunk) => (output += chunk));
    worker.stderr?.on('data', (chunk) => (output += chunk));
    cleanups.push(async () => {
      if (worker.exitCode === null) worker.kill('SIGKILL');
    });
    const submitted = await cli(['--json', 'submit', '--queue', 'gated', '--', 'true']);
    const job = JSON.parse(submitted.stdout) as { id: number };
    const waitingClaims = () =>
      admin.query(
        `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock' AND wait_event = 'advisory'`,
        [`docket:${schema}`],
      );
    await waitFor('the claim to wait for the queue lock', async () => (await waitingClaims()).rowCount);
    await admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND wait_event = 'advisory'`,
      [`docket:${schema}`],
    );
    const exited = () => worker.exitCode !== null || worker.signalCode !== null;
    await waitFor(
      'the worker to report the failed claim (or to die)',
      () => /could not claim/.test(output) || exited(),
    );
    await admin.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [lockKey]);
    const { docket } = await openLogged();
    const status = async () => (await docket.get(job.id)).status;
    await waitFor(
      'the job to complete (or the worker to die)',
      async () => exited() || (await status()) === 'completed',
    );
    expect(exited(), output).toBe(false);
    expect(await docket.get(job.id)).toMatchObject({ status: 'completed', attempts: 1 });
  }, 60_000);
});
