/**
 * `npm run bench:api`: the HTTP API under load, loopback only and bounded (a few seconds per
 * measure). On each engine: requests/s and p50/p99 latency of POST /jobs, GET /jobs/{id} and
 * GET /jobs?limit=50 with 100,000 jobs stored, each beside a bare Fastify route answering `{}`
 * measured in the same run (separate processes, same Node); then what job events cost a W2 drain
 * (10,000 no-op handler jobs, concurrency 10): without the event triggers, with them, and with
 * `docket serve` streaming to 100 connected /events clients. PostgreSQL runs when
 * DOCKET_BENCH_PG (or postgres://postgres@127.0.0.1:5432/postgres) answers.
 * DOCKET_BENCH_SKIP_EVENTS=1 measures the requests only.
 * Run after `npm run build` (the server is dist/cli.js).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import Database from 'better-sqlite3';
import pg from 'pg';
import { Docket } from '../src/docket.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'docket.js');
const SECONDS = Number(process.env.DOCKET_BENCH_SECONDS ?? 5);
const CONNECTIONS = 10;
const N_STORED = 100_000;
const N_DRAIN = 10_000;
const SSE_CLIENTS = 100;
const REPS = Number(process.env.DOCKET_BENCH_REPS ?? 3);
const CLOCK_TICKS = 100; // USER_HZ of /proc/<pid>/stat on Linux
const PG_URL = process.env.DOCKET_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const LOAD_AT_START = loadavg()[0] ?? 0;
const children = new Set<ChildProcess>();
const homes: string[] = [];
const rows: string[][] = [];

function log(text: string): void {
  process.stderr.write(`${text}\n`);
}

function home(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `docket-bench-api-${label}-`));
  homes.push(dir);
  return dir;
}

/** Starts a process that prints a URL; resolves with it. */
function startPrinting(
  args: string[],
  env: NodeJS.ProcessEnv,
  pattern: RegExp,
): Promise<{ child: ChildProcess; match: RegExpExecArray; output: () => string }> {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk;
      const match = pattern.exec(output);
      if (match) resolve({ child, match, output: () => output });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code}: ${output}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
  children.delete(child);
}

const BARE = `
const fastify = (await import(${JSON.stringify(join(ROOT, 'node_modules', 'fastify', 'fastify.js'))})).default();
fastify.get('/', async () => ({}));
const address = await fastify.listen({ host: '127.0.0.1', port: 0 });
console.log('bare ' + address);
`;

interface Load {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

async function load(url: string, options: Partial<autocannon.Options> = {}): Promise<Load> {
  const result = await autocannon({ url, connections: CONNECTIONS, duration: SECONDS, ...options });
  const bad = result.non2xx + result.errors + result.timeouts;
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors: bad };
}

function row(engine: string, measure: string, value: Load, bare: Load): void {
  rows.push([
    engine,
    measure,
    Math.round(value.rps).toLocaleString('en-US'),
    `${value.p50} / ${value.p99}`,
    `${(value.rps / bare.rps).toFixed(2)}×`,
    String(value.errors),
    '',
  ]);
}

async function pgAnswers(): Promise<boolean> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

function pgSchemaUrl(label: string): string {
  const url = new URL(PG_URL);
  url.searchParams.set('schema', `bench_api_${label}_${process.pid}`);
  return url.toString();
}

