/** SQLite only: what the PostgreSQL engine tests in its own file (postgres.test.ts). */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { makeHome, type TestHome } from '../helpers/cli.js';

let t: TestHome;
beforeAll(() => {
  t = makeHome({ DOCKET_ON_DEMAND: '0' });
});
afterAll(() => t.cleanup());

it('sqlite: refuses a database whose schema is newer than the code, and changes nothing', async () => {
  const job = await t.json(['submit', '--cmd', 'true']);
  const file = join(t.home, 'docket.db');
  const db = new Database(file);
  const current = db.pragma('user_version', { simple: true }) as number;
  expect(current).toBeGreaterThanOrEqual(1);
  db.pragma('user_version = 99');
  db.close();

  for (const args of [['list'], ['submit', '--cmd', 'true'], ['db', 'migrate']]) {
    const result = await t.run(args);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(`schema version 99, newer than this docket understands \\(${current}\\); upgrade docket`),
    );
  }
  const after = new Database(file, { readonly: true });
  expect(after.pragma('user_version', { simple: true })).toBe(99);
  expect(after.prepare('SELECT id FROM jobs').pluck().all()).toEqual([job.id]);
  after.close();
});
