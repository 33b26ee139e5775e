/**
 * Test helpers: run the real `docket` CLI as a child process against a throwaway DOCKET_HOME,
 * wait for conditions with generous deadlines (never fixed sleeps), and clean up every process.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { dropTestStore, TEST_ENGINE, testDb } from './engines.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = join(ROOT, 'bin', 'docket.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface TestHome {
  home: string;
  /** The store of this test: a SQLite file in the home, or a PostgreSQL schema of its own. */
  db: string;
  /** The environment its `docket` processes get (home, store — DOCKET_DB on PostgreSQL — short idle exit). */
  env: Record<string, string>;
  /** Runs `docket ARGS` with this home; resolves when it exits. */
  run(args: string[], options?: { env?: Record<string, string>; cwd?: string }): Promise<CliResult>;
  /** Runs `docket --json ARGS` and parses stdout. */
  // biome-ignore lint/suspicious/noExplicitAny: tests read JSON documents loosely
  json<T = any>(args: string[], options?: { env?: Record<string, string>; cwd?: string }): Promise<T>;
  /** Kills every worker this home ever registered and removes the folder. */
  cleanup(): Promise<void>;
}

export function makeHome(env: Record<string, string> = {}): TestHome {
  const home = mkdtempSync(join(tmpdir(), 'docket-test-'));
  const db = testDb(home);
  const baseEnv: Record<string, string> = {
    ...(process.env as Record<string, string>),
    DOCKET_HOME: home,
    DOCKET_IDLE_EXIT: '3s',
    DOCKET_GRACE: '2s',
    ...env,
  };
  // SQLite tests use the default file, so the default path is what they test.
  if (TEST_ENGINE === 'sqlite') delete baseEnv.DOCKET_DB;
  else baseEnv.DOCKET_DB = db;
  const run = (args: string[], options: { env?: Record<string, string>; cwd?: string } = {}) =>
    runProcess(process.execPath, [BIN, ...args], { env: { ...baseEnv, ...options.env }, cwd: options.cwd ?? home });
  return {
    home,
    db,
    env: baseEnv,
    run,
    async json(args, options) {
      const result = await run(['--json', ...args], options);
      if (result.code !== 0) throw new Error(`docket ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
      return JSON.parse(result.stdout);
    },
    async cleanup() {
      await killWorkers(db);
      // Workers of other stores the test opened in this home (a second --db) are not registered in
      // `db`: every process started from this home carries DOCKET_HOME, so none outlives the test.
      for (const pid of processesWithEnv('DOCKET_HOME', home)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await dropTestStore(db);
      rmSync(home, { recursive: true, force: true });
    },
  };
}

export function runProcess(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: options.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code: code ?? 128 + (signal ? 9 : 0), stdout, stderr }));
  });
}

/** Polls `probe` until it returns a truthy value; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T> | T,
  timeoutMs = 30_000,
): Promise<Exclude<T, false | null | undefined | 0 | ''>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value as Exclude<T, false | null | undefined | 0 | ''>;
      last = value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${String(last)})`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Pids of live processes whose environment contains `NAME=value` (a marker a test set). */
export function processesWithEnv(name: string, value: string): number[] {
  const needle = `${name}=${value}\0`;
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, 'latin1');
      const state = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]?.[0];
      if (state !== 'Z' && (environ.includes(`\0${needle}`) || environ.startsWith(needle))) found.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

/** The state letter of a process (R, S, T for stopped, Z…), or null if it is gone. */
export function processState(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] ?? null;
  } catch {
    return null;
  }
}

export function isAlive(pid: number): boolean {
  const state = processState(pid);
  return state !== null && state !== 'Z';
}

/** Pids to kill after a test: job process groups first (so no job outlives its test), then workers. */
async function strayPids(store: string): Promise<number[]> {
  if (store.startsWith('postgres')) {
    const { PostgresEngine } = await import('../../src/storage/postgres/engine.js');
    const engine = await PostgresEngine.connect({ url: store, poolSize: 1 });
    try {
      if ((await engine.schemaVersion()) === 0) return [];
      const live = await engine.listLive('local');
      const workers = await engine.listWorkers();
      return [
        ...live.filter((job) => job.pid !== null).map((job) => -(job.pid as number)),
        ...workers.map((w) => w.pid),
      ];
    } finally {
      await engine.close();
    }
  }
  const db = new Database(store, { readonly: true, timeout: 10_000 });
  try {
    return [
      ...(db
        .prepare("SELECT -pid FROM jobs WHERE pid IS NOT NULL AND status IN ('running', 'suspended')")
        .pluck()
        .all() as number[]),
      ...(db.prepare('SELECT pid FROM workers').pluck().all() as number[]),
    ];
  } finally {
    db.close();
  }
}

async function killWorkers(store: string): Promise<void> {
  let pids: number[] = [];
  try {
    pids = await strayPids(store);
  } catch {
    return; // no database: nothing was started
  }
  for (const pid of pids) {
    if (Math.abs(pid) === process.pid) continue; // an in-process worker of the test itself
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

export function uniqueMark(): string {
  return `m${process.pid}x${Math.random().toString(36).slice(2, 10)}`;
}

/** What the test handlers append per run: one JSON line with the job, its process and its times. */
export interface RunRecord {
  id: number;
  pid: number;
  started: number;
  ended: number;
}

export function readRunRecords(file: string): RunRecord[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as RunRecord);
}

/**
 * A shell command that waits until `gate` exists (the test creates it when the job may end), then
 * runs `then`: a job that ends when the test says so, however loaded the machine is.
 */
export function gatedCommand(gate: string, then = 'true'): string {
  return `while [ ! -e '${gate}' ]; do sleep 0.05; done; ${then}`;
}
