/**
 * Bad input and awkward surroundings through the real `docket` binary: values out of range, paths
 * that cannot be used, a closed stdout, secrets in output. Each is refused (or handled) with a
 * one-line message and a documented exit code, and changes nothing.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, type CliResult, makeHome, type TestHome } from '../helpers/cli.js';

/** The SQLite migration that gave stores their identity, found by name (its number may move). */
function storeIdentityMigration(): string {
  const folder = join(import.meta.dirname, '../../src/storage/sqlite/migrations');
  const file = readdirSync(folder).find((name) => name.endsWith('_store_identity.sql'));
  if (!file) throw new Error(`no *_store_identity.sql in ${folder}`);
  return join(folder, file);
}

let t: TestHome;
beforeAll(() => {
  t = makeHome();
});
afterAll(() => t.cleanup());

/** A refusal: exit 2, one line on stderr naming `flag`, nothing on stdout. */
function expectRefused(result: CliResult, flag: string): void {
  expect(result.code, result.stderr).toBe(2);
  expect(result.stderr).toContain(flag);
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
  expect(result.stderr).not.toContain('unexpected error');
  expect(result.stdout).toBe('');
}

async function jobCount(): Promise<number> {
  return ((await t.json(['list', '--all'])) as unknown[]).length;
}

describe('numbers out of range (item 24)', () => {
  it('refuses a priority outside the 32-bit range, naming --priority, on every engine', async () => {
    const before = await jobCount();
    for (const priority of ['3000000000', '-3000000000', '9007199254740993']) {
      expectRefused(await t.run(['submit', '--priority', priority, '--cmd', 'true']), '--priority');
    }
    expect(await jobCount()).toBe(before);
    const edge = await t.json(['submit', '--priority', '2147483647', '--delay', '1h', '--cmd', 'true']);
    expect(edge.priority).toBe(2147483647);
    await t.run(['cancel', String(edge.id)]);
  });

  it('refuses absurd delays, times and time limits, naming the flag', async () => {
    const before = await jobCount();
    expectRefused(await t.run(['submit', '--delay', '1095750d', '--cmd', 'true']), '--delay');
    expectRefused(await t.run(['submit', '--at', '5026-01-01T00:00:00Z', '--cmd', 'true']), '--at');
    expectRefused(await t.run(['submit', '--time-limit', '1095750d', '--cmd', 'true']), '--time-limit');
    expectRefused(await t.run(['submit', '--retry-delay', '1095750d', '--cmd', 'true']), '--retry-delay');
    expect(await jobCount()).toBe(before);
  });

  it('refuses an --at that is neither an ISO-8601 time nor a duration, saying it takes either', async () => {
    const before = await jobCount();
    const result = await t.run(['submit', '--at', 'yesterday', '--cmd', 'true']);
    expectRefused(result, '--at');
    expect(result.stderr).toContain('ISO-8601');
    expect(result.stderr).toMatch(/duration/);
    expect(await jobCount()).toBe(before);
  });
});

describe('paths that cannot be used (item 26)', () => {
  it('refuses a home that is under a file', async () => {
    expectRefused(await t.run(['--home', '/etc/passwd/sub', 'list']), '--home');
  });

  it('refuses a --db that is not a database, and leaves the file alone', async () => {
    const file = join(t.home, 'notes.txt');
    writeFileSync(file, 'my notes, not a database\n'.repeat(200));
    expectRefused(await t.run(['--db', file, 'list']), '--db');
  });

  it('refuses an explicit --db in a folder that does not exist, and creates nothing', async () => {
    const missing = join(t.home, 'no-such-folder');
    expectRefused(await t.run(['--db', join(missing, 'docket.db'), 'list']), '--db');
    expect(existsSync(missing)).toBe(false);
  });

  it('refuses a home under /proc at once instead of hanging', async () => {
    expectRefused(await t.run(['--home', '/proc/self/docket', 'list']), '--home');
  });
});

