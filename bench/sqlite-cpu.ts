/**
 * CPU per job of the SQLite engine's hot path, in one process, for A/B decisions on a shared machine
 * (wall time there says more about the neighbours than about the change): W1 bulk (chunks of 1,000)
 * and the W2 drain (one worker, concurrency 10, no-op handler), docket beside the minimal SQLite
 * queue of the peer harness run the same way.
 *
 *   node --import tsx bench/sqlite-cpu.ts [docket|minimal]     # REPS=4 N=10000
 *   TIME_SQL=1 node --import tsx bench/sqlite-cpu.ts docket     # CPU per statement and per commit
 *   DOCKET_SRC=/other/tree/src/docket.ts …                      # the same against another tree
 *
 * Take the minimum over repetitions after the first (which warms the JIT) for A/B.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openMinimalQueue } from './minimal-sqlite.js';

const N = Number(process.env.N ?? 10_000);
const REPS = Number(process.env.REPS ?? 4);
const which = process.argv[2] ?? 'docket';

interface Figures {
  singleUs: number;
  bulkUs: number;
  drainUs: number;
  drainRate: number;
}

const cpuUs = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return used.user + used.system;
};

/** CPU per statement text and per commit, summed over a run (TIME_SQL=1). */
const timing = new Map<string, { calls: number; us: number }>();
function account(label: string, us: number): void {
  const entry = timing.get(label) ?? { calls: 0, us: 0 };
  entry.calls++;
  entry.us += us;
  timing.set(label, entry);
}

/** Wraps the connection's statements and its write transaction to account CPU per statement. */
// biome-ignore lint/suspicious/noExplicitAny: reaches into the engine's private connection
function instrument(conn: any): void {
  const wrap = (statement: Record<string, (...args: unknown[]) => unknown>, label: string) => {
    for (const method of ['run', 'get', 'all']) {
      const original = statement[method]?.bind(statement);
      if (!original) continue;
      statement[method] = (...args: unknown[]) => {
        const start = process.cpuUsage();
        try {
          return original(...args);
        } finally {
          account(label, cpuUs(start));
        }
      };
    }
  };
  const label = (text: string) => text.replace(/\s+/g, ' ').slice(0, 100);
  const seen = new WeakSet();
  const sql = conn.sql.bind(conn);
  conn.sql = (text: string) => {
    const statement = sql(text);
    if (!seen.has(statement)) {
      seen.add(statement);
      wrap(statement, label(text));
    }
    return statement;
  };
  const jobRows = conn.jobRows.bind(conn);
  conn.jobRows = (tail: string) => {
    const query = jobRows(tail);
    if (!seen.has(query)) {
      seen.add(query);
      wrap(query, `job rows: ${label(tail)}`);
    }
    return query;
  };
  const immediate = conn.immediate;
  conn.immediate = (work: () => unknown) => {
    const start = process.cpuUsage();
    let inner = 0;
    try {
      return immediate(() => {
        const workStart = process.cpuUsage();
        try {
          return work();
        } finally {
          inner = cpuUs(workStart);
        }
      });
    } finally {
      const all = cpuUs(start);
      account('(write transaction, all)', all);
      account('(write transaction: BEGIN + COMMIT)', all - inner);
    }
  };
}

