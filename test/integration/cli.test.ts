/**
 * The CLI surface against a real store (a SQLite file or a PostgreSQL schema, as the vitest project
 * says) and real processes: output, JSON, exit codes.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, makeHome, runProcess, type TestHome, waitFor } from '../helpers/cli.js';
import { dropTestStore, TEST_ENGINE, testDb } from '../helpers/engines.js';

let t: TestHome;
const others: string[] = [];
beforeAll(() => {
  // On PostgreSQL submits start no worker by default: these tests rely on one being started.
  t = makeHome({ DOCKET_ON_DEMAND: '1' });
});
afterAll(async () => {
  await t.cleanup();
  for (const other of others) await dropTestStore(other);
});

/** A second store of the run's engine, beside the test's own. */
function otherStore(): string {
  const other = testDb(mkdtempSync(join(t.home, 'other-')));
  others.push(other);
  return other;
}

const JOB_KEYS = [
  'id',
  'name',
  'type',
  'status',
  'scheduler',
  'queue',
  'priority',
  'command',
  'argv',
  'cwd',
  'attempts',
  'max_attempts',
  'run_at',
  'depends_on',
  'key',
  'tenant',
  'exit_code',
  'signal',
  'error',
  'progress',
  'progress_message',
  'created_at',
  'started_at',
  'ended_at',
  'pid',
  'host',
  'worker_id',
  'resources',
  'time_limit_s',
];

describe('docket run', () => {
  it('runs a first job and streams its output', async () => {
    const result = await t.run(['run', '--', 'echo', 'hello']);
    expect(result).toMatchObject({ code: 0, stdout: 'hello\n' });
  });

  it("exits with the job's exit code, and says why on stderr", async () => {
    const result = await t.run(['run', '--cmd', 'echo out; echo err >&2; exit 3']);
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('out\n');
    expect(result.stderr).toContain('err\n');
    expect(result.stderr).toMatch(/job \d+ failed: exited with code 3/);
  });

  it('exits 124 when the time limit stops the job', async () => {
    const result = await t.run(['run', '--time-limit', '1s', '--', 'sleep', '30']);
    expect(result.code).toBe(124);
  });
});

