/**
 * The stage of a chaos scenario: a throwaway docket (a SQLite file, or a PostgreSQL schema of its
 * own), a project folder whose `docket.config.mjs` defines the handler types the workers run, real
 * `docket worker` processes (dist/cli.js) that can be killed and replaced, and the file every job
 * appends a line to each time it really runs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { JobSpec } from '../../src/core/words.js';
import { Docket } from '../../src/docket.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The `docket` command (it loads dist/cli.js, built by `npm run build`). */
export const CLI = join(ROOT, 'bin', 'docket.js');

export type ChaosEngine = 'sqlite' | 'postgres';

/** Every job appends `KIND ID ATTEMPT PID TIME EVENT` to the runs file: the real runs, counted. */
const HANDLER = `
import { appendFileSync } from 'node:fs';

export default async function chaos({ params, job, attempt, signal }) {
  const line = (event) => appendFileSync(params.runs, \`h \${job.id} \${attempt} \${process.pid} \${Date.now()} \${event}\\n\`);
  line('start');
  try {
    if (params.ms > 0) {
      await new Promise((resolve, reject) => {
        const timer = setTimeout(resolve, params.ms);
        signal.addEventListener('abort', () => { clearTimeout(timer); reject(signal.reason); }, { once: true });
      });
    }
  } finally {
    line('end');
  }
  return attempt;
}
`;

const CONFIG = `
export default {
  types: [
    { name: 'chaos', handler: './handlers/chaos.mjs' },
    { name: 'noop', handler: './handlers/noop.mjs' },
  ],
};
`;

/**
 * The command every command job runs: under an exclusive, non-blocking lock on a file named after
 * the job, it records its run and sleeps a while. A second run of the same job while the first
 * still lives finds the lock taken and records `overlap` — two runs at once, seen by the kernel.
 */
const COMMAND =
  'flock -n -E 99 "$CHAOS_LOCKS/$DOCKET_JOB_ID" sh -c \'echo "c $DOCKET_JOB_ID $DOCKET_ATTEMPT $$ 0 start" >> "$CHAOS_RUNS"; sleep "$CHAOS_SLEEP"\'' +
  ' || { s=$?; [ $s -eq 99 ] && echo "c $DOCKET_JOB_ID $DOCKET_ATTEMPT $$ 0 overlap" >> "$CHAOS_RUNS"; exit $s; }';

export interface ChaosStore {
  engine: ChaosEngine;
  home: string;
  /** The `--db` value: a SQLite file or a postgres:// URL naming a schema of this run. */
  db: string;
  /** The folder the workers run in (holds docket.config.mjs and the handlers). */
  project: string;
  runs: string;
  locks: string;
  /** A marker in the environment of every process this store's workers start. */
  mark: string;
  open(): Promise<Docket>;
  /** Drops the schema (PostgreSQL) and removes the home. */
  remove(): Promise<void>;
}

export function makeStore(engine: ChaosEngine, pgUrl: string | undefined): ChaosStore {
  const home = mkdtempSync(join(tmpdir(), `docket-chaos-${engine}-`));
  const project = join(home, 'project');
  const locks = join(home, 'locks');
  mkdirSync(join(project, 'handlers'), { recursive: true });
  mkdirSync(locks);
  // Plain JavaScript: each worker started loads it without TypeScript's loader (a third of a
  // worker's start-up CPU, and the chaos runs start many workers).
  writeFileSync(join(project, 'docket.config.mjs'), CONFIG);
  writeFileSync(join(project, 'handlers', 'chaos.mjs'), HANDLER);
  writeFileSync(join(project, 'handlers', 'noop.mjs'), 'export default () => null;\n');
  const runs = join(home, 'runs.txt');
  writeFileSync(runs, '');
  let db = join(home, 'docket.db');
  if (engine === 'postgres') {
    if (!pgUrl) throw new Error('the PostgreSQL chaos runs need a database URL (DOCKET_TEST_PG)');
    const url = new URL(pgUrl);
    url.searchParams.set('schema', `chaos_${randomBytes(5).toString('hex')}`);
    db = url.toString();
  }
  const open = () => Docket.open({ home, db, manageWorkers: false });
  return {
    engine,
    home,
    db,
    project,
    runs,
    locks,
    mark: `chaos-${randomBytes(6).toString('hex')}`,
    open,
    async remove() {
      if (engine === 'postgres') {
        const docket = await open();
        try {
          await (docket.engine as unknown as { dropSchema(): Promise<void> }).dropSchema();
        } finally {
          await docket.close();
        }
      }
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** A command job that records its runs (see COMMAND); it sleeps up to `maxSleepMs`. */
export function commandJob(store: ChaosStore, maxSleepMs: number, extra: Partial<JobSpec> = {}): JobSpec {
  return {
    command: COMMAND,
    env: {
      CHAOS_RUNS: store.runs,
      CHAOS_LOCKS: store.locks,
      CHAOS_SLEEP: (Math.random() * (maxSleepMs / 1000)).toFixed(3),
    },
    maxAttempts: 500,
    ...extra,
  };
}

/** A handler job that records its runs; it waits up to `maxMs`. */
export function handlerJob(store: ChaosStore, maxMs: number, extra: Partial<JobSpec> = {}): JobSpec {
  return {
    type: 'chaos',
    params: { runs: store.runs, ms: Math.floor(Math.random() * maxMs) },
    maxAttempts: 500,
    ...extra,
  };
}

/** Submits specs in batches, returning the ids. */
export async function submitAll(docket: Docket, specs: JobSpec[], batch = 1000): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < specs.length; i += batch) {
    for (const job of await docket.submitMany(specs.slice(i, i + batch))) ids.push(job.id);
  }
  return ids;
}

export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  startedAt: number;
  log: string;
  /** Set once it exited, with how. */
  exit?: { code: number | null; signal: NodeJS.Signals | null; at: number };
  /** True once the harness killed it on purpose. */
  killed: boolean;
  /** When the harness sent it SIGKILL, if it did. */
  sigkilledAt?: number;
  /** True when it was replaced because it failed without exiting. */
  replaced?: boolean;
}

