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

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = join(ROOT, 'bin', 'docket.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface TestHome {
  home: string;
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
  const baseEnv: Record<string, string> = {
    ...(process.env as Record<string, string>),
    DOCKET_HOME: home,
    DOCKET_IDLE_EXIT: '3s',
    DOCKET_GRACE: '2s',
    ...env,
  };
  delete baseEnv.DOCKET_DB;
  const run = (args: string[], options: { env?: Record<string, string>; cwd?: string } = {}) =>
    runProcess(process.execPath, [BIN, ...args], { env: { ...baseEnv, ...options.env }, cwd: options.cwd ?? home });
  return {
    home,
    run,
    async json(args, options) {
      const result = await run(['--json', ...args], options);
      if (result.code !== 0) throw new Error(`docket ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
      return JSON.parse(result.stdout);
    },
    async cleanup() {
      await killWorkers(home);
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

async function killWorkers(home: string): Promise<void> {
  let pids: number[] = [];
  try {
    const db = new Database(join(home, 'docket.db'), { readonly: true, timeout: 10_000 });
    // Job process groups first (so no test job outlives its test), then the workers.
    pids = [
      ...(db
        .prepare("SELECT -pid FROM jobs WHERE pid IS NOT NULL AND status IN ('running', 'suspended')")
        .pluck()
        .all() as number[]),
      ...(db.prepare('SELECT pid FROM workers').pluck().all() as number[]),
    ];
    db.close();
  } catch {
    return; // no database: nothing was started
  }
  for (const pid of pids) {
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
