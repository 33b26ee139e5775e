/**
 * Numbered, append-only migrations shared by the engines: `NNNN_description.sql` files in an
 * engine's `migrations/` folder, applied in order, each exactly once.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StorageError } from '../core/errors.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/**
 * An engine's `migrations/` folder, found from its module: next to it in src/ and dist/, or under
 * dist/storage/ENGINE/ when the module was bundled into dist/cli.js.
 */
export function migrationsDir(moduleUrl: string, engine: 'sqlite' | 'postgres'): string {
  const here = dirname(fileURLToPath(moduleUrl));
  const beside = join(here, 'migrations');
  return existsSync(beside) ? beside : join(here, 'storage', engine, 'migrations');
}

export function loadMigrations(dir: string): Migration[] {
  const migrations = readdirSync(dir)
    .filter((file) => /^\d{4}_.+\.sql$/.test(file))
    .sort()
    .map((file) => ({ version: Number(file.slice(0, 4)), name: file, sql: readFileSync(join(dir, file), 'utf8') }));
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new StorageError(`migration ${migration.name} is out of sequence; expected version ${index + 1}`);
    }
  });
  return migrations;
}

/** Refuses a store written by a newer docket: running old code on it could corrupt it. */
export function assertNotNewer(current: number, latest: number, where: string): void {
  if (current > latest) {
    throw new StorageError(
      `${where} has schema version ${current}, newer than this docket understands (${latest}); upgrade docket`,
    );
  }
}