/** Every pool made in this process, so that an interrupted run leaves no worker behind. */
const pools = new Set<WorkerPool>();

/** SIGKILLs every worker of every pool, and every process their jobs started. */
export function killEverything(): void {
  for (const pool of pools) {
    for (const worker of pool.live()) pool.kill(worker);
    for (const pid of markedProcesses(pool.store, new Set())) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
  }
}

/** Real `docket worker` processes of one store, started, killed and replaced at will. */
export class WorkerPool {
  readonly all: WorkerProcess[] = [];
  private serial = 0;

  constructor(
    readonly store: ChaosStore,
    private readonly concurrency: number,
    private readonly env: Record<string, string> = {},
  ) {
    pools.add(this);
  }

  start(): WorkerProcess {
    const log = join(this.store.home, `worker-${++this.serial}.log`);
    const fd = openSync(log, 'a');
    const child = spawn(process.execPath, [CLI, 'worker', '--concurrency', String(this.concurrency)], {
      cwd: this.store.project,
      env: {
        ...cleanEnv(),
        DOCKET_HOME: this.store.home,
        DOCKET_DB: this.store.db,
        DOCKET_ON_DEMAND: '0',
        DOCKET_GRACE: '1s',
        CHAOS_MARK: this.store.mark,
        ...this.env,
      },
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    const worker: WorkerProcess = { child, pid: child.pid as number, startedAt: Date.now(), log, killed: false };
    child.once('exit', (code, signal) => (worker.exit = { code, signal, at: Date.now() }));
    this.all.push(worker);
    return worker;
  }

  live(): WorkerProcess[] {
    return this.all.filter((worker) => !worker.exit);
  }

  /**
   * Workers whose `docket worker` command failed (it printed "unexpected error") yet whose process
   * lingers: each is replaced, so the drain can go on, and returned, to be reported as a defect.
   */
  replaceBroken(): WorkerProcess[] {
    const broken = this.live().filter((worker) =>
      readFileSync(worker.log, 'utf8').includes('docket: unexpected error'),
    );
    for (const worker of broken) {
      worker.replaced = true;
      this.kill(worker);
      this.start();
    }
    return broken;
  }

  /** Throws when no worker is left to drain (they all exited by themselves): waiting is pointless. */
  assertLive(): void {
    if (this.all.length > 0 && this.live().length === 0) {
      const last = this.all.at(-1) as WorkerProcess;
      throw new Error(`every worker exited (last: ${JSON.stringify(last.exit)}): ${this.tail(last)}`);
    }
  }

  /** Workers that exited without being told to: each is a defect. */
  unexpectedExits(): WorkerProcess[] {
    return this.all.filter((worker) => worker.exit && !worker.killed);
  }

  kill(worker: WorkerProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
    worker.killed = true;
    if (signal === 'SIGKILL') worker.sigkilledAt ??= Date.now();
    try {
      process.kill(worker.pid, signal);
    } catch {
      // already gone
    }
  }

  /** SIGTERM to every live worker, and wait for them to exit (SIGKILL after `graceMs`). */
  async stopAll(graceMs = 30_000): Promise<void> {
    const live = this.live();
    for (const worker of live) this.kill(worker, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (live.some((worker) => !worker.exit) && Date.now() < deadline) await pause(50);
    for (const worker of live) if (!worker.exit) this.kill(worker, 'SIGKILL');
    while (live.some((worker) => !worker.exit)) await pause(20);
  }

  /** The last lines a worker wrote (for a report). */
  tail(worker: WorkerProcess, lines = 5): string {
    return readFileSync(worker.log, 'utf8').trim().split('\n').slice(-lines).join('\n');
  }
}

/** The caller's environment without DOCKET_* (a stray DOCKET_DB would send workers elsewhere). */
export function cleanEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter(([name, value]) => !name.startsWith('DOCKET_') && value !== undefined),
  ) as Record<string, string>;
}

export const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it is truthy; throws naming `what` after `timeoutMs`. */
export async function until<T>(what: string, probe: () => Promise<T> | T, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await pause(50);
  }
}

// ── processes ─────────────────────────────────────────────────────────────────────────────────

/** Live (non-zombie) processes: pid → parent pid and environment marker. */
export function processTable(): Map<number, { ppid: number; environ: string }> {
  const table = new Map<number, { ppid: number; environ: string }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
      if (fields[0] === 'Z') continue;
      table.set(Number(entry), { ppid: Number(fields[1]), environ: readFileSync(`/proc/${entry}/environ`, 'latin1') });
    } catch {
      // it ended while we looked
    }
  }
  return table;
}

/** Live processes started by this store's workers (they inherit the marker), workers excluded. */
export function markedProcesses(store: ChaosStore, exclude: Set<number>): number[] {
  const needle = `CHAOS_MARK=${store.mark}\0`;
  return [...processTable()]
    .filter(([pid, { environ }]) => !exclude.has(pid) && environ.includes(needle))
    .map(([pid]) => pid);
}

export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(') ') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Resident memory of a process in MiB, or null if it is gone. */
export function rssMiB(pid: number): number | null {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : null;
  } catch {
    return null;
  }
}
