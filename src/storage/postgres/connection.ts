/**
 * How docket reaches PostgreSQL: the connection URL (with docket's own `schema` parameter taken
 * out), a pool whose 64-bit integers come back as numbers, and every statement's references to
 * docket's tables qualified with its (quoted) schema — never left to a search path, where an
 * application's own `jobs` table (or a temporary one) would be found first.
 */
import type { Client, Pool, PoolConfig, QueryConfig, QueryResult } from 'pg';
import { InvalidInputError, NotFoundError } from '../../core/errors.js';
import type { Job } from '../../core/words.js';
import { type JobRow, jobFromRow } from '../rows.js';
import { prepared } from './sql.js';

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
  'event_listeners',
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
    constructor(config?: ConstructorParameters<typeof pg.Client>[0]) {
      super(config);
      // A connection cut while the client is checked out (in a transaction, between two statements
      // or during one) emits 'error' on the client, and pg-pool listens only while it is idle: with
      // no listener the process would die. The statement in flight fails with the error and any
      // later one with "not queryable", so the transaction fails as a statement would, and the
      // pool discards the client when it is released.
      this.on('error', () => {});
    }

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

/** Something that runs queries: the pool, a client of ours in a transaction, or the caller's client. */
export interface Queryable {
  query(config: QueryConfig | string, values?: unknown[]): Promise<QueryResult>;
}

/**
 * The open database every part of the engine works through: the pool, the docket's schema and
 * notification channel, transactions (the pool's or the caller's), and the helpers all parts share.
 */
export class PostgresConnection {
  readonly schema: string;
  /** @internal The LISTEN/NOTIFY channel of this docket. */
  readonly channel: string;
  /** Listening clients (notices, events), ended on close. */
  readonly listeners = new Set<Client>();
  private readonly qualify: (text: string) => string;

  constructor(
    readonly pool: Pool,
    readonly target: PostgresTarget,
    readonly warn: (message: string) => void,
  ) {
    this.schema = target.schema;
    this.qualify = schemaQualifier(target.schema);
    this.channel = channelOf(target.schema);
  }

  /** Runs `work` in a transaction on a client of the pool, or inside the caller's transaction. */
  async transaction<T>(work: (client: Queryable) => Promise<T>, outside?: unknown): Promise<T> {
    if (outside !== undefined) return this.inOutsideTransaction(asQueryable(outside), work);
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  /**
   * Runs `work` on the caller's connection, in the caller's transaction, which must be open: on a
   * pool or an idle client each statement would commit on its own, and the jobs would exist before
   * (or without) the caller's writes. Statements name docket's tables with their schema, so the
   * caller's search path (and tables of the same names on it) play no part and stay as they were.
   */
  private async inOutsideTransaction<T>(db: Queryable, work: (client: Queryable) => Promise<T>): Promise<T> {
    await assertInTransaction(db);
    const types = await numericTypes();
    // Unnamed statements: a named one would clash on a client shared by dockets of two schemas.
    const qualifying: Queryable = {
      query: (config, values) => {
        const query = typeof config === 'string' ? { text: config } : config;
        return db.query({ ...qualifyQuery(query, this.qualify, false), types }, values);
      },
    };
    return work(qualifying);
  }

  /** Runs one statement (named, so planned once per connection) and returns its rows. */
  async rows<T>(db: Queryable, text: string, values: unknown[] = []): Promise<T[]> {
    return (await db.query(prepared(text, values))).rows as T[];
  }
  /** Adds dependencies to many jobs with one query. */
  async attachDeps(db: Queryable, rows: JobRow[]): Promise<Job[]> {
    if (rows.length === 0) return [];
    const deps = new Map<number, number[]>();
    {
      const edges = await this.rows<{ job_id: number; depends_on: number }>(
        db,
        'SELECT job_id, depends_on FROM job_deps WHERE job_id = ANY($1::int8[]) ORDER BY depends_on',
        [rows.map((row) => row.id)],
      );
      for (const edge of edges) {
        const list = deps.get(edge.job_id);
        if (list) list.push(edge.depends_on);
        else deps.set(edge.job_id, [edge.depends_on]);
      }
    }
    return rows.map((row) => jobFromRow(row, deps.get(row.id)));
  }

  /** Tells listening workers that these queues have runnable jobs (delivered at commit). */
  async notifyWork(db: Queryable, queues: Iterable<string>): Promise<void> {
    const distinct = [...new Set(queues)];
    if (distinct.length === 0) return;
    await db.query(prepared("SELECT pg_notify($1, 'w:' || q) FROM unnest($2::text[]) AS q", [this.channel, distinct]));
  }

  /** Tells the worker running a job that its record changed (cancel, suspend, resume). */
  async notifyControl(db: Queryable, workerId: string | null): Promise<void> {
    if (workerId === null) return;
    await db.query(prepared("SELECT pg_notify($1, 'c:' || $2)", [this.channel, workerId]));
  }

  /** The job's row, locked until the transaction ends. */
  async lockRow(db: Queryable, id: number): Promise<JobRow | undefined> {
    return (await this.rows<JobRow>(db, 'SELECT * FROM jobs WHERE id = $1 FOR UPDATE', [id]))[0];
  }

  async mustLock(db: Queryable, id: number): Promise<JobRow> {
    const row = await this.lockRow(db, id);
    if (!row) throw new NotFoundError(`job ${id} does not exist; see docket list --all`);
    return row;
  }
}

/** The caller's `pg` client: anything with a `query` method, but not a pool (see assertInTransaction). */
function asQueryable(connection: unknown): Queryable {
  if (connection === null || typeof (connection as Queryable).query !== 'function') {
    throw new InvalidInputError('connection', 'must be a pg client, the one on which you called BEGIN');
  }
  const pool = connection as { connect?: unknown; totalCount?: unknown };
  if (typeof pool.connect === 'function' && typeof pool.totalCount === 'number') {
    throw new InvalidInputError(
      'connection',
      'a pool is not a transaction: take a client from it (pool.connect()), call BEGIN on it and pass that client',
    );
  }
  return connection as Queryable;
}

/**
 * Refuses a connection that is not inside a transaction. A setting made local to the transaction
 * (set_config's `true`) outlives the statement only when a transaction is open: outside one, the
 * statement was its own transaction and the setting is gone by the next.
 */
async function assertInTransaction(db: Queryable): Promise<void> {
  await db.query("SELECT set_config('docket.in_caller_transaction', 'yes', true)");
  const { rows } = await db.query("SELECT current_setting('docket.in_caller_transaction', true) AS inside");
  if (rows[0]?.inside !== 'yes') {
    throw new InvalidInputError(
      'connection',
      'the client is not inside a transaction: call BEGIN on it first (and COMMIT after), so the jobs exist exactly when your writes do',
    );
  }
}
