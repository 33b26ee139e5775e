/**
 * The SLURM scheduler against a real one-node SLURM on this machine, which scripts/slurm/start.sh
 * brings up when it is not running (and which must be able to: these tests fail, never skip, when
 * SLURM cannot start). Everything goes through the real `docket` CLI, as a user would.
 * SLURM checks time limits every 30 s, so the time-limit test takes 1–1.5 minutes: the tests run
 * concurrently, that one first.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHome, ROOT, type TestHome } from '../helpers/cli.js';

const START = join(ROOT, 'scripts', 'slurm', 'start.sh');
const SLURM_ENV = { ...process.env, SLURM_CONF: '/etc/slurm/slurm.conf' };

let t: TestHome;

beforeAll(() => {
  try {
    execFileSync(START, [], { stdio: 'pipe', timeout: 150_000, encoding: 'utf8' });
  } catch (error) {
    const { stderr, message } = error as { stderr?: string; message: string };
    throw new Error(`SLURM could not be started for these tests (${START}): ${(stderr || message).trim()}`);
  }
  t = makeHome();
}, 180_000);

afterAll(async () => {
  // Leave nothing queued or running in SLURM.
  const active = (await t.json(['list', '--scheduler', 'slurm'])) as { id: number }[];
  if (active.length > 0) await t.run(['cancel', ...active.map((job) => String(job.id))]);
  await t.cleanup();
});

// biome-ignore lint/suspicious/noExplicitAny: JSON documents of the CLI
type JobJson = Record<string, any>;

async function submit(args: string[]): Promise<JobJson> {
  return t.json(['submit', '--scheduler', 'slurm', ...args]);
}

/**
 * Polls `docket status` (which asks SLURM) until `done` holds; fails with the last record. The
 * deadline is generous and under the tests' own (TEST_TIMEOUT): on a loaded two-core machine each
 * CLI call and each SLURM scheduling pass takes seconds, and a test waits for several in a row.
 */
async function until(id: number, what: string, done: (job: JobJson) => boolean, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  let job: JobJson = {};
  while (Date.now() < deadline) {
    job = await t.json(['status', String(id)]);
    if (done(job)) return job;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`job ${id} did not become ${what} within ${timeoutMs / 1000}s; last record: ${JSON.stringify(job)}`);
}
const ended = (status: string) => (job: JobJson) => job.status === status;

function slurm(command: string, args: string[]): string {
  return execFileSync(command, args, { env: SLURM_ENV, encoding: 'utf8' });
}

const TEST_TIMEOUT = 180_000;

