/**
 * The embedded engine's part for the HTTP API: tenant-scoped searches with real totals, tokens,
 * the job event log that triggers fill, and the figures behind stats and metrics.
 */
import type Database from 'better-sqlite3';
import { type FinishedSummary, MINUTE_MS } from '../../core/stats.js';
import { FINAL_STATUSES, type Job, type JobStatus, type JobWithAttempts } from '../../core/words.js';
import {
  ATTEMPT_COUNTS_SQL,
  attemptCountFromRow,
  type EventRow,
  eventFromRow,
  type FinishedCountRow,
  type FinishedTimesRow,
  finishedCountFromRow,
  finishedHistogramsSql,
  finishedTimesFromRow,
  type HistogramRow,
  histogramsFromRows,
  TOKEN_COLUMNS,
  type TokenRow,
  tokenFromRow,
  tokenValues,
} from '../api-rows.js';
import type {
  ApiToken,
  AttemptCount,
  FinishedHistogram,
  JobDetailRead,
  JobEventRecord,
  JobSearch,
  NewApiToken,
  QueueInfo,
} from '../engine.js';
import { liveAttempt, type QueueRow, queueInfos } from '../records.js';
import { attemptFromRow, type ExecutionRow, type JobRow, jobFromRow, type WorkerRow, workerFromRow } from '../rows.js';
import { searchOrder, searchWhere } from '../search.js';
import { dataVersion, watchEventLog } from './notices.js';

type Statement = Database.Statement<unknown[], unknown>;

const FINAL_LIST = FINAL_STATUSES.map((status) => `'${status}'`).join(', ');

/**
 * A page of job rows read as JSON texts (one array per row) and turned into row objects by a
 * function compiled once from the column names (an object literal of fixed shape). better-sqlite3
 * hands a row to JavaScript a value at a time, about 4 µs per row of 48 columns; SQLite writing
 * each row as JSON and one JSON.parse of the page reading them costs a third of that, and a page
 * of 50 jobs was mostly that handover. The rows are joined in JavaScript rather than by
 * `json_group_array(… ORDER BY …)`: the query's own order holds, and the aggregate's sort of the
 * page (a fifth of the page's SQL) is not needed.
 */
/** A page of jobs: `WHERE …` (or '') with its arguments, `ORDER BY …`, and the page's bounds. */
export interface RowPage {
  where: string;
  order: string;
  args: unknown[];
  limit: number;
  offset: number;
}

export class JsonRows {
  private columns: string[] | null = null;
  private build: ((values: unknown[]) => JobRow) | null = null;

  constructor(private readonly sql: (text: string) => Statement) {}

  /** The rows of a page of jobs, in the page's order. */
  read(page: RowPage): JobRow[] {
    const build = this.builder();
    return this.values(page, []).map(build);
  }

  /** The jobs of a page with their dependencies, read in the same statement. */
  readJobs(page: RowPage): Job[] {
    const build = this.builder();
    const deps = `json((SELECT json_group_array(depends_on ORDER BY depends_on) FROM job_deps WHERE job_id = jobs.id))`;
    const width = (this.columns as string[]).length;
    return this.values(page, [deps]).map((values) => jobFromRow(build(values), values[width] as number[]));
  }

  /**
   * The page's ids are picked first, and only their rows written as JSON. When the order does not
   * come from an index, SQLite sorts the matches; with the JSON in that same select it wrote the
   * JSON of every match before the sort cut the page (a page of 1,000 among 100,000 pending jobs:
   * 265 ms instead of 38).
   */
  private values(page: RowPage, extra: string[]): unknown[][] {
    const { where, order } = page;
    const texts = this.sql(
      `SELECT json_array(${[...this.columnList(), ...extra].join(', ')}) FROM jobs
       WHERE id IN (SELECT id FROM jobs ${where} ${order} LIMIT ? OFFSET ?) ${order}`,
    )
      .pluck()
      .all(...page.args, page.limit, page.offset) as string[];
    return JSON.parse(`[${texts.join(',')}]`) as unknown[][];
  }

  private builder(): (values: unknown[]) => JobRow {
    this.columnList();
    return this.build as (values: unknown[]) => JobRow;
  }

