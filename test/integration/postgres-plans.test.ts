/**
 * PostgreSQL only: the worker's hot statement (a batch of completions and the next claim) reads
 * rows in proportion to its batch, not to the queue. Between two autovacuum runs — or before a
 * table's first ANALYZE, right after a bulk submit — the planner once read an index of every
 * pending job (for `wanting`) and the index entries of every job completed since the last vacuum
 * (for the completions): each batch then cost milliseconds that grew with the queue.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { Docket } from '../../src/docket.js';
import { waitFor } from '../helpers/cli.js';
import { dropTestStore, freshPgUrl } from '../helpers/engines.js';

let home: string;
let db: string;
const cleanups: (() => Promise<unknown>)[] = [];

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'docket-pg-plans-'));
  db = freshPgUrl();
});

afterEach(async () => {
  vi.restoreAllMocks();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  await dropTestStore(db);
  rmSync(home, { recursive: true, force: true });
});

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Join Filter'?: number;
  Plans?: PlanNode[];
}

/** Every node of a plan with the rows it read (returned and filtered out). */
function nodes(plan: PlanNode, out: { node: string; rows: number }[] = []): { node: string; rows: number }[] {
  const rows = plan['Actual Rows'] * plan['Actual Loops'] + (plan['Rows Removed by Filter'] ?? 0);
  out.push({ node: `${plan['Node Type']}${plan['Index Name'] ? ` on ${plan['Index Name']}` : ''}`, rows });
  for (const child of plan.Plans ?? []) nodes(child, out);
  return out;
}

/** A value as an SQL literal (EXPLAIN EXECUTE takes no bound parameters). */
function literal(client: pg.Client, value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (Array.isArray(value)) {
    const items = value.map((item) => (item === null ? 'NULL' : `"${String(item).replace(/["\\]/g, '\\$&')}"`));
    return client.escapeLiteral(`{${items.join(',')}}`);
  }
  return client.escapeLiteral(String(value));
}

it('a batch of completions and the next claim read rows in proportion to the batch, not to the queue', async () => {
  const JOBS = 3_000;
  const docket = await Docket.open({ home, db, manageWorkers: false });
  cleanups.push(() => docket.close());
  docket.define({ name: 'tick', handler: () => undefined });
  const schema = new URL(db).searchParams.get('schema') as string;
  const admin = new pg.Client({ connectionString: db.replace(/[?&]schema=[^&]*/, '') });
  await admin.connect();
  cleanups.push(() => admin.end());
  await docket.submit({ type: 'tick' }); // creates the tables
  // No vacuum or analyze during the test: the state between two autovacuum runs.
  await admin.query(`ALTER TABLE "${schema}".jobs SET (autovacuum_enabled = false)`);
  await docket.submitMany(Array.from({ length: JOBS - 1 }, () => ({ type: 'tick' })));

  // The worker's statements as sent: the last batch of completions with its claim is kept.
  const sent: { text: string; values: unknown[] }[] = [];
  const query = pg.Client.prototype.query;
  vi.spyOn(pg.Client.prototype, 'query').mockImplementation(function (this: pg.Client, ...args: unknown[]) {
    const config = args[0] as { text?: string; values?: unknown[] };
    if (
      typeof config?.text === 'string' &&
      config.text.includes('locked AS MATERIALIZED') &&
      config.text.includes('claimed AS')
    ) {
      sent.splice(0, sent.length, { text: config.text, values: config.values ?? [] });
    }
    return (query as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof query);

  // Half the queue drained: many completed jobs (and their old index entries), many still pending.
  let ended = 0;
  const worker = docket.worker({ concurrency: 10, onEvent: (event) => void (event.kind === 'ended' && ended++) });
  const running = worker.run();
  await waitFor('half the jobs to end', async () => ended >= JOBS / 2, 60_000);
  worker.stop();
  await running;
  expect(sent).toHaveLength(1);
  const [statement] = sent as [{ text: string; values: unknown[] }];

  // Both plans a worker may run: one for these values, and the generic one of a prepared statement.
  await admin.query(`PREPARE hot AS ${statement.text}`);
  const args = statement.values.map((value) => literal(admin, value)).join(', ');
  for (const mode of ['force_custom_plan', 'force_generic_plan']) {
    await admin.query('BEGIN');
    try {
      await admin.query(`SET LOCAL plan_cache_mode = ${mode}`);
      const { rows } = await admin.query(`EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE hot(${args})`);
      const read = nodes(rows[0]['QUERY PLAN'][0].Plan as PlanNode);
      expect({ mode, over: read.filter((node) => node.rows > 200) }).toEqual({ mode, over: [] });
    } finally {
      await admin.query('ROLLBACK');
    }
  }

  // The worker's own connections (plan_cache_mode auto) kept the generic plan after the five trial
  // custom ones: planning this statement anew on every batch took most of a millisecond.
  // biome-ignore lint/suspicious/noExplicitAny: the engine's pool, to read its sessions' plan counts
  const pool = (docket as any).engine.conn.pool as pg.Pool;
  const clients = await Promise.all(Array.from({ length: pool.totalCount }, () => pool.connect()));
  let generic = 0;
  let custom = 0;
  for (const client of clients) {
    const { rows } = await client.query(
      "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE '%claimed AS%'",
    );
    for (const row of rows) {
      generic += Number(row.generic_plans);
      custom += Number(row.custom_plans);
    }
    client.release();
  }
  expect(generic).toBeGreaterThan(custom);
}, 120_000);
