/**
 * How the SQLite engine reaches its file: WAL (readers run beside the one writer), a generous busy
 * timeout (writers queue instead of failing), every write a short `BEGIN IMMEDIATE` transaction (so
 * two writers never deadlock upgrading a read lock, which SQLite reports as "database is locked"
 * without waiting), cached prepared statements, and the helpers every part of the engine shares.
 */
import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { NotFoundError } from '../../core/errors.js';
import type { Job } from '../../core/words.js';
import { type JobRow, jobFromRow } from '../rows.js';
import { dataVersion } from './notices.js';

/** Writers wait this long for the lock before giving up: far beyond any docket transaction. */
const BUSY_TIMEOUT_MS = 60_000;
/**
 * A `BEGIN IMMEDIATE` that took longer than this, when another connection has committed since,
 * waited for another process's write lock (SQLite's busy handler sleeps 1 ms first; a process that
 * the OS merely paused saw no other commit): this connection's writes are contended (see `write`).
 */
const CONTENDED_BEGIN_MS = 0.8;
/** Contended writes go back to SQLite's busy handler after this long without meeting a held lock. */
const CONTENTION_FORGOTTEN_MS = 2_000;
/** How long a contended `BEGIN IMMEDIATE` tries again at short pauses before waiting in the busy handler. */
const SHORT_PAUSES_MS = 250;

/**
 * Puts the file in WAL mode. Changing the journal mode needs the file to itself, and SQLite answers
 * SQLITE_BUSY at once there instead of waiting out the busy timeout, so a process that opens the file
 * while another one is creating it ("database is locked" from a worker and a server started
 * together) retries for as long as that timeout.
 */
