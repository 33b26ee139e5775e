/**
 * PostgreSQL only: connections that drop. A pool connection lost while idle is reported, not
 * swallowed; the LISTEN connection comes back exactly once however often it is cut.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pg from 'pg';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Docket } from '../../src/docket.js';
import type { PostgresEngine } from '../../src/storage/postgres/engine.js';
import { waitFor } from '../helpers/cli.js';
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
