/**
 * The peer harness's minimal SQLite queue (its sqlite-baseline adapter): one table, one partial
 * index, WAL and synchronous=NORMAL. The reference that `npm run bench` and bench/sqlite-cpu.ts
 * measure docket against in the same process.
 */
import Database from 'better-sqlite3';

export function openMinimalQueue(path: string): Database.Database {
  const db = new Database(path, { timeout: 5000 });
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(`CREATE TABLE jobs (id INTEGER PRIMARY KEY, queue TEXT NOT NULL DEFAULT 'default',
    priority INTEGER NOT NULL DEFAULT 0, payload TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'queued',
    attempts INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL, locked_at INTEGER, finished_at INTEGER);
    CREATE INDEX jobs_ready ON jobs (priority, id) WHERE state = 'queued';`);
  return db;
}
