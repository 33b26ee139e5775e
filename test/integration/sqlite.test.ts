/** SQLite only: what the PostgreSQL engine tests in its own file (postgres.test.ts). */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { makeHome, ROOT, type TestHome } from '../helpers/cli.js';

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

/**
 * A process that opens the file while another is creating it: SQLite answers the switch to WAL
 * with SQLITE_BUSY at once (no busy timeout applies there), which once killed a worker started
 * beside `docket serve` with "database is locked". Four processes, ready and waiting, are given
 * the same new file at the same instant, round after round.
 */
const ROUNDS = 150;
const OPENERS = 4;

it('sqlite: processes creating the same new file at once all open it', async () => {
  const opener = join(t.home, 'opener.mjs');
  writeFileSync(
    opener,
    `import { createInterface } from 'node:readline';
const { SqliteEngine } = await import(${JSON.stringify(join(ROOT, 'dist', 'storage', 'sqlite', 'engine.js'))});
process.stdout.write('ready\\n');
for await (const path of createInterface({ input: process.stdin })) {
  try {
    const engine = new SqliteEngine({ path });
    await engine.migrate();
    await engine.close();
    process.stdout.write('ok\\n');
  } catch (error) {
    process.stdout.write(\`\${error.message}\\n\`);
  }
}`,
  );
  const openers = Array.from({ length: OPENERS }, () => {
    const child = spawn(process.execPath, [opener], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    return { child, next: async () => (await lines.next()).value as string };
  });
  try {
    expect(await Promise.all(openers.map((o) => o.next()))).toEqual(openers.map(() => 'ready'));
    const failures: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const file = join(t.home, `race-${round}.db`);
      for (const o of openers) o.child.stdin.write(`${file}\n`);
      for (const answer of await Promise.all(openers.map((o) => o.next()))) {
        if (answer !== 'ok') failures.push(`round ${round}: ${answer}`);
      }
    }
    expect(failures).toEqual([]);
  } finally {
    for (const o of openers) o.child.kill();
  }
}, 120_000);
