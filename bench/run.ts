/**
 * docket's own benchmark: the workloads of PERFORMANCE.md that concern the embedded (SQLite) engine
 * and local commands — W1 enqueue, L1 CLI, C1 commands, `docket run` and S1 scale — each beside a reference
 * measured in the same run, because the machines are shared and noisy: ratios travel, absolute
 * figures do not. Run with `npm run bench` (after `npm run build`: the CLI figures use dist/).
 *
 * Every workload gets a fresh DOCKET_HOME under the system temp folder; all of them, and every
 * process started here (or by docket on our behalf), are gone when the script ends.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import type { JobSpec } from '../src/core/words.js';
import { Docket } from '../src/docket.js';
import { openMinimalQueue } from './minimal-sqlite.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'docket.js');
const GNU_TIME = '/usr/bin/time';

const REPS = 3; // throughput workloads: median of this many
const CLI_REPS = 5; // one-shot CLI calls: median of this many
const WARM_RUNS = 10;
const N_W1 = 10_000;
const BULK_CHUNK = 1_000;
const N_L1 = 100_000;
const N_C1 = 1_000;
const C1_CONCURRENCY = 2;
/** The no-op job of every workload: a command job that runs `true`. */
const NOOP: JobSpec = { argv: ['true'] };

// ── bookkeeping: what to clean up ──────────────────────────────────────────────────────────────

const homes = new Set<string>();
/** Processes that may outlive their workload if something throws: stopped at the end. */
const strays = new Set<number>();

function makeHome(label: string): string {
  const home = mkdtempSync(join(tmpdir(), `docket-bench-${label}-`));
  homes.add(home);
  return home;
}

function removeHome(home: string): void {
  rmSync(home, { recursive: true, force: true });
  homes.delete(home);
}

const dbOf = (home: string) => join(home, 'docket.db');

/** The caller's environment without DOCKET_* (a stray DOCKET_DB would send us to the wrong file). */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('DOCKET_')));
  return { ...env, ...extra };
}

/** A library handle that never starts workers, so only what a workload starts runs. */
function openDocket(home: string): Promise<Docket> {
  return Docket.open({ home, db: dbOf(home), env: cleanEnv(), manageWorkers: false });
}

/** Global CLI flags that pin a command to one home and database. */
const homeArgs = (home: string) => ['--home', home, '--db', dbOf(home)];

// ── small helpers ──────────────────────────────────────────────────────────────────────────────

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 120_000, pollMs = 10) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(pollMs);
  }
}

async function assertStored(docket: Docket, expected: number): Promise<void> {
  const { total } = await docket.counts();
  if (total !== expected) throw new Error(`expected ${expected} jobs stored, found ${total}`);
}

/** True while the process runs. A zombie counts as gone: the PID 1 of a container may never reap it. */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return true; // no /proc (macOS): signal 0 is all there is
  }
}

function log(text: string): void {
  process.stdout.write(`${text}\n`);
}

const jobsPerSecond = (n: number, ms: number) => (n * 1000) / ms;

// ── results ────────────────────────────────────────────────────────────────────────────────────

type Unit = 'jobs/s' | 'ms' | 'MB';

interface Row {
  workload: string;
  measure: string;
  value: number;
  unit: Unit;
  /** A figure measured in this run that the value is compared with. */
  reference?: { label: string; value: number };
  /** The goal from PERFORMANCE.md; `met` only where it gives a number to check. */
  target?: { text: string; met?: (row: Row) => boolean };
}

const rows: Row[] = [];

function format(value: number, unit: Unit): string {
  if (unit === 'MB') return `${value.toFixed(1)} MB`;
  const digits = unit === 'ms' && value < 100 ? 1 : 0;
  return `${value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })} ${unit}`;
}

function ratio(row: Row): number | null {
  return row.reference ? row.value / row.reference.value : null;
}

function record(row: Row): void {
  rows.push(row);
  const reference = row.reference ? `  (${row.reference.label}: ${format(row.reference.value, row.unit)})` : '';
  log(`  → ${row.workload} · ${row.measure}: ${format(row.value, row.unit)}${reference}`);
}

