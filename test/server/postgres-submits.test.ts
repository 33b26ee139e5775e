/**
 * PostgreSQL only: submits stored together (group commit) never wait behind one that waits in
 * the store. An insert with a key that a caller's open transaction also inserted waits for that
 * transaction; every other `POST /jobs` must still be answered meanwhile, as it was when each
 * request was stored alone.
 */
import pg from 'pg';
import { expect, it } from 'vitest';
import { Docket } from '../../src/index.js';
import { waitFor } from '../helpers/cli.js';
import { testPgUrl } from '../helpers/engines.js';
import { call, serveForTests } from '../helpers/server.js';

const t = serveForTests();

it('answers other submits while one waits for a lock held by a caller transaction', async () => {
  const { token } = await t.home.json(['token', 'create', '--tenant', 'tenant-a', '--role', 'member']);
  const docket = await Docket.open({ home: t.home.home, db: t.home.db, manageWorkers: false });
  const client = new pg.Client({ connectionString: testPgUrl() });
  const admin = new pg.Client({ connectionString: testPgUrl() });
  await client.connect();
  await admin.connect();
  try {
    await client.query('BEGIN');
    const held = { command: 'true', key: 'held', tenant: 'tenant-a', runAt: Date.now() + 3_600_000 };
    await docket.submit(held, { connection: client });
    const waiting = call(t.server, token, 'POST', '/jobs', { cmd: 'true', key: 'held', delay_sec: 3600 });
    await waitFor(
      'the keyed submit to wait for the open transaction',
      async () =>
        (await admin.query("SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%jobs%'"))
          .rowCount !== 0,
      30_000,
    );
    const other = call(t.server, token, 'POST', '/jobs', { cmd: 'true', delay_sec: 3600 });
    const first = await Promise.race([
      other.then(() => 'answered'),
      new Promise((resolve) => setTimeout(resolve, 30_000, 'still waiting after 30 s')),
    ]);
    expect(first).toBe('answered');
    expect((await other).status).toBe(201);
    await client.query('ROLLBACK');
    expect((await waiting).status).toBe(201);
  } finally {
    await client.query('ROLLBACK').catch(() => {});
    await client.end();
    await admin.end();
    await docket.close();
  }
});