async function dropSchema(db: string): Promise<void> {
  if (!db.startsWith('postgres')) return;
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${new URL(db).searchParams.get('schema')} CASCADE`);
  await client.end();
}

/**
 * PostgreSQL: gathers the planner's statistics of the bulk-loaded jobs, as autovacuum does a
 * little later on its own. Without them the planner takes the 100,000 fresh rows for one and
 * sorts every match of a filtered page (130 ms) instead of reading the newest 50 (0.05 ms).
 */
async function analyze(db: string): Promise<void> {
  if (!db.startsWith('postgres')) return;
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  await client.query(`ANALYZE ${new URL(db).searchParams.get('schema')}.jobs`);
  await client.end();
}

/** The store of one measure: a SQLite file in a fresh home, or a schema of its own. */
function store(engine: string, label: string): { home: string; db: string } {
  const dir = home(label);
  return { home: dir, db: engine === 'sqlite' ? join(dir, 'docket.db') : pgSchemaUrl(label) };
}

function serverEnv(where: { home: string; db: string }): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('DOCKET_')));
  return { ...env, DOCKET_HOME: where.home, DOCKET_DB: where.db, DOCKET_ON_DEMAND: '0', DOCKET_LOG_LEVEL: 'error' };
}

async function startServe(where: { home: string; db: string }) {
  const started = await startPrinting(
    [BIN, 'serve', '--port', '0'],
    serverEnv(where),
    /docket serving (http:\S+)[\s\S]*\?token=(dkt_[A-Za-z0-9_-]+)/,
  );
  return { child: started.child, url: started.match[1] as string, token: started.match[2] as string };
}

// ── requests ───────────────────────────────────────────────────────────────────────────────────

async function benchRequests(engine: string, bareUrl: string): Promise<void> {
  const where = store(engine, 'req');
  log(`${engine}: storing ${N_STORED.toLocaleString('en-US')} jobs`);
  const docket = await Docket.open({ home: where.home, db: where.db, manageWorkers: false });
  const later = Date.now() + 86_400_000;
  for (let done = 0; done < N_STORED; done += 1000) {
    await docket.submitMany(
      Array.from({ length: 1000 }, (_, i) => ({ argv: ['true'], runAt: later, name: `job-${done + i}` })),
    );
  }
  await docket.close();
  await analyze(where.db);
  const server = await startServe(where);
  try {
    const headers = { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' };
    // The bare route is measured right before each measure: its ratio compares the two under the
    // same load of the (shared) machine.
    const bares: Load[] = [];
    const measure = async (label: string, path: string, options: Partial<autocannon.Options> = {}) => {
      log(`${engine}: ${label}`);
      const bare = await load(bareUrl);
      bares.push(bare);
      row(engine, label, await load(`${server.url}${path}`, { headers, ...options }), bare);
    };
    await measure('POST /jobs', '/jobs', {
      method: 'POST',
      body: JSON.stringify({ argv: ['true'], delay_sec: 86_400 }),
    });
    await measure('GET /jobs/{id}', '/jobs/54321');
    await measure(`GET /jobs?limit=50 (${N_STORED / 1000}k stored)`, '/jobs?limit=50');
    await measure(
      'GET /jobs?limit=50&status=pending&queue=default',
      '/jobs?limit=50&status=pending&queue=default&order=-created_at',
    );
    const bare = [...bares].sort((a, b) => a.rps - b.rps)[Math.floor(bares.length / 2)] as Load;
    rows.push([
      engine,
      'bare Fastify GET / → {} (median of the runs beside each measure)',
      Math.round(bare.rps).toLocaleString('en-US'),
      `${bare.p50} / ${bare.p99}`,
      '1.00×',
      String(bare.errors),
      '',
    ]);
  } finally {
    await stop(server.child);
    await dropSchema(where.db);
  }
}

// ── events and the W2 drain ────────────────────────────────────────────────────────────────────

async function queueNoops(where: { home: string; db: string }): Promise<void> {
  const docket = await Docket.open({ home: where.home, db: where.db, manageWorkers: false });
  docket.define({ name: 'noop', handler: () => undefined });
  for (let done = 0; done < N_DRAIN; done += 1000)
    await docket.submitMany(Array.from({ length: 1000 }, () => ({ type: 'noop' })));
  await docket.close();
}

/** Drops the event triggers (the baseline: a store without an event log). */
async function dropTriggers(where: { db: string }): Promise<void> {
  if (where.db.startsWith('postgres')) {
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    const schema = new URL(where.db).searchParams.get('schema');
    await client.query(
      `DROP TRIGGER jobs_events_insert ON ${schema}.jobs; DROP TRIGGER jobs_events_update ON ${schema}.jobs`,
    );
    await client.end();
    return;
  }
  const db = new Database(where.db);
  db.exec('DROP TRIGGER jobs_event_created; DROP TRIGGER jobs_event_state; DROP TRIGGER jobs_event_progress;');
  db.close();
}

interface Drain {
  jobsPerSecond: number;
  /** CPU of docket's processes per job: the drain's (on SQLite, every store write), plus the server's when it streams. */
  cpuMsPerJob: number;
}

function drain(where: { home: string; db: string }): Drain {
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'bench', 'api-drain.ts'), where.home, where.db, String(N_DRAIN)],
    {
      env: serverEnv(where),
      encoding: 'utf8',
    },
  );
  if (result.status !== 0) throw new Error(`drain failed: ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').at(-1) as string) as Drain;
}