describe('a closed stdout (item 20)', () => {
  /** Runs docket with its stdout read until `bytes` arrived (or at once), then closed, as `| head -c` does. */
  function runThenClose(args: string[], bytes = 0): Promise<CliResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, ...args], {
        env: { ...process.env, DOCKET_HOME: t.home, DOCKET_IDLE_EXIT: '3s' },
        cwd: t.home,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let seen = 0;
      let stderr = '';
      if (bytes === 0) child.stdout.destroy();
      else
        child.stdout.on('data', (chunk: Buffer) => {
          seen += chunk.length;
          if (seen >= bytes) child.stdout.destroy();
        });
      child.stderr.on('data', (chunk) => (stderr += chunk));
      child.once('error', reject);
      child.once('close', (code) => resolve({ code: code ?? -1, stdout: '', stderr }));
    });
  }

  it('list, logs and run end quietly with 141 (128 + SIGPIPE), as ls and git do', async () => {
    const big = await t.json(['run', '--cmd', 'seq 1 400000']);
    expect(big.status).toBe('completed');
    for (const args of [
      ['list', '--all'],
      ['logs', String(big.id)],
      ['run', '--cmd', 'seq 1 400000'],
    ]) {
      const result = await runThenClose(args, args[0] === 'logs' || args[0] === 'run' ? 1000 : 0);
      expect(result.stderr, args.join(' ')).toBe('');
      expect(result.code, args.join(' ')).toBe(141);
    }
  });
});

describe('working folders (item 5)', () => {
  it('resolves a relative --cwd against the submitter folder', async () => {
    const sub = join(t.home, 'work', 'here');
    mkdirSync(sub, { recursive: true });
    const job = await t.json(['run', '--cwd', 'here', '--', 'pwd'], { cwd: join(t.home, 'work') });
    expect(job.cwd).toBe(sub);
    const logs = await t.run(['logs', String(job.id)]);
    expect(logs.stdout.trim()).toBe(sub);
  });

  it('refuses a --cwd that does not exist (or is a file), and stores nothing', async () => {
    const before = await jobCount();
    expectRefused(await t.run(['submit', '--cwd', join(t.home, 'missing'), '--', 'pwd']), '--cwd');
    writeFileSync(join(t.home, 'a-file'), '');
    expectRefused(await t.run(['submit', '--cwd', join(t.home, 'a-file'), '--', 'pwd']), '--cwd');
    expect(await jobCount()).toBe(before);
    expect(readdirSync(t.home)).not.toContain('missing');
  });
});

describe('logs belong to their store (item 19)', () => {
  it('two databases sharing a home never see, clear or reset each other’s logs', async () => {
    const a = join(t.home, 'a.db');
    const b = join(t.home, 'b.db');
    const ranA = await t.json(['--db', a, 'run', '--cmd', 'echo from A']);
    const ranB = await t.json(['--db', b, 'run', '--cmd', 'echo from B']);
    expect(ranA.id).toBe(ranB.id); // the same job id in both stores
    expect((await t.run(['--db', a, 'logs', String(ranA.id)])).stdout).toBe('from A\n');
    expect((await t.run(['--db', b, 'logs', String(ranB.id)])).stdout).toBe('from B\n');
    expect((await t.run(['--db', b, 'clear', '--status', 'completed'])).code).toBe(0);
    const empty = join(t.home, 'empty.db');
    expect((await t.run(['--db', empty, 'config', 'reset-db', '--yes'])).code).toBe(0);
    expect((await t.run(['--db', a, 'logs', String(ranA.id)])).stdout).toBe('from A\n');
  });

  it('a missing log file is reported with exit code 3, not printed as empty', async () => {
    const db = join(t.home, 'missing-log.db');
    const job = await t.json(['--db', db, 'run', '--cmd', 'echo gone soon']);
    const logs = await t.json(['--db', db, 'logs', String(job.id)]);
    rmSync(dirname(logs.path), { recursive: true });
    for (const args of [
      ['logs', String(job.id)],
      ['--json', 'logs', String(job.id)],
    ]) {
      const result = await t.run(['--db', db, ...args]);
      expect(result.code).toBe(3);
      expect(result.stderr).toMatch(new RegExp(`^docket: job ${job.id} has no stdout log`));
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      // With --json, the one document on stdout is the error.
      if (args[0] === '--json') {
        expect(JSON.parse(result.stdout)).toMatchObject({ code: 'not_found', exit_code: 3 });
      } else expect(result.stdout).toBe('');
    }
  });

  it('logs --json gives at most the last MiB of a large log, saying so', async () => {
    const job = await t.json(['run', '--cmd', 'head -c 3000000 /dev/zero | tr "\\0" x; echo; echo last line']);
    const logs = await t.json(['logs', String(job.id)]);
    expect(logs.size).toBe(3_000_000 + 1 + 10);
    expect(logs.truncated).toBe(true);
    expect(logs.content.length).toBe(1024 * 1024);
    expect(logs.content.endsWith('xxx\nlast line\n')).toBe(true);
  });

  it('reads the logs of jobs that ran before logs moved into a folder of their store', async () => {
    const db = join(t.home, 'old.db');
    const job = await t.json(['--db', db, 'run', '--cmd', 'echo old layout']);
    const logs = await t.json(['--db', db, 'logs', String(job.id)]);
    // Put the store back as an older docket left it: logs in $DOCKET_HOME/logs/<id>, no identity.
    const legacy = join(t.home, 'logs', String(job.id));
    renameSync(dirname(logs.path), legacy);
    // The store-identity migration ran on a store that already held this job (later migrations
    // stay applied, as they would on a real upgrade that crossed them all).
    const store = new Database(db);
    store.exec('DROP TABLE docket_store');
    store.exec(readFileSync(storeIdentityMigration(), 'utf8'));
    store.close();
    expect((await t.run(['--db', db, 'logs', String(job.id)])).stdout).toBe('old layout\n');
    // A job made after the upgrade never reads the old folder, even with the same number there.
    await t.json(['--db', db, 'clear', '--status', 'completed']);
    mkdirSync(join(t.home, 'logs', String(job.id + 1)), { recursive: true });
    writeFileSync(join(t.home, 'logs', String(job.id + 1), 'stdout'), 'not mine\n');
    const next = await t.json(['--db', db, 'run', '--cmd', 'echo new layout']);
    expect(next.id).toBe(job.id + 1);
    expect((await t.run(['--db', db, 'logs', String(next.id)])).stdout).toBe('new layout\n');
  });
});