function printTable(): void {
  log('\n| workload | measure | docket | reference (same run) | ratio | target | met |');
  log('|---|---|---:|---|---:|---|:-:|');
  for (const row of rows) {
    const reference = row.reference ? `${row.reference.label}: ${format(row.reference.value, row.unit)}` : '—';
    const r = ratio(row);
    const met = row.target?.met ? (row.target.met(row) ? 'yes' : '**no**') : '—';
    log(
      `| ${row.workload} | ${row.measure} | ${format(row.value, row.unit)} | ${reference} | ` +
        `${r === null ? '—' : `${r.toFixed(2)}×`} | ${row.target?.text ?? '—'} | ${met} |`,
    );
  }
}

const atLeast = (share: number) => ({ text: `≥ ${share}× reference`, met: (row: Row) => (ratio(row) ?? 0) >= share });
const under = (ms: number) => ({ text: `< ${ms} ms`, met: (row: Row) => row.value < ms });

// ── W1 enqueue ─────────────────────────────────────────────────────────────────────────────────

/** Jobs/s of `n` awaited docket.submit() calls, or of submitMany() in chunks, into a fresh store. */
async function docketEnqueue(n: number, bulk: boolean): Promise<number> {
  const home = makeHome('w1');
  const docket = await openDocket(home);
  try {
    const start = performance.now();
    if (bulk) {
      for (let done = 0; done < n; done += BULK_CHUNK) {
        await docket.submitMany(Array.from({ length: Math.min(BULK_CHUNK, n - done) }, () => NOOP));
      }
    } else {
      for (let i = 0; i < n; i++) await docket.submit(NOOP);
    }
    const rate = jobsPerSecond(n, performance.now() - start);
    await assertStored(docket, n);
    return rate;
  } finally {
    await docket.close();
    removeHome(home);
  }
}

/**
 * The reference: the minimal SQLite queue of ../shared/bench (sqlite-baseline adapter) — one table,
 * WAL, synchronous=NORMAL, a prepared INSERT per job (awaited, as a queue API would be) or one
 * transaction per chunk.
 */
async function minimalEnqueue(n: number, bulk: boolean): Promise<number> {
  const home = makeHome('w1-ref');
  const db = openMinimalQueue(join(home, 'minimal.db'));
  try {
    const insert = db.prepare('INSERT INTO jobs (payload, priority, created_at) VALUES (?, 0, ?)');
    const add = async (i: number) => void insert.run(JSON.stringify({ i }), Date.now());
    const addMany = db.transaction((from: number, count: number) => {
      const now = Date.now();
      for (let i = from; i < from + count; i++) insert.run(JSON.stringify({ i }), now);
    });
    const start = performance.now();
    if (bulk) for (let done = 0; done < n; done += BULK_CHUNK) addMany(done, Math.min(BULK_CHUNK, n - done));
    else for (let i = 0; i < n; i++) await add(i);
    const rate = jobsPerSecond(n, performance.now() - start);
    const stored = db.prepare('SELECT count(*) FROM jobs').pluck().get();
    if (stored !== n) throw new Error(`reference queue stored ${stored} jobs, expected ${n}`);
    return rate;
  } finally {
    db.close();
    removeHome(home);
  }
}

async function benchW1(): Promise<void> {
  for (const bulk of [false, true]) {
    const name = bulk ? 'W1 bulk' : 'W1 single';
    log(`\n${name}: N=${N_W1.toLocaleString('en-US')}${bulk ? `, chunks of ${BULK_CHUNK}` : ''}, ${REPS} reps`);
    const docket: number[] = [];
    const minimal: number[] = [];
    for (let rep = 1; rep <= REPS; rep++) {
      docket.push(await docketEnqueue(N_W1, bulk));
      minimal.push(await minimalEnqueue(N_W1, bulk));
      log(
        `  rep ${rep}: docket ${format(docket.at(-1) ?? 0, 'jobs/s')}, minimal ${format(minimal.at(-1) ?? 0, 'jobs/s')}`,
      );
    }
    record({
      workload: name,
      measure: bulk ? `submitMany(), chunks of ${BULK_CHUNK}` : 'awaited submit() per job',
      value: median(docket),
      unit: 'jobs/s',
      reference: { label: 'minimal SQLite queue', value: median(minimal) },
      target: atLeast(bulk ? 0.5 : 0.25),
    });
  }
}

