/**
 * `npm run bench:api`: the HTTP API under load, loopback only and bounded (a few seconds per
 * measure). On each engine: requests/s and p50/p99 latency of POST /jobs, GET /jobs/{id} and
 * GET /jobs?limit=50 with 100,000 jobs stored, each beside a bare Fastify route answering `{}`
 * measured in the same run (separate processes, same Node); then what job events cost a W2 drain
 * (10,000 no-op handler jobs, concurrency 10): without the event triggers, with them, and with
 * `docket serve` streaming to 100 connected /events clients. PostgreSQL runs when
 * DOCKET_BENCH_PG (or postgres://postgres@127.0.0.1:5432/postgres) answers.
 * Run after `npm run build` (the server is dist/cli.js).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
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
const PG_URL = process.env.DOCKET_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';

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
  const server = await startServe(where);
  try {
    const headers = { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' };
    const bare = await load(bareUrl);
    rows.push([
      engine,
      'bare Fastify GET / → {}',
      Math.round(bare.rps).toLocaleString('en-US'),
      `${bare.p50} / ${bare.p99}`,
      '1.00×',
      String(bare.errors),
    ]);
    log(`${engine}: POST /jobs`);
    row(
      engine,
      'POST /jobs',
      await load(`${server.url}/jobs`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ argv: ['true'], delay_sec: 86_400 }),
      }),
      bare,
    );
    log(`${engine}: GET /jobs/{id}`);
    row(engine, 'GET /jobs/{id}', await load(`${server.url}/jobs/54321`, { headers }), bare);
    log(`${engine}: GET /jobs?limit=50`);
    row(
      engine,
      `GET /jobs?limit=50 (${N_STORED / 1000}k stored)`,
      await load(`${server.url}/jobs?limit=50`, { headers }),
      bare,
    );
    row(
      engine,
      'GET /jobs?limit=50&status=pending&queue=default',
      await load(`${server.url}/jobs?limit=50&status=pending&queue=default&order=-created_at`, { headers }),
      bare,
    );
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

function drain(where: { home: string; db: string }): number {
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'bench', 'api-drain.ts'), where.home, where.db, String(N_DRAIN)],
    {
      env: serverEnv(where),
      encoding: 'utf8',
    },
  );
  if (result.status !== 0) throw new Error(`drain failed: ${result.stderr}`);
  return (JSON.parse(result.stdout.trim().split('\n').at(-1) as string) as { jobsPerSecond: number }).jobsPerSecond;
}

/** Opens `count` event streams; returns how many events they received so far and a closer. */
function openStreams(url: string, token: string, count: number): { received: () => number; close: () => void } {
  let events = 0;
  const requests = Array.from({ length: count }, () => {
    const outgoing = request(`${url}/events`, { headers: { authorization: `Bearer ${token}` } }, (response) => {
      response.on('data', (chunk: Buffer) => {
        events += chunk.toString().split('\nevent: job.').length - 1;
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
  const rates: Record<string, number[]> = { none: [], triggers: [], streaming: [] };
  let delivered = 0;
  for (let rep = 0; rep < 3; rep++) {
    for (const variant of ['none', 'triggers', 'streaming'] as const) {
      const where = store(engine, `w2${variant}`);
      await queueNoops(where);
      if (variant === 'none') await dropTriggers(where);
      if (variant !== 'streaming') {
        (rates[variant] as number[]).push(drain(where));
      } else {
        const server = await startServe(where);
        const streams = openStreams(server.url, server.token, SSE_CLIENTS);
        await new Promise((resolve) => setTimeout(resolve, 500));
        (rates.streaming as number[]).push(drain(where));
        // Let the server hand out the tail of the drain, then count.
        await new Promise((resolve) => setTimeout(resolve, 1500));
        delivered = streams.received();
        streams.close();
        await stop(server.child);
      }
      await dropSchema(where.db);
      log(`${engine} W2 ${variant}: ${Math.round((rates[variant] as number[]).at(-1) as number)} jobs/s`);
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[1] as number;
  const none = median(rates.none as number[]);
  for (const [variant, label] of [
    ['none', 'W2 drain, no event triggers (baseline)'],
    ['triggers', 'W2 drain, event triggers on'],
    ['streaming', `W2 drain, triggers + docket serve with ${SSE_CLIENTS} /events clients`],
  ] as const) {
    const value = median(rates[variant] as number[]);
    rows.push([
      engine,
      label,
      `${Math.round(value).toLocaleString('en-US')} jobs/s`,
      '',
      `${(value / none).toFixed(2)}×`,
      '',
    ]);
  }
  rows.push([
    engine,
    `job events delivered to ${SSE_CLIENTS} clients in the last streaming drain`,
    delivered.toLocaleString('en-US'),
    '',
    '',
    '',
  ]);
}

function printTable(): void {
  const header = ['engine', 'measure', 'req/s (or jobs/s)', 'p50 / p99 ms', 'ratio', 'non-2xx'];
  const widths = header.map((_, i) => Math.max(header[i]?.length ?? 0, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
  console.log(
    `\n${SECONDS} s per request measure, ${CONNECTIONS} connections (autocannon); W2 rates are medians of 3; ratios are to the bare route (requests) or to the drain without triggers (W2).`,
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
  for (const engine of engines) await benchEvents(engine);
  printTable();
}

try {
  await main();
} finally {
  for (const child of children) child.kill('SIGKILL');
  for (const dir of homes) rmSync(dir, { recursive: true, force: true });
}