function useWal(db: Database.Database): void {
  const deadline = Date.now() + BUSY_TIMEOUT_MS;
  for (;;) {
    try {
      if (db.pragma('journal_mode', { simple: true }) !== 'wal') db.pragma('journal_mode = WAL');
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() > deadline) throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
}

type Statement = Database.Statement<unknown[], unknown>;

/**
 * Builds rows of the statement's columns from arrays of values. A function with one object literal
 * (one hidden class, made once per statement) builds a 50-column job row in a fraction of what
 * better-sqlite3's own objects cost.
 */
function rowBuilder(columns: string[]): (values: unknown[]) => unknown {
  const fields = columns.map((name, index) => `${JSON.stringify(name)}: v[${index}]`);
  return new Function('v', `return { ${fields.join(', ')} };`) as (values: unknown[]) => unknown;
}

/** Which file is at `path` now (device and inode), or null when there is none. */
function fileIdentity(path: string): string | null {
  try {
    const stat = statSync(path);
    return `${stat.dev}:${stat.ino}`;
  } catch {
    return null;
  }
}

/** The open database file every part of the engine works through. */
export class SqliteConnection {
  readonly db: Database.Database;
  /** The device and inode of the file opened (see vanished). */
  private readonly file: string | null;
  private readonly statements = new Map<string, Statement>();
  private readonly jobQueries = new Map<string, { all(...args: unknown[]): JobRow[] }>();
  private readonly immediate: (work: () => unknown) => unknown;
  private readonly deferred: (work: () => unknown) => unknown;
  /** Until when this connection's writes take the lock by short tries (see write); 0: not contended. */
  private contendedUntil = 0;
  private readonly pauseCell = new Int32Array(new SharedArrayBuffer(4));
  /** `PRAGMA data_version` when last looked at: it changes when another connection commits. */
  private seenDataVersion: number | null = null;

  constructor(private readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path, { timeout: BUSY_TIMEOUT_MS });
    this.file = fileIdentity(path);
    useWal(this.db);
    // NORMAL is durable across process crashes in WAL mode; only a power cut can lose the last commits.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    // One transaction wrapper for every write: creating one per call costs more than a small insert.
    this.immediate = this.db.transaction((work: () => unknown) => work()).immediate;
    this.deferred = this.db.transaction((work: () => unknown) => work()).deferred;
    this.othersCommitted();
  }

  /** The file at the path is gone or another one: this connection reads a file no one else sees. */
  vanished(): boolean {
    return fileIdentity(this.path) !== this.file;
  }

  /** A cached prepared statement: preparing is the costly part of a small query. */
  sql(text: string): Statement {
    let statement = this.statements.get(text);
    if (!statement) {
      statement = this.db.prepare(text);
      this.statements.set(text, statement);
    }
    return statement;
  }

  /**
   * A cached query of whole job rows, `SELECT * FROM jobs <tail>`, read as one JSON text
   * (`json_group_array(json_array(…))`) and parsed here. better-sqlite3 converts a row value by
   * value, about 0.15 µs each, so a job row of 50 columns cost about 8 µs; SQLite writes the JSON in
   * C and JSON.parse reads it in a fraction of that (the claim and the completion read every job
   * row of a drain). Every column is TEXT, INTEGER, REAL or NULL, which JSON carries unchanged.
   * Rows come in no particular order.
   */
  jobRows(tail: string): { all(...args: unknown[]): JobRow[] } {
    let query = this.jobQueries.get(tail);
    if (!query) {
      // The columns as the migrations left them (so read here, once the store is open).
      const columns = this.db
        .prepare('SELECT * FROM jobs LIMIT 0')
        .columns()
        .map((column) => column.name);
      const list = columns.map((name) => `"${name.replaceAll('"', '""')}"`).join(', ');
      const statement = this.db.prepare(`SELECT json_group_array(json_array(${list})) FROM jobs ${tail}`).pluck();
      const build = rowBuilder(columns) as (values: unknown[]) => JobRow;
      query = { all: (...args) => (JSON.parse(statement.get(...args) as string) as unknown[][]).map(build) };
      this.jobQueries.set(tail, query);
    }
    return query;
  }

  /**
   * Runs reads in one read transaction: they see one snapshot (a job and its attempts as they were
   * together), and the WAL is locked once instead of once per statement (outside a transaction
   * every statement takes and drops its own read lock: two fcntl calls and an fstat).
   */
  read<T>(work: () => T): T {
    return this.db.inTransaction ? work() : (this.deferred(work) as T);
  }

  /**
   * Runs `work` in a `BEGIN IMMEDIATE` transaction. While another process holds the write lock,
   * SQLite's busy handler sleeps 1, 2, 5, 10… ms between tries: far longer than a docket transaction
   * (well under a millisecond), so two busy workers on one file spent much of their time asleep.
   * Once a BEGIN of this connection has waited (CONTENDED_BEGIN_MS), its BEGINs try without the busy
   * handler and again after 50 µs, doubling to 2 ms, for SHORT_PAUSES_MS, then wait in the busy
   * handler as before. Only the BEGIN is tried again: it has run nothing yet. Everything after it,
   * the work and the COMMIT, waits in the busy handler as always.
   */
  write<T>(work: () => T): T {
    // Nested (better-sqlite3 makes it a savepoint): the outer transaction holds the lock already.
    if (this.db.inTransaction) return this.immediate(work) as T;
    if (this.contendedUntil === 0) {
      const asked = performance.now();
      return this.immediate(() => {
        if (performance.now() - asked > CONTENDED_BEGIN_MS && this.othersCommitted())
          this.contendedUntil = Date.now() + CONTENTION_FORGOTTEN_MS;
        return work();
      }) as T;
    }
    return this.contendedWrite(work);
  }

  /** Whether another connection committed since the last look (the first look says no). */
  private othersCommitted(): boolean {
    const version = dataVersion((text) => this.sql(text));
    const changed = this.seenDataVersion !== null && version !== this.seenDataVersion;
    this.seenDataVersion = version;
    return changed;
  }

  private contendedWrite<T>(work: () => T): T {
    let begun = false;
    const patient = () => this.db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    const run = () => {
      begun = true;
      patient();
      return work();
    };
    // A PRAGMA acts when it is prepared, so these cannot be cached statements.
    this.db.pragma('busy_timeout = 0');
    const giveUpAt = Date.now() + SHORT_PAUSES_MS;
    let pauseMs = 0.05;
    for (;;) {
      try {
        return this.immediate(run) as T;
      } catch (error) {
        if (begun) throw error; // the work's own failure: its transaction is rolled back, nothing to retry
        const busy = String((error as { code?: unknown }).code).startsWith('SQLITE_BUSY');
        if (!busy || Date.now() > giveUpAt) {
          patient();
          if (!busy) throw error;
          return this.immediate(work) as T;
        }
        this.contendedUntil = Date.now() + CONTENTION_FORGOTTEN_MS;
        Atomics.wait(this.pauseCell, 0, 0, pauseMs);
        pauseMs = Math.min(pauseMs * 2, 2);
      } finally {
        if (Date.now() > this.contendedUntil) this.contendedUntil = 0;
      }
    }
  }

  /** The job with its dependencies. */
  withDeps(row: JobRow): Job {
    const deps = this.sql('SELECT depends_on FROM job_deps WHERE job_id = ? ORDER BY depends_on')
      .pluck()
      .all(row.id) as number[];
    return jobFromRow(row, deps);
  }

  /** Adds dependencies to many jobs with one query instead of one per job. */
  attachDeps(rows: JobRow[]): Job[] {
    if (rows.length === 0) return [];
    const deps = new Map<number, number[]>();
    const edges = this.sql(
      'SELECT job_id, depends_on FROM job_deps WHERE job_id IN (SELECT value FROM json_each(?)) ORDER BY depends_on',
    ).all(JSON.stringify(rows.map((row) => row.id))) as { job_id: number; depends_on: number }[];
    for (const edge of edges) {
      const list = deps.get(edge.job_id);
      if (list) list.push(edge.depends_on);
      else deps.set(edge.job_id, [edge.depends_on]);
    }
    return rows.map((row) => jobFromRow(row, deps.get(row.id)));
  }

  /** The job's row, or NotFoundError. */
  mustGet(id: number): JobRow {
    const row = this.sql('SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined;
    if (!row) throw new NotFoundError(`job ${id} does not exist; see docket list --all`);
    return row;
  }
}
