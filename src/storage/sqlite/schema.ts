import { StorageError } from '../../core/errors.js';
import type { StoreIdentity } from '../engine.js';
import { assertNotNewer, loadMigrations, migrationsDir } from '../migrate.js';
import type { SqliteConnection } from './connection.js';

export class SqliteSchema {
  constructor(private readonly conn: SqliteConnection) {}

  async migrate(): Promise<{ from: number; to: number }> {
    const migrations = loadMigrations(migrationsDir(import.meta.url, 'sqlite'));
    const latest = migrations.length;
    return this.conn.write(() => {
      const from = this.conn.db.pragma('user_version', { simple: true }) as number;
      assertNotNewer(from, latest, 'this database');
      for (const migration of migrations.slice(from)) this.conn.db.exec(migration.sql);
      if (latest !== from) this.conn.db.pragma(`user_version = ${latest}`);
      return { from, to: latest };
    });
  }

  async schemaVersion(): Promise<number> {
    return this.conn.db.pragma('user_version', { simple: true }) as number;
  }

  async vanished(): Promise<boolean> {
    return this.conn.vanished();
  }

  async reset(): Promise<void> {
    this.conn.write(() => {
      this.conn.db.exec(
        'DELETE FROM allocations; DELETE FROM executions; DELETE FROM job_deps; DELETE FROM jobs; DELETE FROM workers; DELETE FROM job_events;',
      );
      this.conn.db.exec("DELETE FROM sqlite_sequence WHERE name = 'jobs'");
      // Ids start again at 1: none of them may read logs left in the old place.
      this.conn.db.exec('UPDATE docket_store SET legacy_logs_max_id = 0');
    });
  }

  async identity(): Promise<StoreIdentity> {
    const row = this.conn.sql('SELECT id, legacy_logs_max_id FROM docket_store').get() as
      | { id: string; legacy_logs_max_id: number }
      | undefined;
    if (!row) throw new StorageError('this database has no identity; run docket db migrate');
    return { id: row.id, legacyLogsMaxId: row.legacy_logs_max_id };
  }
}