describe('docket submit', () => {
  it('prints the job as one JSON document with the documented keys', async () => {
    const job = await t.json([
      'submit',
      '--cmd',
      'true',
      '--job-name',
      'keys',
      '--cpu-count',
      '2',
      '--memory',
      '1G',
      '--time-limit',
      '1:00',
      '--env',
      'A=1',
    ]);
    for (const key of JOB_KEYS) expect(job).toHaveProperty(key);
    expect(job).toMatchObject({
      name: 'keys',
      type: 'command',
      command: 'true',
      argv: null,
      time_limit_s: 60,
      resources: { cpu_count: 2, memory_bytes: 1024 ** 3 },
    });
    expect(job.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    const done = await waitFor('the job to complete', async () => {
      const current = await t.json(['status', String(job.id)]);
      return current.status === 'completed' && current;
    });
    expect(done.executions).toEqual([
      expect.objectContaining({ attempt: 1, status: 'completed', exit_code: 0, host: expect.any(String) }),
    ]);
    expect(done.progress).toBe(1);
  });

  it('uses the working directory and environment given', async () => {
    const result = await t.run([
      'run',
      '--cwd',
      '/tmp',
      '--env',
      'GREETING=hi there',
      '--cmd',
      'echo "$GREETING from $(pwd)"',
    ]);
    expect(result).toMatchObject({ code: 0, stdout: 'hi there from /tmp\n' });
  });

  it('passes an argument vector through untouched, without a shell', async () => {
    const result = await t.run(['run', '--', 'printf', '%s|', 'a b', '$HOME', "it's"]);
    expect(result.stdout).toBe("a b|$HOME|it's|");
  });

  it('with the same --key returns the existing job, says so, and creates nothing', async () => {
    const first = await t.json(['submit', '--key', 'nightly', '--cmd', 'true']);
    const again = await t.run(['--json', 'submit', '--key', 'nightly', '--cmd', 'true']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).id).toBe(first.id);
    expect(again.stderr).toBe(
      `docket: --key "nightly" already names job ${first.id} (${JSON.parse(again.stdout).status}); returned it, submitted nothing\n`,
    );
    const all = await t.json(['list', '--all']);
    expect(all.filter((job: { key: string }) => job.key === 'nightly')).toHaveLength(1);
  });

  it('refuses a --key reused with a different command (exit 4, naming the job), for submit and run', async () => {
    const first = await t.json(['submit', '--key', 'weekly', '--cmd', 'echo first']);
    for (const verb of ['submit', 'run']) {
      const result = await t.run([verb, '--key', 'weekly', '--cmd', 'echo different']);
      expect(result.code, result.stderr).toBe(4);
      expect(result.stderr).toMatch(
        new RegExp(`^docket: --key "weekly" already names job ${first.id} \\(--cmd "echo first"`),
      );
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      // run printed nothing of the other job's output as if it were this command's.
      expect(result.stdout).toBe('');
    }
    const all = await t.json(['list', '--all']);
    expect(all.filter((job: { key: string }) => job.key === 'weekly')).toHaveLength(1);
  });

  it('run with a --key already used follows that job and says it is not a new run', async () => {
    const first = await t.json(['run', '--key', 'once', '--cmd', 'echo ran once']);
    const again = await t.run(['run', '--key', 'once', '--cmd', 'echo ran once']);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain(`already names job ${first.id} (completed); following that job`);
    const all = await t.json(['list', '--all']);
    expect(all.filter((job: { key: string }) => job.key === 'once')).toHaveLength(1);
  });

  it.each([
    [['submit', '--priority', 'high', '--cmd', 'true'], /--priority: "high" is not an integer/],
    [['submit', '--time-limit', 'forever', '--cmd', 'true'], /--time-limit: "forever" is not a duration/],
    [['submit', '--memory', 'lots', '--cmd', 'true'], /--memory: "lots" is not a size/],
    [['submit'], /command: nothing to run/],
    [['submit', '--cmd', 'true', '--', 'echo'], /give either --cmd/],
    [['submit', '--after', '99999', '--cmd', 'true'], /--after: job 99999 does not exist/],
    [['submit', '--env', 'NOEQUALS', '--cmd', 'true'], /--env: "NOEQUALS" is not K=V/],
    [['submit', '--no-such-flag'], /unknown option/],
    [['list', '--status', 'done'], /--status: "done" is not a state/],
  ])('refuses bad input %j with exit code 2, one line, and nothing stored', async (args, message) => {
    const before = (await t.json(['progress'])).total;
    const result = await t.run(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trim().split('\n')[0]).toMatch(message);
    expect((await t.json(['progress'])).total).toBe(before);
  });
});

