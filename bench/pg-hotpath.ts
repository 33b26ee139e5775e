/**
 * The PostgreSQL engine's hot path, measured in CPU rather than wall time (the machines here are
 * shared: wall time follows the load, CPU per job much less): W1 single, W1 bulk and a W2 drain
 * (N jobs queued, one in-process worker of concurrency 10, no-op handler), each with the client's
 * CPU (this process) and the server's (the backends serving this process, read from /proc), per job.
 *
 *   node --import tsx bench/pg-hotpath.ts [--n 10000] [--reps 3] [--only w1,bulk,w2] [--db postgres://…]
 *
 * The server must run on this machine (its backends' CPU is read from /proc/<pid>/stat).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { Docket } from '../src/docket.js';

const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '10000' },
    reps: { type: 'string', default: '3' },
    only: { type: 'string', default: 'w1,bulk,w2' },
    db: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
    profile: { type: 'string' },
    sql: { type: 'string' }, // experiments: run this after the schema is made (tables qualified by hand) // write a CPU profile of the measured part to this folder
  },
});
const N = Number(args.n);
const REPS = Number(args.reps);
const ONLY = new Set(args.only?.split(','));
const SCHEMA = `hotpath_${process.pid}`;
const APP = `docket:${SCHEMA}`; // the application_name of docket's pool connections (connection.ts)
const url = `${args.db}${args.db?.includes('?') ? '&' : '?'}schema=${SCHEMA}`;
const TICK_US = 10_000; // /proc times are in clock ticks of 10 ms

const admin = new pg.Client({ connectionString: args.db, application_name: 'docket-hotpath-admin' });
await admin.connect();

/** CPU (µs) of each backend serving this process, by pid. */
async function serverCpu(): Promise<Map<number, number>> {
  const { rows } = await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [
    APP,
  ]);
  const cpu = new Map<number, number>();
  for (const { pid } of rows) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      cpu.set(pid, (Number(fields[11]) + Number(fields[12])) * TICK_US);
    } catch {
      // gone meanwhile
    }
  }
  return cpu;
}

interface Sample {
  wallMs: number;
  clientUs: number;
  serverUs: number;
}

let profiles = 0;

async function measure(run: () => Promise<void>): Promise<Sample> {
  const session = args.profile ? new Session() : null;
  if (session) {
    session.connect();
    await post(session, 'Profiler.enable');
    await post(session, 'Profiler.start');
  }
  const server0 = await serverCpu();
  const client0 = process.cpuUsage();
  const t0 = performance.now();
  await run();
  const wallMs = performance.now() - t0;
  const client = process.cpuUsage(client0);
  const server1 = await serverCpu();
  if (session) {
    const { profile } = (await post(session, 'Profiler.stop')) as { profile: unknown };
    writeFileSync(
      join(args.profile as string, `hotpath-${process.pid}-${++profiles}.cpuprofile`),
      JSON.stringify(profile),
    );
    session.disconnect();
  }
  let serverUs = 0;
  for (const [pid, us] of server1) serverUs += us - (server0.get(pid) ?? 0);
  return { wallMs, clientUs: client.user + client.system, serverUs };
}

async function fresh(): Promise<{ docket: Docket; home: string }> {
  const home = mkdtempSync(join(tmpdir(), 'docket-hotpath-'));
  await admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  const docket = await Docket.open({ home, db: url, manageWorkers: false });
  docket.define({ name: 'bench', handler: () => undefined });
  await docket.saveTypes();
  if (args.sql) await admin.query(args.sql.replaceAll('SCHEMA', SCHEMA));
  await admin.query('CHECKPOINT');
  return { docket, home };
}

async function done(docket: Docket, home: string): Promise<void> {
  await docket.close();
  rmSync(home, { recursive: true, force: true });
}

const workloads: Record<string, () => Promise<Sample>> = {
  async w1() {
    const { docket, home } = await fresh();
    const n = Math.min(N, 3000);
    await docket.submit({ type: 'bench', params: { i: -1 } }); // warm: prepared statements
    const sample = await measure(async () => {
      for (let i = 0; i < n; i++) await docket.submit({ type: 'bench', params: { i } });
    });
    await done(docket, home);
    return per(sample, n);
  },
  async bulk() {
    const { docket, home } = await fresh();
    await docket.submitMany([{ type: 'bench', params: { i: -1 } }]);
    const sample = await measure(async () => {
      for (let i = 0; i < N; i += 1000) {
        await docket.submitMany(
          Array.from({ length: Math.min(1000, N - i) }, (_, k) => ({ type: 'bench', params: { i: i + k } })),
        );
      }
    });
    await done(docket, home);
    return per(sample, N);
  },
  async w2() {
    const { docket, home } = await fresh();
    for (let i = 0; i < N; i += 1000) {
      await docket.submitMany(
        Array.from({ length: Math.min(1000, N - i) }, (_, k) => ({ type: 'bench', params: { i: i + k } })),
      );
    }
    let ended = 0;
    let allEnded: () => void = () => {};
    const finished = new Promise<void>((resolve) => {
      allEnded = resolve;
    });
    const worker = docket.worker({
      concurrency: 10,
      queues: ['*'],
      onEvent: (event) => {
        if (event.kind === 'ended' && ++ended === N) allEnded();
      },
    });
    let running: Promise<void> = Promise.resolve();
    const sample = await measure(async () => {
      running = worker.run();
      await finished;
    });
    worker.stop();
    await running;
    const counts = await docket.counts();
    if (counts.completed !== N) throw new Error(`expected ${N} completed, found ${counts.completed}`);
    await done(docket, home);
    return per(sample, N);
  },
};

function per(sample: Sample, n: number): Sample {
  return { wallMs: sample.wallMs, clientUs: sample.clientUs / n, serverUs: sample.serverUs / n };
}

function post(session: Session, method: string): Promise<unknown> {
  return new Promise((resolve, reject) =>
    session.post(method, (error, result) => (error ? reject(error) : resolve(result))),
  );
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

console.log(`N=${N}, ${REPS} reps; load ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
console.log('| workload | jobs/s (median) | client µs/job | server µs/job | total CPU µs/job |');
console.log('|---|---:|---:|---:|---:|');
try {
  for (const [name, run] of Object.entries(workloads)) {
    if (!ONLY.has(name)) continue;
    const samples: Sample[] = [];
    for (let rep = 0; rep < REPS; rep++) samples.push(await run());
    const n = name === 'w1' ? Math.min(N, 3000) : N;
    const rate = median(samples.map((s) => (n / s.wallMs) * 1000));
    const client = median(samples.map((s) => s.clientUs));
    const server = median(samples.map((s) => s.serverUs));
    const total = median(samples.map((s) => s.clientUs + s.serverUs));
    console.log(`| ${name} | ${rate.toFixed(0)} | ${client.toFixed(0)} | ${server.toFixed(0)} | ${total.toFixed(0)} |`);
  }
} finally {
  await admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await admin.end();
}
console.log(`load ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
