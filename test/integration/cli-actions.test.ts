/**
 * Acting on jobs through the real `docket` binary: cancel, requeue, suspend and resume by filter
 * (through the facade's batch action), asking first on a terminal; `rm`, `restart`, `queue rm`.
 */
import { execFileSync, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, type CliResult, makeHome, type TestHome, uniqueMark } from '../helpers/cli.js';

let t: TestHome;
beforeAll(() => {
  // On PostgreSQL submits start no worker by default: restart relies on one being started.
  t = makeHome({ DOCKET_ON_DEMAND: '1' });
});
afterAll(() => t.cleanup());

/** Submits a job that waits an hour (so it stays pending) and returns its id. */
async function later(queue: string, name: string): Promise<number> {
  return (await t.json(['submit', '--delay', '1h', '--queue', queue, '--job-name', name, '--cmd', 'true'])).id;
}

async function statuses(queue: string): Promise<Record<string, string>> {
  const jobs = await t.json(['list', '--all', '--queue', queue]);
  return Object.fromEntries(jobs.map((job: { name: string; status: string }) => [job.name, job.status]));
}

function expectUsage(result: CliResult, flag: string): void {
  expect(result.code, result.stderr).toBe(2);
  expect(result.stderr).toMatch(new RegExp(`^docket: .*${flag}`));
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
}

/** Runs `docket ARGS` on a terminal (`script` makes one) and types `input` on it; stdout is the terminal's text. */
function onTerminal(args: string[], input: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const line = [process.execPath, BIN, ...args].map((word) => `'${word}'`).join(' ');
    const child = spawn('script', ['-qec', line, '/dev/null'], { env: t.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(input);
  });
}

