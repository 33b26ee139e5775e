/**
 * The PostgreSQL engine's schema: migrations (under a session lock), the store's identity, reset
 * and housekeeping (VACUUM where autovacuum is off or behind).
 */
import type { PoolClient } from 'pg';
import { StorageError } from '../../core/errors.js';
import type { StoreIdentity } from '../engine.js';
import { assertNotNewer, loadMigrations, migrationsDir } from '../migrate.js';
import { type PostgresConnection, type Queryable, quoteIdent, redact } from './connection.js';

export class PostgresSchema {
  constructor(private readonly conn: PostgresConnection) {}

  async migrate(): Promise<{ from: number; to: number }> {
    const migrations = loadMigrations(migrationsDir(import.meta.url, 'postgres'));
    const latest = migrations.length;
    let client: PoolClient;
    try {
      client = await this.conn.pool.connect();
    } catch (error) {
      throw new StorageError(
        `cannot reach PostgreSQL at ${redact(this.conn.target.connectionString)}: ${(error as Error).message}; check the URL and that the server runs`,
      );
    }
    try {
      // A session lock: of many workers starting at once, one migrates and the others then see it done.
      await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [`docket:migrate:${this.conn.schema}`]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(this.conn.schema)}`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${quoteIdent(this.conn.schema)}.docket_migrations (
        version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
      const from = await this.versionOn(client);
      assertNotNewer(from, latest, `schema ${this.conn.schema}`);
      for (const migration of migrations.slice(from)) {
        await client.query('BEGIN');
        try {
          // Migration files name tables plainly: they are created in (and altered within) the schema.
          await client.query("SELECT set_config('search_path', $1, true)", [quoteIdent(this.conn.schema)]);
          await client.query(migration.sql);
          await client.query('INSERT INTO docket_migrations (version, name) VALUES ($1, $2)', [
            migration.version,
            migration.name,
          ]);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK');
          throw new StorageError(`migration ${migration.name} failed: ${(error as Error).message}`);
        }
      }
      return { from, to: latest };
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [`docket:migrate:${this.conn.schema}`]);
      client.release();
    }
  }

  private async versionOn(db: Queryable): Promise<number> {
    const { rows } = await db.query('SELECT coalesce(max(version), 0) AS version FROM docket_migrations');
    return Number(rows[0].version);
  }

  async schemaVersion(): Promise<number> {
    try {
      return await this.versionOn(this.conn.pool);
    } catch (error) {
      if ((error as { code?: string }).code === '42P01') return 0; // no migrations table yet
      throw error;
    }
  }

  async reset(): Promise<void> {
    const table = (name: string) => `${quoteIdent(this.conn.schema)}.${name}`;
    await this.conn.transaction(async (db) => {
      await db.query(
        `TRUNCATE ${['allocations', 'executions', 'job_deps', 'jobs', 'workers'].map(table).join(', ')} RESTART IDENTITY`,
      );
      // Event ids keep growing, so a client's Last-Event-ID never points past new events.
      await db.query(`TRUNCATE ${table('job_events')}`);
      // Ids start again at 1: none of them may read logs left in the old place.
      await db.query('UPDATE docket_store SET legacy_logs_max_id = 0');
      // Event ids keep growing (no RESTART), so a client's Last-Event-ID never points past new events.
      await db.query(`TRUNCATE ${table('job_events')}`);
    });
  }

  async identity(): Promise<StoreIdentity> {
    const [row] = await this.conn.rows<{ id: string; legacy_logs_max_id: number }>(
      this.conn.pool,
      'SELECT id, legacy_logs_max_id FROM docket_store',
    );
    if (!row) throw new StorageError(`schema ${this.conn.schema} has no identity; run docket db migrate`);
    return { id: row.id, legacyLogsMaxId: row.legacy_logs_max_id };
  }

  /** Drops the whole schema (tests use one schema each). */
  async dropSchema(): Promise<void> {
    await this.conn.pool.query(`DROP SCHEMA IF EXISTS ${quoteIdent(this.conn.schema)} CASCADE`);
  }

  /** The schema (its jobs table) is gone: dropped under the engine. */
  async vanished(): Promise<boolean> {
    const { rows } = await this.conn.pool.query('SELECT to_regclass($1) IS NULL AS gone', [
      `${quoteIdent(this.conn.schema)}.jobs`,
    ]);
    return rows[0].gone === true;
  }

  /**
   * VACUUMs (and analyzes) each table whose dead row versions exceed 10 % of its live rows (and
   * 1,000): autovacuum normally gets there first (the jobs table asks it to act at 2 %), but where
   * it is off or behind, this keeps churn from growing the tables without bound. One worker at a
   * time does it (a try-lock), outside any transaction as VACUUM requires.
   */
  async maintain(): Promise<string[]> {
    const client = await this.conn.pool.connect();
    const lock = `docket:maintain:${this.conn.schema}`;
    try {
      const { rows } = await client.query('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok', [lock]);
      if (!rows[0].ok) return [];
      try {
        const stats = await client.query(
          `SELECT relname, n_live_tup::int8 AS live, n_dead_tup::int8 AS dead FROM pg_stat_user_tables
           WHERE schemaname = $1 AND relname IN ('jobs', 'executions', 'job_deps', 'workers', 'job_events')`,
          [this.conn.schema],
        );
        const done: string[] = [];
        for (const table of stats.rows as { relname: string; live: number; dead: number }[]) {
          if (table.dead <= 1_000 || table.dead <= table.live * 0.1) continue;
          await client.query(`VACUUM (ANALYZE) ${quoteIdent(this.conn.schema)}.${quoteIdent(table.relname)}`);
          done.push(`vacuumed ${table.relname} (${table.dead} dead row versions)`);
        }
        return done;
      } finally {
        await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [lock]);
      }
    } finally {
      client.release();
    }
  }

  // ── notices ──────────────────────────────────────────────────────────────────────────────────
}