/** User + system CPU milliseconds a process has used so far (Linux /proc; 0 elsewhere). */
function cpuMs(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

const EVENT_MARK = Buffer.from('\nevent: job.');

/** Opens `count` event streams; returns how many events they received so far and a closer. */
function openStreams(url: string, token: string, count: number): { received: () => number; close: () => void } {
  let events = 0;
  const requests = Array.from({ length: count }, () => {
    const outgoing = request(`${url}/events`, { headers: { authorization: `Bearer ${token}` } }, (response) => {
      // Counted in the bytes (no decoding): these clients share the machine with the drain.
      response.on('data', (chunk: Buffer) => {
        for (let at = chunk.indexOf(EVENT_MARK); at >= 0; at = chunk.indexOf(EVENT_MARK, at + 1)) events++;
      });
    });
    outgoing.on('error', () => {});
    outgoing.end();
    return outgoing;
  });
  return {
    received: () => events,
    close: () => {
      for (const r of requests) r.destroy();
    },
  };
}

async function benchEvents(engine: string): Promise<void> {
  const runs: Record<string, Drain[]> = { none: [], triggers: [], streaming: [] };
  let delivered = 0;
  // Variants alternate within each repetition, so a change of the machine's load hits all three.
  for (let rep = 0; rep < REPS; rep++) {
    for (const variant of ['none', 'triggers', 'streaming'] as const) {
      const where = store(engine, `w2${variant}`);
      await queueNoops(where);
      if (variant === 'none') await dropTriggers(where);
      if (variant !== 'streaming') {
        runs[variant]?.push(drain(where));
      } else {
        const server = await startServe(where);
        const streams = openStreams(server.url, server.token, SSE_CLIENTS);
        await new Promise((resolve) => setTimeout(resolve, 500));
        const serverBefore = cpuMs(server.child.pid);
        const result = drain(where);
        // Let the server hand out the tail of the drain, then count.
        await new Promise((resolve) => setTimeout(resolve, 1500));
        result.cpuMsPerJob += (cpuMs(server.child.pid) - serverBefore) / N_DRAIN;
        runs.streaming?.push(result);
        delivered = streams.received();
        streams.close();
        await stop(server.child);
      }
      await dropSchema(where.db);
      const last = runs[variant]?.at(-1) as Drain;
      log(
        `${engine} W2 ${variant}: ${Math.round(last.jobsPerSecond)} jobs/s, ${last.cpuMsPerJob.toFixed(3)} ms CPU/job`,
      );
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
  const rate = (variant: string) => median((runs[variant] ?? []).map((run) => run.jobsPerSecond));
  const cpu = (variant: string) => median((runs[variant] ?? []).map((run) => run.cpuMsPerJob));
  for (const [variant, label] of [
    ['none', 'W2 drain, no event triggers (baseline)'],
    ['triggers', 'W2 drain, event triggers on'],
    ['streaming', `W2 drain, triggers + docket serve with ${SSE_CLIENTS} /events clients`],
  ] as const) {
    rows.push([
      engine,
      label,
      `${Math.round(rate(variant)).toLocaleString('en-US')} jobs/s`,
      '',
      `${(rate(variant) / rate('none')).toFixed(2)}×`,
      '',
      `${cpu(variant).toFixed(3)} (${(cpu(variant) / cpu('none')).toFixed(2)}×)`,
    ]);
  }
  rows.push([
    engine,
    `job events delivered to ${SSE_CLIENTS} clients in the last streaming drain`,
    delivered.toLocaleString('en-US'),
    '',
    '',
    '',
    '',
  ]);
}

function printTable(): void {
  const header = ['engine', 'measure', 'req/s (or jobs/s)', 'p50 / p99 ms', 'ratio', 'non-2xx', 'CPU ms/job'];
  const widths = header.map((_, i) => Math.max(header[i]?.length ?? 0, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
  console.log(
    `\n${SECONDS} s per request measure, ${CONNECTIONS} connections (autocannon); W2 figures are medians of ${REPS}; ratios are to the bare route measured just before (requests) or to the drain without triggers (W2). CPU ms/job: docket's processes only (on PostgreSQL the database server's CPU is not in it). Load average (1 min) at the start ${LOAD_AT_START.toFixed(1)}, at the end ${loadavg()[0]?.toFixed(1)}.`,
  );
}

async function main(): Promise<void> {
  const engines = ['sqlite'];
  if (await pgAnswers()) engines.push('postgres');
  else log(`PostgreSQL at ${PG_URL} does not answer: measuring SQLite only`);
  const bare = await startPrinting(['--input-type=module', '-e', BARE], process.env, /bare (http:\S+)/);
  try {
    for (const engine of engines) await benchRequests(engine, bare.match[1] as string);
  } finally {
    await stop(bare.child);
  }
  if (!process.env.DOCKET_BENCH_SKIP_EVENTS) for (const engine of engines) await benchEvents(engine);
  printTable();
}

try {
  await main();
} finally {
  for (const child of children) child.kill('SIGKILL');
  for (const dir of homes) rmSync(dir, { recursive: true, force: true });
}
