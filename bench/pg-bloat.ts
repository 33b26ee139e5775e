/**
 * Table growth on PostgreSQL under churn: rounds of N no-op jobs submitted and drained by an
 * in-process worker that prunes what it finished, printing the jobs table's size (heap, indexes,
 * TOAST) and its dead row versions after each round. Every job is updated several times (claim,
 * completion), so without vacuum the table grows by dead versions every round; with the engine's
 * storage settings (fillfactor 80, autovacuum after 2 % of rows change) and the workers'
 * housekeeping (a VACUUM where autovacuum is off or behind) it levels off. NO_MAINTAIN=1 shows the
 * table without the housekeeping.
 *
 *   npm run bench:pg-bloat            # DOCKET_BENCH_PG or postgres://postgres@127.0.0.1:5432/postgres
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Docket } from '../src/docket.js';
import type { PostgresEngine } from '../src/storage/postgres/engine.js';

const ROUNDS = Number(process.env.ROUNDS ?? 8);
const N = Number(process.env.N ?? 20_000);
const base = process.env.DOCKET_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const url = new URL(base);
url.searchParams.set('schema', 'docket_bloat');
const home = mkdtempSync(join(tmpdir(), 'docket-bloat-'));

const docket = await Docket.open({ home, db: url.toString(), manageWorkers: false });
const engine = docket.engine as PostgresEngine;
await engine.dropSchema();
await docket.close();
const fresh = await Docket.open({ home, db: url.toString(), manageWorkers: false });
fresh.define({ name: 'noop', handler: () => undefined });
const admin = new pg.Client({ connectionString: base });
await admin.connect();

async function size(): Promise<{ totalMb: number; dead: number }> {
  const { rows } = await admin.query(
    `SELECT pg_total_relation_size('docket_bloat.jobs') AS bytes, n_dead_tup AS dead
     FROM pg_stat_user_tables WHERE schemaname = 'docket_bloat' AND relname = 'jobs'`,
  );
  const row = rows[0];
  return { totalMb: Number(row.bytes) / 1048576, dead: Number(row.dead) };
}

console.log(
  `# PostgreSQL table growth: ${ROUNDS} rounds of ${N.toLocaleString('en-US')} jobs, pruned after each round`,
);
console.log(
  `| round | jobs processed | jobs table after the round (${N.toLocaleString('en-US')} rows) | after pruning | dead row versions left |`,
);
console.log('|---:|---:|---:|---:|---:|');
for (let round = 1; round <= ROUNDS; round++) {
  for (let done = 0; done < N; done += 1000) {
    await fresh.submitMany(
      Array.from({ length: Math.min(1000, N - done) }, (_, i) => ({ type: 'noop', params: { i } })),
    );
  }
  const worker = fresh.worker({ concurrency: 10, queues: ['*'] });
  const running = worker.run();
  while ((await fresh.counts()).completed < N) await new Promise((resolve) => setTimeout(resolve, 50));
  worker.stop();
  await running;
  const full = await size();
  // What a long-running worker's once-a-minute housekeeping does (--prune-after, then VACUUM
  // where dead row versions piled up), run once per round here so the benchmark takes a minute.
  await fresh.clear({ statuses: ['completed'] });
  const done = process.env.NO_MAINTAIN ? [] : await (fresh.engine as PostgresEngine).maintain();
  if (done.length > 0) console.error(`  round ${round}: ${done.join('; ')}`);
  const { totalMb, dead } = await size();
  console.log(
    `| ${round} | ${(round * N).toLocaleString('en-US')} | ${full.totalMb.toFixed(1)} MB | ${totalMb.toFixed(1)} MB | ${dead} |`,
  );
}
await fresh.close();
await admin.end();
rmSync(home, { recursive: true, force: true });