describe('reading jobs', () => {
  it('status of an unknown job exits 3', async () => {
    const result = await t.run(['status', '424242']);
    expect(result.code).toBe(3);
    expect(result.stderr).toBe('docket: job 424242 does not exist; see docket list --all\n');
  });

  it('logs holds exactly what the job wrote, stdout and stderr apart', async () => {
    const job = await t.json(['submit', '--cmd', 'echo hi; echo err >&2']);
    await waitFor('completion', async () => (await t.json(['status', String(job.id)])).status === 'completed');
    expect((await t.run(['logs', String(job.id)])).stdout).toBe('hi\n');
    expect((await t.run(['logs', String(job.id), '--stderr'])).stdout).toBe('err\n');
    const json = await t.json(['logs', String(job.id)]);
    expect(json).toMatchObject({ content: 'hi\n', size: 3, truncated: false });
    // A plain file in the store's own folder of the home's logs.
    expect(json.path).toMatch(new RegExp(`^${t.home}/logs/[0-9a-f]{16}/${job.id}/stdout$`));
    expect(readFileSync(json.path, 'utf8')).toBe('hi\n');
  });

  it('logs --follow prints output until the job ends', async () => {
    const job = await t.json(['submit', '--cmd', 'for i in 1 2 3; do echo line$i; sleep 0.2; done']);
    const result = await t.run(['logs', '--follow', String(job.id)]);
    expect(result.stdout).toBe('line1\nline2\nline3\n');
  });

  it('list shows active jobs by default and everything with --all', async () => {
    const finished = await t.json(['submit', '--cmd', 'true', '--job-name', 'finished']);
    await waitFor('completion', async () => (await t.json(['status', String(finished.id)])).status === 'completed');
    const sleeper = await t.json(['submit', '--cmd', 'sleep 30', '--job-name', 'sleeper']);
    await waitFor(
      'the sleeper to run',
      async () => (await t.json(['status', String(sleeper.id)])).status === 'running',
    );
    const active = await t.json(['list']);
    expect(active.map((job: { id: number }) => job.id)).toContain(sleeper.id);
    expect(active.every((job: { status: string }) => ['pending', 'running', 'suspended'].includes(job.status))).toBe(
      true,
    );
    const text = (await t.run(['list'])).stdout;
    expect(text).toMatch(/^ID\s+NAME\s+STATUS/);
    expect(text).toMatch(/sleeper\s+running/);
    expect(active.map((job: { id: number }) => job.id)).not.toContain(finished.id);
    const all = await t.json(['list', '--all']);
    expect(all.map((job: { id: number }) => job.id)).toEqual(expect.arrayContaining([finished.id, sleeper.id]));
    expect(await t.json(['list', '--all', '--limit', '2'])).toHaveLength(2);
    await t.run(['cancel', String(sleeper.id)]);
  }, 180_000);

  it('progress counts every state, zeros included, and a total', async () => {
    const home = makeHome({ DOCKET_ON_DEMAND: '1' });
    try {
      const done = await home.json(['submit', '--cmd', 'true']);
      const failed = await home.json(['submit', '--cmd', 'exit 1']);
      await home.json(['submit', '--delay', '1h', '--cmd', 'true']);
      const cancelled = await home.json(['submit', '--delay', '1h', '--cmd', 'true']);
      await home.json(['cancel', String(cancelled.id)]);
      await waitFor('both to end', async () => {
        const [a, b] = [await home.json(['status', String(done.id)]), await home.json(['status', String(failed.id)])];
        return a.status === 'completed' && b.status === 'failed';
      });
      expect(await home.json(['progress'])).toEqual({
        pending: 1,
        running: 0,
        suspended: 0,
        completed: 1,
        failed: 1,
        timeout: 0,
        cancelled: 1,
        skipped: 0,
        total: 4,
      });
      const text = (await home.run(['progress'])).stdout;
      expect(text).toMatch(/suspended\s+0/);
      expect(text).toMatch(/pending\s+1/);
      expect(text).toMatch(/total\s+4/);
    } finally {
      await home.cleanup();
    }
  }, 180_000);
});