describe.concurrent('docket --scheduler slurm against a real SLURM', { timeout: TEST_TIMEOUT }, () => {
  it('marks a job past its time limit as timeout', { timeout: 240_000 }, async () => {
    const job = await submit(['--time-limit', '1s', '--', 'sleep', '300']);
    expect(job.scheduler_job_id).toMatch(/^\d+$/);
    const done = await until(
      job.id,
      'timeout',
      (record) => record.status !== 'pending' && record.status !== 'running',
      200_000,
    );
    expect(done.status).toBe('timeout');
    expect(done.error).toMatch(/time limit/);
    expect(done.ended_at).not.toBeNull();
  });

  it('runs a job that prints and exits 0: completed, logs in the log folder', async () => {
    const job = await submit([
      '--env',
      'GREETING=hello there',
      '--cmd',
      'echo "$GREETING from $SLURM_JOB_ID"; echo oops >&2',
    ]);
    expect(job.status).toBe('pending');
    const done = await until(job.id, 'completed', (record) => ['completed', 'failed'].includes(record.status));
    expect(done).toMatchObject({ status: 'completed', exit_code: 0, host: 'localhost', attempts: 1 });
    expect(done.started_at).not.toBeNull();
    expect(done.ended_at).not.toBeNull();
    expect(done.executions).toHaveLength(1);
    const stdout = await t.run(['logs', String(job.id)]);
    expect(stdout.stdout).toBe(`hello there from ${job.scheduler_job_id}\n`);
    expect((await t.run(['logs', '--stderr', String(job.id)])).stdout).toBe('oops\n');
    const listed = await t.run(['list', '--all']);
    expect(listed.stdout).toMatch(new RegExp(`^${job.id}\\s.*completed`, 'm'));
  });

  it("records a failed job's exit code, its argv kept word for word (bash -c 'exit 3')", async () => {
    const job = await submit(['--', 'bash', '-c', 'echo "it\'s me"; exit 3']);
    const done = await until(job.id, 'failed', (record) => ['completed', 'failed'].includes(record.status));
    expect(done).toMatchObject({ status: 'failed', exit_code: 3, error: 'exited with code 3' });
    expect((await t.run(['logs', String(job.id)])).stdout).toBe("it's me\n");
    const run = await t.run(['status', String(job.id)]);
    expect(run.stdout).toMatch(/exit code:\s+3/);
  });

  it('cancels with scancel', async () => {
    const job = await submit(['--cmd', 'sleep 300']);
    await until(job.id, 'running', ended('running'));
    const cancel = await t.run(['cancel', String(job.id)]);
    expect(cancel.code).toBe(0);
    expect((await t.json(['status', String(job.id)])).status).toBe('cancelled');
    const sid = job.scheduler_job_id;
    await expectEventually(`SLURM job ${sid} cancelled`, () =>
      /^CANCELLED/.test(slurm('sacct', ['-n', '-X', '-P', '-o', 'State', '-j', sid]).trim()),
    );
  });

  it('passes cpus, memory, time limit, partition, name and log files to sbatch', async () => {
    const job = await submit([
      ...['--cpu-count', '2', '--memory', '1G', '--time-limit', '1:00', '--partition', 'debug'],
      ...['--job-name', 'resources-check', '--cmd', 'sleep 300'],
    ]);
    const shown = slurm('scontrol', ['show', 'job', job.scheduler_job_id]);
    expect(shown).toMatch(/JobName=resources-check\b/);
    expect(shown).toMatch(/NumCPUs=2\b/);
    expect(shown).toMatch(/MinMemoryNode=1G\b/);
    expect(shown).toMatch(/TimeLimit=00:01:00\b/);
    expect(shown).toMatch(/Partition=debug\b/);
    expect(shown).toMatch(new RegExp(`StdOut=${t.home}/logs/[0-9a-f]{16}/${job.id}/stdout`));
    expect(shown).toContain(`WorkDir=${t.home}`);
    expect((await t.run(['cancel', String(job.id)])).code).toBe(0);
  });

  it('chains SLURM jobs with afterok', async () => {
    const a = await submit(['--cmd', 'sleep 5; echo A']);
    const b = await submit(['--after', String(a.id), '--cmd', 'echo B']);
    const c = await submit(['--after', String(b.id), '--cmd', 'echo C']);
    expect(slurm('scontrol', ['show', 'job', b.scheduler_job_id])).toContain(
      `Dependency=afterok:${a.scheduler_job_id}`,
    );
    const done = await until(c.id, 'completed', (record) => !['pending', 'running'].includes(record.status));
    expect(done.status).toBe('completed');
    const [ra, rb] = [await t.json(['status', String(a.id)]), await t.json(['status', String(b.id)])];
    expect([ra.status, rb.status]).toEqual(['completed', 'completed']);
    expect(Date.parse(rb.started_at)).toBeGreaterThanOrEqual(Date.parse(ra.ended_at));
    expect(Date.parse(done.started_at)).toBeGreaterThanOrEqual(Date.parse(rb.ended_at));
  });

  it('a failed parent skips its SLURM dependent, which SLURM then drops', async () => {
    const f = await submit(['--cmd', 'sleep 5; exit 1']);
    const g = await submit(['--after', String(f.id), '--cmd', 'echo never']);
    const skipped = await until(g.id, 'skipped', (record) => record.status !== 'pending');
    expect(skipped).toMatchObject({ status: 'skipped', error: `dependency ${f.id} ended failed` });
    await expectEventually(`SLURM job ${g.scheduler_job_id} gone from the queue`, () => {
      const state = slurm('sacct', ['-n', '-X', '-P', '-o', 'State', '-j', g.scheduler_job_id]).trim();
      return /^CANCELLED/.test(state);
    });
  });

  it('holds a SLURM job that depends on a local job until that one completes', async () => {
    // Long enough that the SLURM job is surely submitted while it runs, however loaded the machine.
    const local = await t.json(['submit', '--cmd', 'sleep 5; echo local']);
    const job = await submit(['--after', String(local.id), '--cmd', 'echo after local']);
    expect(job).toMatchObject({ status: 'pending', blocked: true, scheduler_job_id: null });
    const done = await until(job.id, 'completed', (record) => !['pending', 'running'].includes(record.status));
    expect(done.status).toBe('completed');
    expect(done.scheduler_job_id).toMatch(/^\d+$/);
    const parent = await t.json(['status', String(local.id)]);
    expect(parent.status).toBe('completed');
    // SLURM's times have whole seconds.
    expect(Date.parse(done.started_at)).toBeGreaterThanOrEqual(Math.floor(Date.parse(parent.ended_at) / 1000) * 1000);
    expect((await t.run(['logs', String(job.id)])).stdout).toBe('after local\n');
  });

  it('suspends and resumes with scontrol, and refuses what the job state does not allow', async () => {
    const job = await submit(['--cmd', 'sleep 300']);
    await until(job.id, 'running', ended('running'));
    expect((await t.run(['suspend', String(job.id)])).code).toBe(0);
    expect((await t.json(['status', String(job.id)])).status).toBe('suspended');
    expect(slurm('squeue', ['-h', '-o', '%T', '-j', job.scheduler_job_id]).trim()).toBe('SUSPENDED');
    expect((await t.run(['resume', String(job.id)])).code).toBe(0);
    expect((await t.json(['status', String(job.id)])).status).toBe('running');
    expect(slurm('squeue', ['-h', '-o', '%T', '-j', job.scheduler_job_id]).trim()).toBe('RUNNING');
    expect((await t.run(['cancel', String(job.id)])).code).toBe(0);
    const again = await t.run(['resume', String(job.id)]);
    expect(again.code).toBe(4);
    expect(again.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('refuses --scheduler slurm in one line with exit code 2, stores nothing, and local jobs still run', async () => {
    const home = makeHome({ DOCKET_SLURM_BIN: '/nonexistent/slurm/bin' });
    try {
      const result = await home.run(['submit', '--scheduler', 'slurm', '--cmd', 'echo hi']);
      expect(result.code).toBe(2);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(/sbatch not found/);
      expect(await home.json(['list', '--all'])).toEqual([]);
      const local = await home.run(['run', '--', 'echo', 'local ok']);
      expect(local).toMatchObject({ code: 0, stdout: 'local ok\n' });
    } finally {
      await home.cleanup();
    }
  });

  it('refuses --scheduler slurm with exit code 2 when the controller does not answer', async () => {
    const bin = mkdtempSync(join(tmpdir(), 'docket-dead-slurm-'));
    const sbatch = join(bin, 'sbatch');
    const message = 'sbatch: error: Batch job submission failed: Unable to contact slurm controller (connect failure)';
    writeFileSync(sbatch, `#!/bin/sh\necho '${message}' >&2\nexit 1\n`);
    chmodSync(sbatch, 0o755);
    const home = makeHome({ DOCKET_SLURM_BIN: bin });
    try {
      const result = await home.run(['submit', '--scheduler', 'slurm', '--cmd', 'echo hi']);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/^docket: SLURM does not answer: .*Unable to contact slurm controller/);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(await home.json(['list', '--all'])).toEqual([]);
    } finally {
      await home.cleanup();
      rmSync(bin, { recursive: true, force: true });
    }
  });

  it("gives a job the user's login environment and its own variables, not the submitter's (item 15)", async () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion, for the job's shell
    const command = 'echo "${LEAK_MARK:-unset} $MINE $HOME"';
    const job = await t.json(['submit', '--scheduler', 'slurm', '--env', 'MINE=yes', '--cmd', command], {
      env: { LEAK_MARK: 'leaked-from-the-submitter' },
    });
    const done = await until(job.id, 'completed', (record) => ['completed', 'failed'].includes(record.status));
    expect(done.status).toBe('completed');
    expect((await t.run(['logs', String(job.id)])).stdout).toMatch(/^unset yes \/\S+\n$/);
  });

  it('refuses a --cwd that does not exist instead of running in /tmp (item 27)', async () => {
    const missing = join(t.home, 'no-such-folder');
    const result = await t.run(['submit', '--scheduler', 'slurm', '--cwd', missing, '--', 'pwd']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--cwd: .*no-such-folder is not an existing folder/);
    const all = (await t.json(['list', '--all'])) as JobJson[];
    expect(all.some((job) => job.cwd === missing)).toBe(false);
    const folder = mkdtempSync(join(t.home, 'work-'));
    const job = await t.json(['submit', '--scheduler', 'slurm', '--cwd', folder, '--', 'pwd']);
    await until(job.id, 'completed', (record) => ['completed', 'failed'].includes(record.status));
    expect((await t.run(['logs', String(job.id)])).stdout).toBe(`${folder}\n`);
  });

  it('says so when it cannot cancel a duplicate SLURM job (item 15)', async () => {
    // A stand-in SLURM: while sbatch runs, "another process" records a SLURM id for the job first,
    // so docket must cancel its own copy, and scancel refuses.
    const bin = mkdtempSync(join(tmpdir(), 'docket-dup-slurm-'));
    const home = makeHome({ DOCKET_SLURM_BIN: bin });
    const recordFirst = join(bin, 'record-first.mjs');
    writeFileSync(
      recordFirst,
      `import Database from ${JSON.stringify(join(ROOT, 'node_modules', 'better-sqlite3', 'lib', 'index.js'))};
const db = new Database(${JSON.stringify(home.db)});
db.prepare("UPDATE jobs SET scheduler_job_id = '111' WHERE scheduler_job_id IS NULL").run();
db.close();\n`,
    );
    const script = (body: string) => `#!/bin/sh\n${body}\n`;
    writeFileSync(
      join(bin, 'sbatch'),
      script(
        `cat >/dev/null\ncase "$*" in *--test-only*) exit 0;; esac\n${JSON.stringify(process.execPath)} ${recordFirst}\necho 222`,
      ),
    );
    writeFileSync(
      join(bin, 'scancel'),
      script("echo 'scancel: error: Kill job error on job id 222: Access/permission denied' >&2; exit 1"),
    );
    writeFileSync(join(bin, 'squeue'), script('exit 0'));
    writeFileSync(join(bin, 'sacct'), script('exit 0'));
    for (const name of ['sbatch', 'scancel', 'squeue', 'sacct']) chmodSync(join(bin, name), 0o755);
    try {
      const result = await home.run(['--json', 'submit', '--scheduler', 'slurm', '--cmd', 'true']);
      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout).scheduler_job_id).toBe('111');
      expect(result.stderr).toContain('could not cancel SLURM job(s) 222');
      expect(result.stderr).toContain('Access/permission denied');
    } finally {
      await home.cleanup();
      rmSync(bin, { recursive: true, force: true });
    }
  });

  it('refuses a job SLURM will not take (an unknown partition) with exit code 2 and stores nothing', async () => {
    const result = await t.run(['submit', '--scheduler', 'slurm', '--partition', 'no-such-partition', '--cmd', 'true']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/invalid partition/i);
    const all = (await t.json(['list', '--all'])) as JobJson[];
    expect(all.some((job) => job.resources.partition === 'no-such-partition')).toBe(false);
  });
});

async function expectEventually(what: string, probe: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

// After the concurrent tests: this one takes both CPUs of the node, which would hold theirs back.
describe('docket --scheduler slurm with the node to itself', { timeout: TEST_TIMEOUT }, () => {
  it("says why SLURM holds a pending job, in SLURM's words (squeue %r)", async () => {
    // The node has 2 CPUs: b waits in SLURM (not in docket: nothing holds it there) until a ends.
    const a = await submit(['--cpu-count', '2', '--cmd', 'sleep 10']);
    const b = await submit(['--cpu-count', '2', '--cmd', 'echo B']);
    const explained = /^queued in SLURM \(job \d+\): \w+$/;
    const held = await until(
      b.id,
      'explained',
      (record) => explained.test(record.state_reason ?? '') || record.status !== 'pending',
    );
    expect(held.status).toBe('pending');
    expect(held.state_reason).toMatch(
      new RegExp(`^queued in SLURM \\(job ${b.scheduler_job_id}\\): (Resources|Priority)$`),
    );
    await until(a.id, 'completed', ended('completed'));
    await until(b.id, 'completed', ended('completed'));
  });
});