// ── L1 CLI with 100,000 jobs ───────────────────────────────────────────────────────────────────

interface CliSample {
  wallMs: number;
  maxRssKb: number;
}

/** How peak memory is read: GNU time where it exists, else a preload that reports the child's own maxRSS. */
const rssProbe = existsSync(GNU_TIME) ? 'GNU time (%M)' : 'process.resourceUsage() in a --require preload';

/** Runs `node <args>` once; wall time seen from here, peak RSS as the child's kernel accounting says. */
function timeNode(args: string[], env: NodeJS.ProcessEnv, scratch: string): CliSample {
  const out = join(scratch, 'rss.out');
  rmSync(out, { force: true });
  const [command, argv] = existsSync(GNU_TIME)
    ? [GNU_TIME, ['-f', '%M', '-o', out, process.execPath, ...args]]
    : [process.execPath, ['--require', rssPreload(scratch, out), ...args]];
  const start = performance.now();
  const result = spawnSync(command, argv, { env, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
  const wallMs = performance.now() - start;
  if (result.status !== 0) {
    throw new Error(`node ${args.join(' ')} exited ${result.status}: ${result.stderr.toString().trim()}`);
  }
  const lines = readFileSync(out, 'utf8').trim().split('\n');
  return { wallMs, maxRssKb: Number(lines.at(-1)) };
}

/** The fallback probe: writes process.resourceUsage().maxRSS (kB) to `out` as the child exits. */
function rssPreload(scratch: string, out: string): string {
  const path = join(scratch, 'rss-preload.cjs');
  writeFileSync(
    path,
    `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(out)}, String(process.resourceUsage().maxRSS)));\n`,
  );
  return path;
}

/** Medians of CLI_REPS runs of `node <args>`. */
function medianRun(args: string[], env: NodeJS.ProcessEnv, scratch: string): CliSample {
  const samples = Array.from({ length: CLI_REPS }, () => timeNode(args, env, scratch));
  return {
    wallMs: median(samples.map((sample) => sample.wallMs)),
    maxRssKb: median(samples.map((sample) => sample.maxRssKb)),
  };
}

/** A store of N_L1 command jobs, all but 1 % completed; returns the bulk submit rate it saw. */
async function seedHistory(home: string): Promise<number> {
  const docket = await openDocket(home);
  let rate: number;
  try {
    const start = performance.now();
    for (let done = 0; done < N_L1; done += BULK_CHUNK) {
      await docket.submitMany(Array.from({ length: BULK_CHUNK }, () => NOOP));
    }
    rate = jobsPerSecond(N_L1, performance.now() - start);
    await assertStored(docket, N_L1);
  } finally {
    await docket.close();
  }
  // Finishing 99 % straight in SQL is a seeding shortcut: running 100,000 jobs would take minutes.
  const db = new Database(dbOf(home));
  db.prepare(
    "UPDATE jobs SET status = 'completed', started_at = created_at, ended_at = created_at WHERE id % 100 != 0",
  ).run();
  db.close();
  return rate;
}

async function benchL1(): Promise<void> {
  log(`\nL1 CLI: ${N_L1.toLocaleString('en-US')} jobs (99 % completed) vs a 1-job store; median of ${CLI_REPS} runs`);
  log(`  peak memory read with ${rssProbe}; DOCKET_ON_DEMAND=0, so no worker starts`);
  const full = makeHome('l1');
  const small = makeHome('l1-small');
  try {
    log(`  seeded with submitMany(): ${format(await seedHistory(full), 'jobs/s')}`);
    const one = await openDocket(small);
    await one.submit(NOOP);
    await one.close();
    const env = cleanEnv({ DOCKET_ON_DEMAND: '0' });
    const node = medianRun(['-e', '0'], env, full);
    record({ workload: 'L1', measure: 'node -e 0 (Node start, for scale)', value: node.wallMs, unit: 'ms' });
    const help = medianRun([BIN, '--help'], env, full);
    record({ workload: 'L1', measure: 'docket --help (CLI start, for scale)', value: help.wallMs, unit: 'ms' });
    const commands: [string, (id: number) => string[], number | null][] = [
      ['list', () => ['list'], 250],
      ['status', (id) => ['status', String(id)], 250],
      ['submit -- true', () => ['submit', '--', 'true'], null],
    ];
    // Ids divisible by 100 stayed pending: the middle one + 1 is a completed job.
    for (const [name, args, limitMs] of commands) {
      const big = medianRun([BIN, ...homeArgs(full), ...args(N_L1 / 2 + 1)], env, full);
      const base = medianRun([BIN, ...homeArgs(small), ...args(1)], env, small);
      record({
        workload: 'L1',
        measure: `docket ${name}, wall`,
        value: big.wallMs,
        unit: 'ms',
        reference: { label: '1-job store', value: base.wallMs },
        ...(limitMs !== null && { target: under(limitMs) }),
      });
      record({
        workload: 'L1',
        measure: `docket ${name}, peak RSS`,
        value: big.maxRssKb / 1024,
        unit: 'MB',
        reference: { label: '1-job store', value: base.maxRssKb / 1024 },
        target: { text: 'no growth with jobs' },
      });
    }
  } finally {
    removeHome(full);
    removeHome(small);
  }
}

// ── C1 commands ────────────────────────────────────────────────────────────────────────────────

/** Jobs/s of N_C1 queued `true` jobs through an in-process worker, from its start to all recorded completed. */
async function docketCommands(): Promise<number> {
  const home = makeHome('c1');
  const docket = await openDocket(home);
  try {
    await docket.submitMany(Array.from({ length: N_C1 }, () => NOOP));
    const worker = docket.worker({ concurrency: C1_CONCURRENCY, queues: ['*'] });
    const start = performance.now();
    const running = worker.run();
    await until('every C1 job to complete', async () => (await docket.counts()).completed === N_C1);
    const rate = jobsPerSecond(N_C1, performance.now() - start);
    worker.stop();
    await running;
    const jobs = await docket.list({});
    const wrong = jobs.filter((job) => job.status !== 'completed' || job.attempts !== 1);
    if (jobs.length !== N_C1 || wrong.length > 0) {
      throw new Error(`C1: ${jobs.length} jobs, ${wrong.length} not completed exactly once`);
    }
    return rate;
  } finally {
    await docket.close();
    removeHome(home);
  }
}

function spawnTrue(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('true', [], { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`true exited ${code}`))));
  });
}