async function docketRun(): Promise<Figures> {
  const { Docket } = await import(process.env.DOCKET_SRC ?? '../src/docket.ts');
  const home = mkdtempSync(join(tmpdir(), 'docket-sqlite-cpu-'));
  const docket = await Docket.open({ home, db: join(home, 'docket.db'), manageWorkers: false });
  let handled = 0;
  let allHandled = () => {};
  const handledAll = new Promise<void>((resolve) => {
    allHandled = resolve;
  });
  docket.define({
    name: 'bench',
    handler: () => {
      if (++handled === N + Math.ceil(N / 10)) allHandled();
    },
  });
  await docket.saveTypes();
  const conn = docket.engine.conn;
  if (process.env.EXEC_SQL) conn.db.exec(process.env.EXEC_SQL);
  if (process.env.TIME_SQL) instrument(conn);
  const jobs = Array.from({ length: N }, (_, i) => ({ type: 'bench', params: { i } }));
  // W1 single: one awaited submit per job (a tenth of N, drained with the rest).
  const singles = Math.ceil(N / 10);
  const single = process.cpuUsage();
  for (let i = 0; i < singles; i++) await docket.submit({ type: 'bench', params: { i } });
  const singleUs = cpuUs(single) / singles;
  const bulk = process.cpuUsage();
  for (let start = 0; start < N; start += 1000) await docket.submitMany(jobs.slice(start, start + 1000));
  const bulkUs = cpuUs(bulk);
  timing.clear();
  const worker = docket.worker({ concurrency: 10 });
  const drain = process.cpuUsage();
  const t0 = performance.now();
  const running = worker.run();
  await handledAll;
  while ((await docket.counts()).completed < N + singles) await new Promise((resolve) => setTimeout(resolve, 2));
  const drainUs = cpuUs(drain);
  const seconds = (performance.now() - t0) / 1000;
  worker.stop();
  await running;
  await docket.close();
  rmSync(home, { recursive: true, force: true });
  return { singleUs, bulkUs: bulkUs / N, drainUs: drainUs / (N + singles), drainRate: (N + singles) / seconds };
}

/** The peer harness's minimal SQLite queue (its sqlite-baseline adapter), in this process. */
async function minimalRun(): Promise<Figures> {
  const dir = mkdtempSync(join(tmpdir(), 'docket-sqlite-cpu-minimal-'));
  const db = openMinimalQueue(join(dir, 'queue.db'));
  const insert = db.prepare('INSERT INTO jobs (payload, priority, created_at) VALUES (?, 0, ?)');
  const single = process.cpuUsage();
  const singles = Math.ceil(N / 10);
  const insertOne = db.transaction((i: number) => insert.run(JSON.stringify({ i }), Date.now()));
  for (let i = 0; i < singles; i++) await Promise.resolve(insertOne(i));
  const singleUs = cpuUs(single) / singles;
  const insertMany = db.transaction((from: number, count: number) => {
    for (let i = from; i < from + count; i++) insert.run(JSON.stringify({ i }), Date.now());
  });
  const bulk = process.cpuUsage();
  for (let start = 0; start < N; start += 1000) insertMany(start, 1000);
  const bulkUs = cpuUs(bulk);
  const claim = db.prepare(`UPDATE jobs SET state='running', locked_at=?, attempts=attempts+1
    WHERE id = (SELECT id FROM jobs WHERE state='queued' ORDER BY priority, id LIMIT 1) RETURNING id, payload`);
  const complete = db.prepare(`UPDATE jobs SET state='done', finished_at=? WHERE id=?`);
  const handler = async (_job: unknown) => {};
  const loop = async () => {
    for (;;) {
      const row = claim.get(Date.now()) as { id: number; payload: string } | undefined;
      if (!row) return;
      await handler(JSON.parse(row.payload));
      complete.run(Date.now(), row.id);
    }
  };
  const drain = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: 10 }, loop));
  const drainUs = cpuUs(drain);
  const seconds = (performance.now() - t0) / 1000;
  db.close();
  rmSync(dir, { recursive: true, force: true });
  return { singleUs, bulkUs: bulkUs / N, drainUs: drainUs / (N + singles), drainRate: (N + singles) / seconds };
}

for (let rep = 0; rep < REPS; rep++) {
  const figures = which === 'minimal' ? await minimalRun() : await docketRun();
  if (timing.size > 0) {
    const sorted = [...timing].sort((a, b) => b[1].us - a[1].us);
    for (const [label, { calls, us }] of sorted) {
      if (us / N >= 0.2)
        console.log(`${(us / N).toFixed(1).padStart(7)} µs/job ${String(calls).padStart(7)}  ${label}`);
    }
    timing.clear();
  }
  const rounded = Object.fromEntries(Object.entries(figures).map(([key, value]) => [key, Math.round(value)]));
  console.log(which, JSON.stringify(rounded));
}