describe('settings and input that would be ignored (issue 14, item 8)', () => {
  it('a bad setting names its value and where it came from, never NaN, and changes nothing', async () => {
    const before = await jobCount();
    const concurrency = await t.run(['submit', '--cmd', 'true'], { env: { DOCKET_CONCURRENCY: 'abc' } });
    expectRefused(concurrency, 'DOCKET_CONCURRENCY');
    expect(concurrency.stderr).toContain('"abc"');
    expect(concurrency.stderr).not.toContain('NaN');
    expectRefused(await t.run(['list'], { env: { DOCKET_LOG_LEVEL: 'loud' } }), 'DOCKET_LOG_LEVEL');
    expectRefused(await t.run(['list'], { env: { DOCKET_ON_DEMAND: 'yes' } }), 'DOCKET_ON_DEMAND');
    expect(await jobCount()).toBe(before);
  });

  it('config.json: an unknown key is refused naming it; a bad value names the file and the value', async () => {
    const home = makeHome();
    try {
      const file = join(home.home, 'config.json');
      writeFileSync(file, JSON.stringify({ concurency: 4 }));
      const unknown = await home.run(['list']);
      expectRefused(unknown, '"concurency"');
      expect(unknown.stderr).toContain(file);
      writeFileSync(file, JSON.stringify({ lease: 'soon' }));
      const lease = await home.run(['list']);
      expectRefused(lease, `"lease" in ${file}`);
      expect(lease.stderr).toContain('"soon"');
    } finally {
      await home.cleanup();
    }
  });

  it('refuses --params on a command job and an empty --job-name, storing nothing', async () => {
    const before = await jobCount();
    expectRefused(await t.run(['submit', '--params', '{"a": 1}', '--cmd', 'true']), '--params');
    expectRefused(await t.run(['run', '--job-name', '', '--cmd', 'true']), '--job-name');
    expectRefused(await t.run(['submit', '--after', 'first', '--cmd', 'true']), '--after');
    // Fields the library checks are named by the flag that set them.
    expectRefused(await t.run(['submit', '--queue', 'bad name', '--cmd', 'true']), 'docket: --queue: "bad name"');
    expectRefused(await t.run(['submit', '--type', 'nosuch', '--params', '{}']), 'docket: --type: unknown job type');
    expect(await jobCount()).toBe(before);
  });
});