/** The physical limit: N_C1 spawns of `true`, C1_CONCURRENCY at a time, nothing else. */
async function plainSpawns(): Promise<number> {
  let started = 0;
  const lane = async () => {
    while (started < N_C1) {
      started++;
      await spawnTrue();
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: C1_CONCURRENCY }, lane));
  return jobsPerSecond(N_C1, performance.now() - start);
}

async function benchC1(): Promise<void> {
  log(`\nC1 commands: ${N_C1} \`true\` jobs, concurrency ${C1_CONCURRENCY}, ${REPS} reps`);
  const docket: number[] = [];
  const plain: number[] = [];
  for (let rep = 1; rep <= REPS; rep++) {
    docket.push(await docketCommands());
    plain.push(await plainSpawns());
    log(
      `  rep ${rep}: docket ${format(docket.at(-1) ?? 0, 'jobs/s')}, spawn loop ${format(plain.at(-1) ?? 0, 'jobs/s')}`,
    );
  }
  record({
    workload: 'C1',
    measure: `in-process worker, concurrency ${C1_CONCURRENCY}`,
    value: median(docket),
    unit: 'jobs/s',
    reference: { label: 'plain spawn loop', value: median(plain) },
    target: atLeast(0.7),
  });
}

// ── docket run -- true ─────────────────────────────────────────────────────────────────────────

