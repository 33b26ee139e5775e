/**
 * PostgreSQL only: what the cheaper hot path (migration 0011) must keep. The executions rows of a
 * job go with it when it is deleted (a trigger now, a foreign key's cascade before), and a batch
 * submitted in one statement maps every job to its own id, keys already taken included.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { Docket } from '../../src/docket.js';
import { waitFor } from '../helpers/cli.js';
import { dropTestStore, freshPgUrl } from '../helpers/engines.js';

let home: string;
let db: string;
const cleanups: (() => Promise<unknown>)[] = [];

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'docket-pg-hot-'));
  db = freshPgUrl();
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  await dropTestStore(db);
  rmSync(home, { recursive: true, force: true });
});

async function admin(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: db.replace(/[?&]schema=[^&]*/, '') });
  await client.connect();
  cleanups.push(() => client.end());
  return client;
}

it('deleting finished jobs deletes their attempt history, and only theirs', async () => {
  const docket = await Docket.open({ home, db, manageWorkers: false });
  cleanups.push(() => docket.close());
  docket.define({ name: 'tick', handler: () => undefined });
  await docket.submitMany(Array.from({ length: 5 }, () => ({ type: 'tick' })));
  let ended = 0;
  const worker = docket.worker({ concurrency: 5, onEvent: (event) => void (event.kind === 'ended' && ended++) });
  const running = worker.run();
  await waitFor('five jobs to end', async () => ended >= 5, 30_000);
  worker.stop();
  await running;
  const schema = new URL(db).searchParams.get('schema') as string;
  const client = await admin();
  const count = async () => Number((await client.query(`SELECT count(*) AS n FROM "${schema}".executions`)).rows[0].n);
  expect(await count()).toBe(5);
  const ids = (await client.query(`SELECT id FROM "${schema}".jobs ORDER BY id`)).rows.map((row) => Number(row.id));
  await client.query(`DELETE FROM "${schema}".jobs WHERE id = ANY($1::int8[])`, [ids.slice(0, 2)]);
  expect(await count()).toBe(3);
  const left = await client.query(`SELECT DISTINCT job_id FROM "${schema}".executions ORDER BY job_id`);
  expect(left.rows.map((row) => Number(row.job_id))).toEqual(ids.slice(2));
});

it('a batch maps each job to its own id, with keys already taken in the middle', async () => {
  const docket = await Docket.open({ home, db, manageWorkers: false });
  cleanups.push(() => docket.close());
  docket.define({ name: 'tick', handler: () => undefined });
  const [first] = await docket.submitMany([{ type: 'tick', key: 'b', params: { n: 0 } }]);
  const jobs = ['a', 'b', 'c', 'b2', 'd'].map((key, n) => ({ type: 'tick', key, params: { n: n + 1 } }));
  const results = await docket.submitMany(jobs);
  expect(results.map((job) => job.key)).toEqual(['a', 'b', 'c', 'b2', 'd']);
  expect(results[1]?.id).toBe(first?.id);
  for (const [index, job] of results.entries()) {
    if (index === 1) continue;
    expect((await docket.get(job.id))?.params).toEqual({ n: index + 1 });
  }
});

it('job events are announced (NOTIFY) only while a server watches them; a watcher that died stops counting', async () => {
  const docket = await Docket.open({ home, db, manageWorkers: false });
  cleanups.push(() => docket.close());
  const schema = new URL(db).searchParams.get('schema') as string;
  const channel = `docket_${schema}_events`;
  // An observer that is not a registered watcher: it hears what is announced, and does not make
  // the trigger announce.
  const observer = await admin();
  const heard: string[] = [];
  observer.on('notification', (message) => {
    if (message.channel === channel) heard.push(message.payload ?? '');
  });
  await observer.query(`LISTEN "${channel}"`);

  await docket.submit({ command: 'true' }); // nobody watches: not announced
  const stop = await docket.engine.watchEvents(() => {});
  await docket.submit({ command: 'true' }); // a server watches: announced
  await stop();
  await docket.submit({ command: 'true' }); // it stopped: not announced
  // A watcher that died without a word (its row is left, its backend gone) …
  await observer.query(`INSERT INTO "${schema}".event_listeners (backend_pid, since) VALUES (2147483000, 0)`);
  const again = await docket.engine.watchEvents(() => {});
  cleanups.push(again);
  await docket.submit({ command: 'true' }); // a server watches again: announced
  await again();
  await docket.submit({ command: 'true' }); // … no longer counts once another watcher started
  // Announcements arrive in commit order: everything the submits announced is here before this.
  await observer.query(`NOTIFY "${channel}", 'marker'`);
  await waitFor('the marker', () => heard.includes('marker'), 30_000);
  expect(heard).toEqual(['', '', 'marker']);
  // Every change is in the log all the same, announced or not.
  const events = await docket.engine.eventsAfter(0, 100);
  expect(events.filter((event) => event.kind === 'created')).toHaveLength(5);
});
