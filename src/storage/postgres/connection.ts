/**
 * How docket reaches PostgreSQL: the connection URL (with docket's own `schema` parameter taken
 * out), a pool whose 64-bit integers come back as numbers, and every statement's references to
 * docket's tables qualified with its (quoted) schema — never left to a search path, where an
 * application's own `jobs` table (or a temporary one) would be found first.
 */
import type { Pool, PoolConfig, QueryConfig } from 'pg';
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

/** An identifier quoted for SQL, so that any name — `select`, `order` — is taken as a name. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * docket's tables: every reference to one in a statement is qualified with the schema. A table a
 * migration creates belongs here (test/unit/postgres-sql.test.ts checks that none is missing).
 */
export const DOCKET_TABLES = [
  'jobs',
  'job_deps',
  'executions',
  'workers',
  'queues',
  'job_types',
  'job_groups',
  'docket_store',
  'api_tokens',
  'job_events',
  'allocations',
  'docket_migrations',
];
/**
 * A reference to one of docket's tables: the table name right after a keyword that names a table
 * (`FROM jobs`, `UPDATE jobs AS j`, `INSERT INTO executions`, `LOCK TABLE jobs`, `ON jobs (…)`).
 * docket's SQL writes keywords in capitals, so words in comments or messages are not taken for it;
 * a name already qualified (`"docket".jobs`) or used as a qualifier (`jobs.id`) is left alone.
 */
const TABLE_REFERENCE = new RegExp(
  `\\b(FROM|JOIN|INTO|UPDATE|TABLE|ON|REFERENCES)(\\s+)(${DOCKET_TABLES.join('|')})\\b(?!\\.)`,
  'g',
);

/** Qualifies the docket table references of a statement's text with the schema (cached per text). */
export function schemaQualifier(schema: string): (text: string) => string {
  const prefix = `${quoteIdent(schema)}.`;
  const done = new Map<string, string>();
  return (text) => {
    let qualified = done.get(text);
    if (qualified === undefined) {
      qualified = text.replace(TABLE_REFERENCE, (_, keyword, space, table) => `${keyword}${space}${prefix}${table}`);
      // docket's statements are a few hundred fixed texts; anything beyond is not worth keeping.
      if (done.size < 5_000) done.set(text, qualified);
    }
    return qualified;
  };
}

/** A query (text or config) with its table references qualified; other submittables pass as they are. */
export function qualifyQuery<T>(query: T, qualify: (text: string) => string, keepName = true): T {
  if (typeof query === 'string') return qualify(query) as T;
  const config = query as QueryConfig & { submit?: unknown };
  if (config === null || typeof config !== 'object' || typeof config.text !== 'string' || config.submit) return query;
  const { name, ...rest } = config;
  return { ...rest, text: qualify(config.text), ...(keepName && name !== undefined && { name }) } as T;
}

const INT8_OID = 20;

/**
 * Type parsers that read 64-bit integers as numbers: ids and millisecond times are bigint columns,
 * and every value docket stores fits a double exactly. Used by the pool and, per statement, on a
 * caller's own client (whose parsers are the caller's business).
 */
export async function numericTypes(): Promise<NonNullable<QueryConfig['types']>> {
  const pg = (await import('pg')).default;
  const parseInt8 = (text: string) => Number(text);
  return {
    getTypeParser: ((oid: number, format?: string) =>
      oid === INT8_OID ? parseInt8 : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
  };
}

/**
 * A pool on the target; `pg` itself is loaded only here, so SQLite users never pay for it. An idle
 * connection that drops is reported through `warn` (the next query opens a new one).
 */
export async function createPool(target: PostgresTarget, max: number, warn: (message: string) => void): Promise<Pool> {
  const pg = (await import('pg')).default;
  const qualify = schemaQualifier(target.schema);
  /** A client whose every statement names docket's tables with their schema. */
  class SchemaClient extends pg.Client {
    // biome-ignore lint/suspicious/noExplicitAny: passes pg's overloaded arguments through unchanged
    override query(query: any, values?: any, callback?: any): any {
      return super.query(qualifyQuery(query, qualify), values, callback);
    }
  }
  const config: PoolConfig = {
    connectionString: target.connectionString,
    max,
    types: await numericTypes(),
    Client: SchemaClient,
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