  private columnList(): string[] {
    if (this.columns === null) {
      const columns = (this.sql('PRAGMA table_info(jobs)').all() as { name: string }[]).map((column) => column.name);
      const fields = columns.map((name, index) => `${JSON.stringify(name)}: values[${index}]`);
      this.build = new Function('values', `return { ${fields.join(', ')} };`) as (values: unknown[]) => JobRow;
      this.columns = columns.map((name) => `"${name.replaceAll('"', '""')}"`);
    }
    return this.columns;
  }
}

export class SqliteApiStore {
  private readonly rows: JsonRows;

  constructor(
    private readonly sql: (text: string) => Statement,
    private readonly write: <T>(work: () => T) => T,
    private readonly read: <T>(work: () => T) => T,
    private readonly withDeps: (row: JobRow) => Job,
  ) {
    this.rows = new JsonRows(sql);
  }

  search(query: JobSearch): Job[] {
    const { where, args } = this.where(query);
    const order = searchOrder(query);
    return this.rows.readJobs({ where, order, args, limit: query.limit, offset: query.offset });
  }

  countJobs(query: JobSearch): number {
    const { where, args } = this.where(query);
    return this.sql(`SELECT count(*) FROM jobs ${where}`)
      .pluck()
      .get(...args) as number;
  }

  private where(query: JobSearch): { where: string; args: unknown[] } {
    const args: unknown[] = [];
    const where = searchWhere(
      query,
      (value) => {
        args.push(value);
        return '?';
      },
      'LIKE',
    );
    return { where, args };
  }

  queueSettings(): Omit<QueueInfo, 'counts'>[] {
    return (this.sql('SELECT name, capacity, paused FROM queues ORDER BY name').all() as QueueRow[]).map((row) => ({
      name: row.name,
      capacity: row.capacity,
      paused: row.paused === 1,
    }));
  }

  /** The job, its attempts, dependents, the queues' settings and the workers: one snapshot, one async step. */
  jobDetail(id: number, tenant?: string): JobDetailRead | null {
    return this.read(() => this.jobDetailNow(id, tenant));
  }

  private jobDetailNow(id: number, tenant?: string): JobDetailRead | null {
    const row = (
      tenant === undefined
        ? this.sql('SELECT * FROM jobs WHERE id = ?').get(id)
        : this.sql('SELECT * FROM jobs WHERE id = ? AND tenant = ?').get(id, tenant)
    ) as JobRow | undefined;
    if (!row) return null;
    const executions = (
      this.sql('SELECT * FROM executions WHERE job_id = ? ORDER BY attempt').all(id) as ExecutionRow[]
    ).map(attemptFromRow);
    const live = liveAttempt(row, executions);
    if (live) executions.push(live);
    const job = this.withDeps(row) as JobWithAttempts;
    job.executions = executions;
    const workers = (this.sql('SELECT * FROM workers ORDER BY started_at').all() as WorkerRow[]).map(workerFromRow);
    return { job, dependents: this.dependents(id), queues: this.queueSettings(), workers };
  }

  /** Moves when another connection commits (not on this connection's own writes). */
  changeStamp(): number {
    return dataVersion(this.sql);
  }

  dependents(id: number): number[] {
    return this.sql('SELECT job_id FROM job_deps WHERE depends_on = ? ORDER BY job_id').pluck().all(id) as number[];
  }

  remove(ids: number[], tenant?: string): number[] {
    if (ids.length === 0) return [];
    const scope = tenant === undefined ? '' : 'AND tenant = ?';
    return this.write(
      () =>
        this.sql(
          `DELETE FROM jobs WHERE id IN (SELECT value FROM json_each(?)) AND status IN (${FINAL_LIST}) ${scope} RETURNING id`,
        )
          .pluck()
          .all(JSON.stringify(ids), ...(tenant === undefined ? [] : [tenant])) as number[],
    );
  }

  queueOverview(tenant?: string): (QueueInfo & { oldestPendingAt: number | null })[] {
    const scope = tenant === undefined ? '' : 'WHERE tenant = ?';
    const args = tenant === undefined ? [] : [tenant];
    const counts = this.sql(`SELECT queue, status, count(*) AS n FROM jobs ${scope} GROUP BY queue, status`).all(
      ...args,
    ) as { queue: string; status: JobStatus; n: number }[];
    const oldest = this.sql(
      `SELECT queue, min(created_at) AS at FROM jobs WHERE status = 'pending' ${tenant === undefined ? '' : 'AND tenant = ?'} GROUP BY queue`,
    ).all(...args) as { queue: string; at: number }[];
    const oldestByQueue = new Map(oldest.map((row) => [row.queue, row.at]));
    const settings = this.sql('SELECT name, capacity, paused FROM queues').all() as QueueRow[];
    return queueInfos(settings, counts).map((queue) => ({
      ...queue,
      oldestPendingAt: oldestByQueue.get(queue.name) ?? null,
    }));
  }

