/**
 * SQLite only: the connection's writes while another process holds the write lock again and again
 * (as a second worker on the same file does). Once a BEGIN has waited, writes take the lock by short
 * tries instead of SQLite's busy handler; every write still lands once, a failing write is not run
 * again, and the statements after the BEGIN still wait for the lock when they must.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SqliteConnection } from '../../src/storage/sqlite/connection.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'docket-contention-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A process that holds the file's write lock for `holdMs` at a time until it is told to stop, then
 * says done. It runs until stopped, not for a fixed time: on a loaded machine the writes it must
 * meet may start late.
 */
function lockHolder(path: string, holdMs: number) {
  const script = join(dir, 'holder.cjs');
  const stopFile = join(dir, 'stop');
  writeFileSync(
    script,
    `const Database = require(${JSON.stringify(createRequire(import.meta.url).resolve('better-sqlite3'))});
const db = new Database(process.argv[2], { timeout: 60000 });
const { existsSync } = require('node:fs');
const hold = Number(process.argv[3]);
const stopFile = process.argv[4];
process.stdout.write('ready\\n');
const cell = new Int32Array(new SharedArrayBuffer(4));
while (!existsSync(stopFile)) {
  db.exec('BEGIN IMMEDIATE');
  db.prepare('INSERT INTO held (at) VALUES (?)').run(Date.now());
  Atomics.wait(cell, 0, 0, hold);
  db.exec('COMMIT');
  Atomics.wait(cell, 0, 0, 1);
}
db.close();
process.stdout.write('done\\n');`,
  );
  const child = spawn(process.execPath, [script, path, String(holdMs), stopFile], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return {
    child,
    next: async () => (await lines.next()).value as string,
    stop: () => writeFileSync(stopFile, ''),
  };
}

it('sqlite: writes beside a process that holds the write lock all land, once each', async () => {
  const path = join(dir, 'contended.db');
  const conn = new SqliteConnection(path);
  conn.db.exec('CREATE TABLE held (at INTEGER); CREATE TABLE mine (n INTEGER NOT NULL UNIQUE)');
  const holder = lockHolder(path, 3);
  try {
    expect(await holder.next()).toBe('ready');
    const insert = conn.sql('INSERT INTO mine (n) VALUES (?)');
    const held = conn.sql('SELECT count(*) FROM held').pluck();
    let runs = 0;
    let failures = 0;
    let contended = 0;
    // At least 300 writes, and on until one met the holder's lock and the holder took it again and
    // again: on a loaded machine the holder may get no CPU while a few hundred quick writes run
    // (generous deadline; the assertions below say what was missing).
    const deadline = Date.now() + 40_000;
    let writes = 0;
    for (let n = 0; ; n++) {
      // Every tenth write fails inside its transaction: it must be rolled back and never run again.
      try {
        conn.write(() => {
          runs++;
          insert.run(n);
          if (n % 10 === 9) throw new Error('the work failed');
        });
      } catch (error) {
        expect((error as Error).message).toBe('the work failed');
        failures++;
      }
      if ((conn as unknown as { contendedUntil: number }).contendedUntil > 0) contended++;
      await new Promise((resolve) => setImmediate(resolve));
      writes = n + 1;
      // Whole rounds of ten, so that every tenth write failed.
      const enough = contended > 0 && (held.get() as number) > 10;
      if (writes % 10 === 0 && writes >= 300 && (enough || Date.now() > deadline)) break;
    }
    expect(contended).toBeGreaterThan(0); // the short tries were used
    expect(runs).toBe(writes);
    expect(failures).toBe(writes / 10);
    const stored = conn.sql('SELECT n FROM mine ORDER BY n').pluck().all() as number[];
    expect(stored).toEqual(Array.from({ length: writes }, (_, n) => n).filter((n) => n % 10 !== 9));
    holder.stop();
    expect(await holder.next()).toBe('done');
    expect(held.get()).toBeGreaterThan(10);
  } finally {
    holder.child.kill();
    conn.db.close();
  }
}, 60_000);