describe('bulk actions by filter', () => {
  it('cancels what a filter matches (name glob, queue), says how many in a sentence, leaves the rest', async () => {
    const queue = uniqueMark();
    // Paused, so that requeued jobs stay pending instead of running.
    await t.run(['queue', 'pause', queue]);
    for (const name of ['train-1', 'train-2', 'train-10', 'eval-1']) await later(queue, name);
    const elsewhere = uniqueMark();
    await later(elsewhere, 'train-3');
    const result = await t.run(['cancel', '--queue', queue, '--name', 'TRAIN-?']);
    expect(result).toMatchObject({ code: 0, stdout: '2 cancelled\n', stderr: '' });
    expect(await statuses(queue)).toEqual({
      'train-1': 'cancelled',
      'train-2': 'cancelled',
      'train-10': 'pending',
      'eval-1': 'pending',
    });
    expect(await statuses(elsewhere)).toEqual({ 'train-3': 'pending' });
    // Without --status a filter matches only what the action can change: requeue takes the cancelled two.
    expect(await t.json(['requeue', '--queue', queue])).toEqual({ matched: 2, changed: 2, failed: [] });
    // States in any case, as SLURM users type them.
    expect((await t.run(['suspend', '--queue', queue, '--status', 'PENDING'])).stdout).toBe('4 suspended\n');
    expect((await t.run(['resume', '--queue', queue, '--type', 'command'])).stdout).toBe('4 resumed\n');
    expect((await t.run(['cancel', '--queue', queue, '--name', 'nothing-*'])).stdout).toBe(
      `0 cancelled: no job is pending, running or suspended, in queue ${queue}, named nothing-*\n`,
    );
    await t.run(['cancel', '--queue', elsewhere]);
    expect((await t.run(['cancel', '--queue', queue])).stdout).toBe('4 cancelled\n');
  });

  it('reports jobs a filter matched but could not change, with exit code 4', async () => {
    const queue = uniqueMark();
    await later(queue, 'a');
    await t.run(['cancel', '--queue', queue]);
    const result = await t.run(['--json', 'resume', '--queue', queue, '--status', 'cancelled']);
    expect(result.code).toBe(4);
    const document = JSON.parse(result.stdout);
    expect(document).toMatchObject({ matched: 1, changed: 0 });
    expect(document.failed).toHaveLength(1);
    expect(result.stderr).toMatch(/^docket: job \d+ /);
  });

  it('refuses ids together with filters, and neither, changing nothing (exit 2)', async () => {
    const queue = uniqueMark();
    const id = await later(queue, 'kept');
    expectUsage(await t.run(['cancel', String(id), '--queue', queue]), 'not both');
    expectUsage(await t.run(['cancel']), '--all');
    expectUsage(await t.run(['cancel', '--name', '']), '--name');
    expectUsage(await t.run(['cancel', '--status', 'finished']), '--status');
    expect(await statuses(queue)).toEqual({ kept: 'pending' });
    await t.run(['cancel', String(id)]);
  });

  it('acting on ids prints one sentence per job, not a stutter', async () => {
    const queue = uniqueMark();
    const id = await later(queue, 'one');
    expect((await t.run(['cancel', String(id)])).stdout).toBe(`job ${id} cancelled\n`);
    expect((await t.run(['requeue', String(id)])).stdout).toBe(`job ${id} requeued (now pending)\n`);
    await t.run(['cancel', String(id)]);
  });

  const hasScript = (() => {
    try {
      execFileSync('script', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();

  it('asks on a terminal before changing more than 5 jobs; no changes nothing, --yes skips', async () => {
    if (!hasScript) throw new Error('this test needs `script` from util-linux (apt-get install bsdutils)');
    const queue = uniqueMark();
    for (let i = 0; i < 6; i++) await later(queue, `many-${i}`);
    const no = await onTerminal(['cancel', '--queue', queue], 'n\n');
    expect(no.stdout).toContain('cancel 6 jobs');
    expect(no.stdout).toContain('nothing cancelled');
    expect(Object.values(await statuses(queue)).every((status) => status === 'pending')).toBe(true);
    const yes = await onTerminal(['cancel', '--queue', queue], 'y\n');
    expect(yes.stdout).toContain('6 cancelled');
    const more = uniqueMark();
    for (let i = 0; i < 6; i++) await later(more, `more-${i}`);
    const skipped = await onTerminal(['cancel', '--queue', more, '--yes'], '');
    expect(skipped.stdout).not.toContain('[y/N]');
    expect(skipped.stdout).toContain('6 cancelled');
  });
});

describe('rm, restart and queue rm', () => {
  it('rm deletes finished jobs by id, refuses live and missing ones, and names each', async () => {
    const queue = uniqueMark();
    const done = (await t.json(['run', '--queue', queue, '--job-name', 'done', '--cmd', 'true'])).id;
    const live = await later(queue, 'live');
    const result = await t.run(['rm', String(done), String(live), '999999']);
    expect(result.code).toBe(4);
    expect(result.stdout).toBe(`job ${done} removed\n`);
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(new RegExp(`^docket: job ${live} is pending; cancel it before deleting it`)),
      expect.stringMatching(/^docket: job 999999 does not exist/),
    ]);
    expect(await statuses(queue)).toEqual({ live: 'pending' });
    // One missing job with --json: the error document, not an empty list.
    const missing = await t.run(['--json', 'rm', '999999']);
    expect(missing.code).toBe(3);
    expect(JSON.parse(missing.stdout)).toEqual({
      error: expect.stringContaining('job 999999 does not exist'),
      code: 'not_found',
      exit_code: 3,
    });
    await t.run(['cancel', String(live)]);
  });

  it('restart submits a finished job again as a new job linked to the original', async () => {
    const queue = uniqueMark();
    const run = await t.run([
      '--json',
      'run',
      '--queue',
      queue,
      '--job-name',
      'again',
      '--priority',
      '5',
      '--env',
      'WORD=hello',
      '--cmd',
      'echo "$WORD"; exit 3',
    ]);
    expect(run.code).toBe(3);
    const first = JSON.parse(run.stdout);
    expect(first.status).toBe('failed');
    const result = await t.run(['restart', String(first.id)]);
    expect(result.code, result.stderr).toBe(0);
    const id = Number(/restarted as job (\d+)/.exec(result.stdout)?.[1]);
    expect(id).toBeGreaterThan(first.id);
    const waited = await t.run(['wait', String(id)]);
    expect(waited.code).toBe(1);
    const again = await t.json(['status', String(id)]);
    expect(again).toMatchObject({
      name: 'again',
      queue,
      priority: 5,
      command: first.command,
      env: { WORD: 'hello' },
      status: 'failed',
      exit_code: 3,
      restarted_from: first.id,
    });
    expect((await t.json(['status', String(first.id)])).restarted_from).toBeNull();
    expect((await t.run(['logs', String(id)])).stdout).toBe('hello\n');
    // Only a finished job: a live one is refused (exit 4), a missing one is not found (exit 3).
    const live = await later(queue, 'live');
    expect((await t.run(['restart', String(live)])).code).toBe(4);
    expect((await t.run(['restart', '999999'])).code).toBe(3);
    await t.run(['cancel', String(live)]);
  });

  it('queue rm removes an empty queue, refuses one holding jobs, and says so for an unknown one', async () => {
    const queue = uniqueMark();
    const warned = await t.run(['queue', 'pause', queue]);
    expect(warned.code).toBe(0);
    expect(warned.stderr).toMatch(new RegExp(`^docket: warning: queue ${queue} has no jobs and no settings`));
    expect((await t.run(['queue', 'rm', queue])).stdout).toBe(`queue ${queue} removed\n`);
    const queues = await t.json(['queue', 'list']);
    expect(queues.map((q: { name: string }) => q.name)).not.toContain(queue);
    expect((await t.run(['queue', 'rm', queue])).code).toBe(3);
    const id = await later(queue, 'holds');
    const held = await t.run(['queue', 'rm', queue]);
    expect(held.code).toBe(4);
    expect(held.stderr).toMatch(new RegExp(`^docket: queue ${queue} holds 1 job, 1 active`));
    await t.run(['cancel', String(id)]);
  });
});
