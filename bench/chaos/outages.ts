/**
 * Chaos: the database goes away under draining workers. On PostgreSQL every backend of the
 * workers is terminated (pg_terminate_backend), again and again; on SQLite another process holds
 * the file with BEGIN EXCLUSIVE for a few seconds, again and again. Nothing may be lost, nothing
 * may run twice at once, and no worker may die of it.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { allJobs, checkDrain, readRuns } from './checks.js';
import { type ChaosStore, commandJob, handlerJob, pause, ROOT, submitAll, until, type WorkerPool } from './store.js';
import { brokenWorker, deathTimes, defineChaosTypes, type ScenarioResult, waitRegistered } from './workers.js';

export interface OutageOptions {
  commands: number;
  handlers: number;
  concurrency: number;
  /** How many cuts (PostgreSQL) or locks (SQLite) at most; the drain then finishes undisturbed. */
  outages: number;
  /** How long SQLite stays locked each time. */
  lockMs: number;
  jobMs: number;
}

export async function outages(store: ChaosStore, pool: WorkerPool, options: OutageOptions): Promise<ScenarioResult> {
  const violations: string[] = [];
  const setup = await store.open();
  defineChaosTypes(setup);
  const ids = await submitAll(setup, [
    ...Array.from({ length: options.commands }, () => commandJob(store, options.jobMs)),
    ...Array.from({ length: options.handlers }, () => handlerJob(store, options.jobMs)),
  ]);
  const schema = (setup.engine as unknown as { schema?: string }).schema;
  await waitRegisteredAfterStart(setup, pool);
  // The harness's own connections would be cut too: it watches with a connection of its own.
  await setup.close();
  const monitor = await Monitor.connect(store, schema);
  const started = Date.now();
  let count = 0;
  let terminated = 0;
  try {
    while (count < options.outages && (await monitor.completed()) < ids.length) {
      for (const worker of pool.replaceBroken()) violations.push(brokenWorker(pool, worker));
      await pause(300 + Math.random() * 1200);
      count++;
      if (store.engine === 'postgres') terminated += await monitor.cutWorkers();
      else await lockFor(store.db, options.lockMs);
    }
    await until(
      'every job to complete',
      async () => {
        pool.assertLive();
        for (const worker of pool.replaceBroken()) violations.push(brokenWorker(pool, worker));
        return (await monitor.completed()) === ids.length;
      },
      600_000,
    ).catch((error: Error) => violations.push(`the drain did not finish: ${error.message}`));
  } finally {
    await monitor.close();
  }
  const elapsed = (Date.now() - started) / 1000;
  for (const worker of pool.unexpectedExits()) {
    violations.push(`worker ${worker.pid} exited by itself (${JSON.stringify(worker.exit)}): ${pool.tail(worker)}`);
  }
  await pool.stopAll();
  for (const worker of pool.all) {
    if (worker.exit?.code !== 0)
      violations.push(`worker ${worker.pid} did not shut down cleanly: ${JSON.stringify(worker.exit)}`);
    const locked = readFileSync(worker.log, 'utf8').match(/database is locked|SQLITE_BUSY/g);
    if (locked) violations.push(`worker ${worker.pid} saw "database is locked" ${locked.length} times`);
  }
  const deaths = deathTimes(pool);
  const docket = await store.open();
  try {
    const check = checkDrain(await allJobs(docket), ids, readRuns(store.runs), deaths);
    violations.push(...check.violations);
    return {
      violations,
      figures: {
        jobs: `${options.commands} commands + ${options.handlers} handlers`,
        workers: `${pool.all.length} × concurrency ${options.concurrency}`,
        ...(store.engine === 'postgres'
          ? { 'connection cuts': count, 'backends terminated': terminated }
          : { 'exclusive locks': count, 'each held (s)': options.lockMs / 1000 }),
        'drain (s)': elapsed.toFixed(1),
        'executions lost and retried': check.figures.extraExecutions,
        'real runs (runs file)': check.figures.realRuns,
      },
    };
  } finally {
    await docket.close();
  }
}

async function waitRegisteredAfterStart(docket: Awaited<ReturnType<ChaosStore['open']>>, pool: WorkerPool) {
  pool.start();
  pool.start();
  await waitRegistered(docket, pool);
}

/** Another process holds the SQLite file with BEGIN EXCLUSIVE for `ms`, then lets go. */
async function lockFor(file: string, ms: number): Promise<void> {
  const script = `
    const Database = require('better-sqlite3');
    const db = new Database(${JSON.stringify(file)}, { timeout: 60000 });
    db.exec('BEGIN EXCLUSIVE');
    setTimeout(() => { db.exec('COMMIT'); db.close(); }, ${ms});
  `;
  const child = spawn(process.execPath, ['-e', script], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const code = await new Promise((resolve) => child.once('close', resolve));
  if (code !== 0) throw new Error(`the locking process failed: ${stderr}`);
}

/** Counts completed jobs without going through docket (whose connections are being cut). */
class Monitor {
  private constructor(
    private readonly schema: string | undefined,
    private readonly client: pg.Client | null,
    private readonly docket: Awaited<ReturnType<ChaosStore['open']>> | null,
  ) {}

  static async connect(store: ChaosStore, schema: string | undefined): Promise<Monitor> {
    if (store.engine === 'sqlite') return new Monitor(schema, null, await store.open());
    const client = new pg.Client({ connectionString: store.db, application_name: 'chaos-monitor' });
    await client.connect();
    return new Monitor(schema, client, null);
  }

  async completed(): Promise<number> {
    if (this.docket) return (await this.docket.counts()).completed;
    const { rows } = await (this.client as pg.Client).query(
      `SELECT count(*)::int AS n FROM "${this.schema}".jobs WHERE status = 'completed'`,
    );
    return rows[0].n as number;
  }

  /** Terminates every backend of the store's workers (their pools and LISTEN connections). */
  async cutWorkers(): Promise<number> {
    const { rows } = await (this.client as pg.Client).query(
      `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
        WHERE application_name LIKE 'docket%' AND application_name LIKE '%:' || $1`,
      [this.schema],
    );
    return rows[0].n as number;
  }

  async close(): Promise<void> {
    await this.client?.end();
    await this.docket?.close();
  }
}
