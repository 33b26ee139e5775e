/**
 * Which store a configuration names, and opening it: the one place that picks a concrete storage
 * engine (a `postgres://` URL, or else a SQLite file). The facade opens stores through it; the CLI
 * describes one through it without opening it.
 */
import { type ConfigInput, type DocketConfig, resolveConfig } from './config/config.js';
import { checkHome, checkSqlitePath } from './config/locations.js';
import { InvalidInputError } from './core/errors.js';
import { StoreLogs, storeLogsDir } from './paths.js';
import type { StorageEngine, StoreIdentity } from './storage/engine.js';
import { isPostgresUrl, parseTarget, redact } from './storage/postgres/connection.js';
import { SqliteEngine } from './storage/sqlite/engine.js';

/** A store as a person may see it: its engine, where it is (no password), and its schema. */
export interface StoreDescription {
  engine: 'sqlite' | 'postgres';
  /** The file path, or the URL with its password hidden. */
  location: string;
  /** PostgreSQL: the schema docket's tables live in; SQLite: null. */
  schema: string | null;
}

/** Describes the store `db` names (with the configured schema, if any) without opening it. */
export function describeStore(db: string, schema?: string | null): StoreDescription {
  if (!isPostgresUrl(db)) return { engine: 'sqlite', location: redact(db), schema: null };
  return { engine: 'postgres', location: redact(db), schema: parseTarget(db, schema ?? undefined).schema };
}

/** The engine the configuration names: a postgres:// URL, or else a SQLite file. */
export async function openEngine(config: DocketConfig, warn: (message: string) => void): Promise<StorageEngine> {
  if (isPostgresUrl(config.db)) {
    const { PostgresEngine } = await import('./storage/postgres/engine.js');
    return PostgresEngine.connect({ url: config.db, schema: config.schema ?? undefined, warn });
  }
  if (/^[a-z]+:\/\//.test(config.db)) {
    throw new InvalidInputError(
      'db',
      `${config.db.split(':')[0]}: databases are not supported; use a SQLite file path or postgres://`,
    );
  }
  checkSqlitePath(config);
  return new SqliteEngine({ path: config.db });
}

/**
 * Opens the store a configuration names and migrates it: the engine, the configuration with
 * `logsDir` the store's own folder of job logs (frozen), and those logs. Nothing is created on a
 * bad option; an engine that cannot be migrated is closed again.
 */
export async function openStore(
  input: ConfigInput,
  warn: (message: string) => void,
): Promise<{ config: Readonly<DocketConfig>; engine: StorageEngine; logs: StoreLogs }> {
  const config = resolveConfig(input);
  checkHome(config);
  const engine = await openEngine(config, warn);
  let identity: StoreIdentity;
  try {
    await engine.migrate();
    identity = await engine.identity();
  } catch (error) {
    await engine.close();
    throw error;
  }
  const logs = new StoreLogs(storeLogsDir(config.logsDir, identity.id), config.logsDir, identity.legacyLogsMaxId);
  return { config: Object.freeze({ ...config, logsDir: logs.dir }), engine, logs };
}