/** Live workers registered in the store, by pid. */
async function workerPids(docket: Docket): Promise<number[]> {
  return (await docket.engine.listWorkers()).map((worker) => worker.pid).filter(isRunning);
}

/**
 * Cold: no worker runs. `docket run` then runs its job in its own process (no second process to
 * start); a worker left behind afterwards would be a defect, so it fails the benchmark.
 */
async function runCold(home: string, docket: Docket, env: NodeJS.ProcessEnv): Promise<CliSample> {
  const samples: CliSample[] = [];
  for (let rep = 0; rep < CLI_REPS; rep++) {
    if ((await workerPids(docket)).length > 0) throw new Error('a worker is still running before a cold run');
    samples.push(timeNode([BIN, ...homeArgs(home), 'run', '--', 'true'], env, home));
    const pids = await workerPids(docket);
    for (const pid of pids) strays.add(pid);
    if (pids.length > 0) throw new Error('docket run left a worker running after a cold run');
  }
  return { wallMs: median(samples.map((s) => s.wallMs)), maxRssKb: median(samples.map((s) => s.maxRssKb)) };
}

/** Warm: a `docket worker` already waits; each run submits, wakes it, follows the job to its end and exits. */
async function runWarm(home: string, docket: Docket, env: NodeJS.ProcessEnv): Promise<CliSample> {
  const worker = spawn(process.execPath, [BIN, ...homeArgs(home), 'worker'], { env, stdio: 'ignore' });
  const pid = worker.pid as number;
  strays.add(pid);
  try {
    await until('the background worker to register', async () => {
      const workers = await docket.engine.listWorkers();
      return workers.some((info) => info.pid === pid && info.wakeAddress !== null);
    });
    const samples = Array.from({ length: WARM_RUNS }, () =>
      timeNode([BIN, ...homeArgs(home), 'run', '--', 'true'], env, home),
    );
    const others = (await workerPids(docket)).filter((other) => other !== pid);
    if (others.length > 0) throw new Error(`warm runs started ${others.length} more worker(s)`);
    return { wallMs: median(samples.map((s) => s.wallMs)), maxRssKb: median(samples.map((s) => s.maxRssKb)) };
  } finally {
    await stopChild(worker);
  }
}

/** Stops a child of ours gracefully and waits for its exit (so it is reaped, not left a zombie). */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  child.kill('SIGTERM');
  await exited;
  clearTimeout(timer);
  if (child.pid !== undefined) strays.delete(child.pid);
}

async function benchRun(): Promise<void> {
  log(`\ndocket run -- true: cold median of ${CLI_REPS}, warm median of ${WARM_RUNS}`);
  const home = makeHome('run');
  // Default settings (on-demand workers on); a short idle exit is only a safety net for strays.
  const env = cleanEnv({ DOCKET_IDLE_EXIT: '5s' });
  const docket = await openDocket(home); // migrates: cold means no worker, not a missing database
  try {
    const node = medianRun(['-e', '0'], env, home);
    const cold = await runCold(home, docket, env);
    record({
      workload: 'run',
      measure: 'docket run -- true, cold (no worker running)',
      value: cold.wallMs,
      unit: 'ms',
      reference: { label: 'node -e 0', value: node.wallMs },
      target: under(400),
    });
    const warm = await runWarm(home, docket, env);
    record({
      workload: 'run',
      measure: 'docket run -- true, warm (worker running)',
      value: warm.wallMs,
      unit: 'ms',
      reference: { label: 'node -e 0', value: node.wallMs },
      target: under(150),
    });
    await assertStored(docket, CLI_REPS + WARM_RUNS);
    const counts = await docket.counts();
    if (counts.completed !== CLI_REPS + WARM_RUNS) throw new Error(`run: only ${counts.completed} jobs completed`);
  } finally {
    await docket.close();
    removeHome(home);
  }
}

// ── main ───────────────────────────────────────────────────────────────────────────────────────