  finishedHistograms(boundsMs: number[]): FinishedHistogram[] {
    const rows = this.sql(finishedHistogramsSql(boundsMs, 'max')).all() as HistogramRow[];
    return histogramsFromRows(rows, boundsMs);
  }

  /**
   * Counts by minute and outcome, and percentiles by SQLite's percentile_cont (built into
   * better-sqlite3's SQLite; the same interpolation as PostgreSQL's): no job leaves SQLite.
   */
  finishedSummary(first: number, since: number, tenant?: string): FinishedSummary {
    const args = [first, since, ...(tenant === undefined ? [] : [tenant])];
    // SQLite's scalar max() is NULL when an argument is: a job that never started has no times.
    // The window is the selective part: `+` keeps SQLite from reading the state's (or tenant's)
    // whole history through jobs_status (or jobs_tenant) instead of the window through jobs_ended.
    const finished = `SELECT CAST((ended_at - ?) / ${MINUTE_MS} AS INTEGER) AS minute, status,
        max(0, started_at - max(created_at, run_at)) AS wait, max(0, ended_at - started_at) AS run
      FROM jobs WHERE ended_at >= ? AND +status IN (${FINAL_LIST}) ${tenant === undefined ? '' : 'AND +tenant = ?'}`;
    const counts = this.sql(`SELECT minute, status, count(*) AS n FROM (${finished}) GROUP BY minute, status`).all(
      ...args,
    ) as FinishedCountRow[];
    const percentiles = `percentile_cont(wait, 0.5) AS wait_p50, percentile_cont(wait, 0.95) AS wait_p95,
      percentile_cont(run, 0.5) AS run_p50, percentile_cont(run, 0.95) AS run_p95`;
    const times = this.sql(
      `WITH finished AS MATERIALIZED (${finished})
       SELECT minute, ${percentiles} FROM finished GROUP BY minute
       UNION ALL SELECT NULL, ${percentiles} FROM finished`,
    ).all(...args) as FinishedTimesRow[];
    return { counts: counts.map(finishedCountFromRow), times: times.map(finishedTimesFromRow) };
  }

  attemptCounts(): AttemptCount[] {
    return (this.sql(ATTEMPT_COUNTS_SQL).all() as Parameters<typeof attemptCountFromRow>[0][]).map(attemptCountFromRow);
  }

  createToken(token: NewApiToken): ApiToken {
    const row = this.write(
      () =>
        this.sql(`INSERT INTO api_tokens (${TOKEN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`).get(
          ...tokenValues(token),
        ) as TokenRow,
    );
    return tokenFromRow(row);
  }

  tokenByHash(hash: string): ApiToken | null {
    const row = this.sql('SELECT * FROM api_tokens WHERE token_hash = ?').get(hash) as TokenRow | undefined;
    return row ? tokenFromRow(row) : null;
  }

  listTokens(): ApiToken[] {
    return (this.sql('SELECT * FROM api_tokens ORDER BY id').all() as TokenRow[]).map(tokenFromRow);
  }

  revokeToken(id: number): boolean {
    return this.write(
      () =>
        this.sql('UPDATE api_tokens SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?').run(Date.now(), id)
          .changes > 0,
    );
  }

  eventsAfter(afterId: number, limit: number, tenant?: string): JobEventRecord[] {
    const scope = tenant === undefined ? '' : 'AND tenant = ?';
    return (
      this.sql(`SELECT * FROM job_events WHERE id > ? ${scope} ORDER BY id LIMIT ?`).all(
        afterId,
        ...(tenant === undefined ? [] : [tenant]),
        limit,
      ) as EventRow[]
    ).map(eventFromRow);
  }

  lastEventId(): number {
    return (this.sql('SELECT max(id) FROM job_events').pluck().get() as number | null) ?? 0;
  }

  /** Calls `onEvents` when other processes wrote events (notices.ts). */
  watchEvents(onEvents: () => void): () => Promise<void> {
    return watchEventLog(() => this.lastEventId(), onEvents);
  }
}
