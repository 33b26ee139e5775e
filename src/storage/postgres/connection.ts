/**
 * How docket reaches PostgreSQL: the connection URL (with docket's own `schema` parameter taken
 * out), a pool whose 64-bit integers come back as numbers, and the schema made the search path of
 * every connection so that all SQL stays unqualified.
 */
import type { Pool, PoolConfig } from 'pg';
import { InvalidInputError } from '../../core/errors.js';

export const DEFAULT_SCHEMA = 'docket';

export interface PostgresTarget {
  /** The URL given to `pg`, without docket's parameters. */
  connectionString: string;
  schema: string;
}

export function isPostgresUrl(db: string): boolean {
  return /^postgres(ql)?:\/\//.test(db);
}

/** Splits `postgres://…?schema=NAME` into what `pg` understands and the schema docket uses. */
export function parseTarget(db: string, schemaOverride?: string): PostgresTarget {
  let url: URL;
  try {
    url = new URL(db);
  } catch {
    throw new InvalidInputError('db', `${redact(db)} is not a valid URL; use postgres://user@host:5432/database`);
  }
  const schema = schemaOverride ?? url.searchParams.get('schema') ?? DEFAULT_SCHEMA;
  url.searchParams.delete('schema');
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new InvalidInputError(
      'schema',
      `"${schema}" is not a usable schema name; use lower-case letters, digits and _ (at most 63)`,
    );
  }
  return { connectionString: url.toString(), schema };
}

/** The URL with its password hidden, for messages and `config show`. */
export function redact(db: string): string {
  return db.replace(/\/\/([^:/@]+):[^@/]*@/, '//$1:***@');
}

const INT8_OID = 20;

/**
 * A pool on the target; `pg` itself is loaded only here, so SQLite users never pay for it. An idle
 * connection that drops is reported through `warn` (the next query opens a new one).
 */
export async function createPool(target: PostgresTarget, max: number, warn: (message: string) => void): Promise<Pool> {
  const pg = (await import('pg')).default;
  const parseInt8 = (text: string) => Number(text);
  const config: PoolConfig = {
    connectionString: target.connectionString,
    max,
    // Ids and millisecond times are bigint columns; every value docket stores fits a double exactly.
    types: {
      getTypeParser: ((oid: number, format?: string) =>
        oid === INT8_OID ? parseInt8 : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
    },
    options: `-c search_path=${target.schema}`,
    // Names the docket in pg_stat_activity, so an operator sees which schema a connection serves.
    application_name: `docket:${target.schema}`,
  };
  const pool = new pg.Pool(config);
  // An idle client that loses its connection must not crash the process; the next query reconnects.
  pool.on('error', (error) =>
    warn(`lost an idle connection to PostgreSQL (${error.message}); the next query opens a new one`),
  );
  return pool;
}

/** The LISTEN/NOTIFY channel of one docket (one per schema). */
export function channelOf(schema: string): string {
  return `docket_${schema}`;
}