/** Newest modification time under `dir`, to tell whether dist/ lags behind src/. */
function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** The CLI figures run dist/ while the library figures run src/: say so when they may differ. */
function checkBuild(): void {
  const built = join(ROOT, 'dist', 'cli', 'main.js');
  if (!existsSync(built)) throw new Error('dist/ is missing: run `npm run build` first');
  if (newestMtime(join(ROOT, 'src')) > statSync(built).mtimeMs) {
    log('warning: src/ changed after the last build; the CLI figures measure the older dist/ (npm run build)');
  }
}

/** The commit measured, and whether uncommitted changes were measured with it. */
function treeState(): string {
  const git = (...args: string[]) => spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' }).stdout?.trim() ?? '';
  const head = git('rev-parse', '--short', 'HEAD') || 'unknown commit';
  return git('status', '--porcelain', '--untracked-files=no', '--', 'src')
    ? `${head} + uncommitted src/ changes`
    : head;
}

/** Last resort after a failure: nothing started here may outlive the script. */
function cleanup(): void {
  for (const pid of strays) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const home of homes) rmSync(home, { recursive: true, force: true });
}

// ── S1: does a long history slow the claim path? ───────────────────────────────────────────────

const N_S1_HISTORY = 1_000_000;
const N_S1_DRAIN = 10_000;

/** Jobs/s of an in-process worker (concurrency 10) draining N_S1_DRAIN no-op handler jobs. */
async function drainRate(history: number): Promise<number> {
  const home = makeHome(`s1-${history}`);
  try {
    const docket = await openDocket(home);
    docket.define({ name: 'noop', handler: () => undefined });
    for (let done = 0; done < history; done += 10_000) {
      await docket.submitMany(Array.from({ length: 10_000 }, () => ({ type: 'noop' })));
    }
    if (history > 0) {
      // Seeding shortcut, as for L1: a million finished jobs, written straight in SQL.
      const db = new Database(dbOf(home));
      db.exec("UPDATE jobs SET status = 'completed', ended_at = created_at");
      db.close();
    }
    for (let done = 0; done < N_S1_DRAIN; done += BULK_CHUNK) {
      await docket.submitMany(Array.from({ length: BULK_CHUNK }, () => ({ type: 'noop' })));
    }
    const worker = docket.worker({ concurrency: 10 });
    const started = performance.now();
    const running = worker.run();
    // A cheap probe (the state index), so the measuring does not slow the worker it shares a thread with.
    await until(
      'the drain',
      async () => (await docket.list({ statuses: ['pending', 'running'], limit: 1 })).length === 0,
      300_000,
      20,
    );
    const rate = jobsPerSecond(N_S1_DRAIN, performance.now() - started);
    worker.stop();
    await running;
    if ((await docket.counts()).completed !== history + N_S1_DRAIN) throw new Error('S1: not every job completed');
    await docket.close();
    return rate;
  } finally {
    removeHome(home);
  }
}

async function benchS1(): Promise<void> {
  log(
    `\nS1 scale: drain ${N_S1_DRAIN.toLocaleString('en-US')} handler jobs, empty table vs ${N_S1_HISTORY.toLocaleString('en-US')} finished jobs`,
  );
  const empty = await drainRate(0);
  const full = await drainRate(N_S1_HISTORY);
  record({
    workload: 'S1',
    measure: `W2 drain with ${N_S1_HISTORY.toLocaleString('en-US')} finished jobs stored`,
    value: full,
    unit: 'jobs/s',
    reference: { label: 'empty table', value: empty },
    target: atLeast(0.8),
  });
}

async function main(): Promise<void> {
  checkBuild();
  process.once('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  const started = performance.now();
  log(
    `# docket benchmark — embedded SQLite engine, ${treeState()}, Node ${process.version}, ${new Date().toISOString()}`,
  );
  try {
    await benchW1();
    await benchL1();
    await benchC1();
    await benchRun();
    await benchS1();
  } finally {
    cleanup();
  }
  printTable();
  log(`\nTotal time ${((performance.now() - started) / 1000).toFixed(0)} s.`);
}

await main();
