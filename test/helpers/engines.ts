/**
 * Which engine a test run uses: the vitest project sets DOCKET_TEST_ENGINE (`sqlite` or
 * `postgres`); tests ask here for a fresh store of that engine — a file in the test's home, or a
 * schema of its own in the test PostgreSQL (dropped by `dropTestStore`).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

export type TestEngine = 'sqlite' | 'postgres';

export const TEST_ENGINE: TestEngine = process.env.DOCKET_TEST_ENGINE === 'postgres' ? 'postgres' : 'sqlite';

/** The base URL of the test PostgreSQL (set by test/setup/postgres.ts). */
export function testPgUrl(): string {
  const url = process.env.DOCKET_TEST_PG;
  if (!url) throw new Error('DOCKET_TEST_PG is not set: run the PostgreSQL tests through vitest (npm test)');
  return url;
}

/** A URL naming a new, empty schema in the test PostgreSQL. */
export function freshPgUrl(): string {
  const url = new URL(testPgUrl());
  url.searchParams.set('schema', `t_${randomBytes(6).toString('hex')}`);
  return url.toString();
}

/** The `--db` value of a fresh store of the run's engine, for a test whose home is `home`. */
export function testDb(home: string): string {
  return TEST_ENGINE === 'postgres' ? freshPgUrl() : join(home, 'docket.db');
}

/** Removes a store made by `testDb` when it lives outside the home folder (a PostgreSQL schema). */
export async function dropTestStore(db: string): Promise<void> {
  if (!db.startsWith('postgres')) return;
  const { PostgresEngine } = await import('../../src/storage/postgres/engine.js');
  const engine = await PostgresEngine.connect({ url: db, poolSize: 1 });
  try {
    await engine.dropSchema();
  } finally {
    await engine.close();
  }
}

/** Opens a store made by `testDb` (already migrated by a CLI call) through the storage port. */
export async function openTestStore(db: string): Promise<import('../../src/storage/engine.js').StorageEngine> {
  if (db.startsWith('postgres')) {
    const { PostgresEngine } = await import('../../src/storage/postgres/engine.js');
    return PostgresEngine.connect({ url: db, poolSize: 2 });
  }
  const { SqliteEngine } = await import('../../src/storage/sqlite/engine.js');
  return new SqliteEngine({ path: db });
}