describe('changing jobs', () => {
  it('cancel of a completed job exits 4, says why, and changes nothing', async () => {
    const job = await t.json(['submit', '--cmd', 'true']);
    await waitFor('completion', async () => (await t.json(['status', String(job.id)])).status === 'completed');
    const result = await t.run(['cancel', String(job.id)]);
    expect(result.code).toBe(4);
    expect(result.stderr).toBe(
      `docket: job ${job.id} is completed; only pending, running or suspended jobs can be cancelled\n`,
    );
    expect((await t.json(['status', String(job.id)])).status).toBe('completed');
  });

  it('requeue runs a failed job again, keeping its history', async () => {
    const job = await t.json(['submit', '--cmd', 'exit 1']);
    await waitFor('failure', async () => (await t.json(['status', String(job.id)])).status === 'failed');
    const [requeued] = await t.json(['requeue', String(job.id)]);
    expect(requeued).toMatchObject({ status: 'pending', attempts: 0 });
    const again = await waitFor('the second failure', async () => {
      const current = await t.json(['status', String(job.id)]);
      return current.status === 'failed' && current;
    });
    expect(again.executions.map((e: { attempt: number }) => e.attempt)).toEqual([1, 2]);
  });

  it('retries up to --max-attempts', async () => {
    const job = await t.json(['submit', '--cmd', 'exit 7', '--max-attempts', '3']);
    const done = await waitFor('the last attempt', async () => {
      const current = await t.json(['status', String(job.id)]);
      return current.status === 'failed' && current;
    });
    expect(done).toMatchObject({ attempts: 3, exit_code: 7, error: 'exited with code 7' });
    expect(done.executions).toHaveLength(3);
  });

  it('wait exits 0 when all completed, 1 otherwise, 124 on timeout', async () => {
    const ok = await t.json(['submit', '--cmd', 'sleep 0.3']);
    const bad = await t.json(['submit', '--cmd', 'exit 2']);
    expect((await t.run(['wait', String(ok.id)])).code).toBe(0);
    expect((await t.run(['wait', String(ok.id), String(bad.id)])).code).toBe(1);
    const slow = await t.json(['submit', '--cmd', 'sleep 30']);
    expect((await t.run(['wait', String(slow.id), '--timeout', '1s'])).code).toBe(124);
    await t.run(['cancel', String(slow.id)]);
  });

  it('clear removes completed and cancelled jobs with their logs, and prints how many', async () => {
    const failed = await t.json(['submit', '--cmd', 'exit 1']);
    const job = await t.json(['submit', '--cmd', 'echo bye']);
    await waitFor('completion', async () => (await t.json(['status', String(job.id)])).status === 'completed');
    await waitFor('failure', async () => (await t.json(['status', String(failed.id)])).status === 'failed');
    const logDir = dirname((await t.json(['logs', String(job.id)])).path);
    expect(existsSync(logDir)).toBe(true);
    const { removed } = await t.json(['clear']);
    expect(removed).toBeGreaterThan(0);
    expect(existsSync(logDir)).toBe(false);
    expect((await t.run(['status', String(job.id)])).code).toBe(3);
    expect((await t.json(['list', '--all', '--status', 'completed,cancelled'])).length).toBe(0);
    expect((await t.json(['status', String(failed.id)])).status).toBe('failed');
    expect((await t.run(['clear', '--status', 'failed', '--before', '1h'])).stdout).toBe('removed 0 jobs\n');
  }, 180_000);
});

describe('queues', () => {
  it('queue set, pause and resume change the stored queue; a paused queue keeps its jobs pending', async () => {
    const queueOf = async (name: string) =>
      (await t.json(['queue', 'list'])).find((queue: { name: string }) => queue.name === name);
    expect(await t.json(['queue', 'set', 'q-cli', '--capacity', '2'])).toMatchObject({
      name: 'q-cli',
      capacity: 2,
      paused: false,
    });
    expect(await queueOf('q-cli')).toMatchObject({ capacity: 2, paused: false });
    expect(await t.json(['queue', 'set', 'q-cli', '--capacity', 'none'])).toMatchObject({ capacity: null });
    const refused = await t.run(['queue', 'set', 'q-cli', '--capacity', '-1']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^docket: --capacity: /);
    expect(await queueOf('q-cli')).toMatchObject({ capacity: null });

    expect(await t.json(['queue', 'pause', 'q-cli'])).toMatchObject({ paused: true });
    const held = await t.json(['submit', '--queue', 'q-cli', '--cmd', 'true']);
    // A job submitted later to an open queue completes: a worker claimed after both existed.
    const probe = await t.json(['submit', '--cmd', 'true']);
    await waitFor(
      'the probe to complete',
      async () => (await t.json(['status', String(probe.id)])).status === 'completed',
    );
    expect((await t.json(['status', String(held.id)])).status).toBe('pending');
    expect(await queueOf('q-cli')).toMatchObject({ paused: true, counts: expect.objectContaining({ pending: 1 }) });

    expect(await t.json(['queue', 'resume', 'q-cli'])).toMatchObject({ paused: false });
    expect((await t.run(['wait', String(held.id), '--timeout', '60s'])).code).toBe(0);
  }, 240_000);
});

describe('--at', () => {
  it('holds a job until the given ISO time; a time in the past runs at once; a bad one is refused', async () => {
    const later = await t.json(['submit', '--at', '2099-01-02T03:04:05Z', '--cmd', 'true']);
    expect(later).toMatchObject({ status: 'pending', run_at: '2099-01-02T03:04:05.000Z' });
    expect((await t.run(['list'])).stdout).toMatch(new RegExp(`${later.id} .*pending \\(delayed\\)`));
    await t.json(['cancel', String(later.id)]);

    const soon = new Date(Date.now() + 2000).toISOString();
    const job = await t.json(['submit', '--at', soon, '--cmd', 'true']);
    expect(job.run_at).toBe(soon);
    const done = await waitFor('the job to complete', async () => {
      const current = await t.json(['status', String(job.id)]);
      return current.status === 'completed' && current;
    });
    expect(Date.parse(done.started_at)).toBeGreaterThanOrEqual(Date.parse(soon));

    const past = await t.json(['submit', '--at', '2001-01-01T00:00:00Z', '--cmd', 'true']);
    expect((await t.run(['wait', String(past.id), '--timeout', '60s'])).code).toBe(0);

    const bad = await t.run(['submit', '--at', '2024-13-45T99:00:00Z', '--cmd', 'true']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^docket: --at: /);
  }, 240_000);
});

describe('configuration', () => {
  it('config show says where data lives', async () => {
    const shown = await t.json(['config', 'show']);
    expect(shown).toMatchObject({ home: t.home, db: t.db, logs_dir: join(t.home, 'logs') });
    expect(shown.sources.home).toBe('env DOCKET_HOME');
  });

  it('settings are layered: defaults < config.json < environment < flags', async () => {
    const home = mkdtempSync(join(t.home, 'layers-'));
    writeFileSync(
      join(home, 'config.json'),
      JSON.stringify({ grace: '7s', idle_exit: '2m', concurrency: 3, db: join(home, 'file.db') }),
    );
    // The settings of this test alone: none of the DOCKET_* variables of the test run.
    const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('DOCKET_')));
    const show = async (args: string[], env: Record<string, string>) => {
      const result = await runProcess(process.execPath, [BIN, '--json', 'config', 'show', ...args], {
        env: { ...clean, DOCKET_HOME: home, ...env },
      });
      expect(result.code, result.stderr).toBe(0);
      return JSON.parse(result.stdout);
    };
    const env = { DOCKET_IDLE_EXIT: '45s', DOCKET_DB: join(home, 'env.db') };
    const shown = await show(['--db', join(home, 'flag.db')], env);
    expect(shown.worker).toMatchObject({ lease_ms: 60_000, grace_ms: 7000, concurrency: 3, idle_exit_ms: 45_000 });
    expect(shown.db).toBe(join(home, 'flag.db'));
    expect(shown.sources).toMatchObject({
      lease: 'default',
      grace: 'config.json',
      concurrency: 'config.json',
      idle_exit: 'env DOCKET_IDLE_EXIT',
      db: 'flag',
    });
    expect(await show([], env)).toMatchObject({ db: join(home, 'env.db'), sources: { db: 'env DOCKET_DB' } });
    expect(await show([], {})).toMatchObject({ db: join(home, 'file.db'), sources: { db: 'config.json' } });
  });

  it('--db picks another database (a file, or a PostgreSQL schema)', async () => {
    const other = otherStore();
    const job = await t.json(['--db', other, 'submit', '--cmd', 'true']);
    expect(job.id).toBe(1);
    if (TEST_ENGINE === 'sqlite') expect(existsSync(other)).toBe(true);
    expect((await t.json(['--db', other, 'db', 'migrate'])).schema_version).toBeGreaterThanOrEqual(1);
    expect((await t.json(['--db', other, 'list', '--all'])).map((j: { id: number }) => j.id)).toEqual([job.id]);
  });

  it('config reset-db needs --yes, then empties the database', async () => {
    const other = otherStore();
    await t.json(['--db', other, 'submit', '--cmd', 'true']);
    expect((await t.run(['--db', other, 'config', 'reset-db'])).code).toBe(2);
    await waitFor('the job to end', async () => (await t.json(['--db', other, 'progress'])).completed === 1);
    expect((await t.json(['--db', other, 'config', 'reset-db', '--yes'])).reset).toBe(true);
    expect((await t.json(['--db', other, 'progress'])).total).toBe(0);
  });
});
