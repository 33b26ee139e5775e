/**
 * Finding out what is going on, through the real `docket` binary on a real store (SQLite file or
 * PostgreSQL schema, as the vitest project says): why a job failed, its logs attempt by attempt,
 * what `list` hides and why pending jobs wait, workers and the live view, wait's and run's
 * terminal output, and how times and durations read.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, makeHome, type TestHome, waitFor } from '../helpers/cli.js';

let t: TestHome;
const started: ChildProcess[] = [];
beforeAll(() => {
  // On PostgreSQL submits start no worker by default: these tests rely on one being started.
  t = makeHome({ DOCKET_ON_DEMAND: '1' });
});
afterAll(async () => {
  for (const child of started) if (child.exitCode === null) child.kill('SIGKILL');
  await t.cleanup();
});

/** Starts `docket ARGS` and keeps it running; its output collects in the returned buffers. */
function start(args: string[], home: TestHome = t) {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: home.env,
    cwd: home.home,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  const output = { stdout: '', stderr: '' };
  child.stdout?.on('data', (chunk) => (output.stdout += chunk));
  child.stderr?.on('data', (chunk) => (output.stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { child, output, exited };
}

const ended = (id: number, home: TestHome = t) =>
  waitFor(`job ${id} to end`, async () => {
    const job = await home.json(['status', String(id)]);
    return !['pending', 'running', 'suspended'].includes(job.status) && job;
  });

/** `script` gives a command a terminal, to see what people see there (util-linux, on every Linux). */
const hasScript = spawnSync('script', ['--version']).status === 0;
function onTerminal(args: string[], env: Record<string, string> = {}): string {
  const line = [process.execPath, BIN, ...args].map((word) => `'${word.replaceAll("'", "'\\''")}'`).join(' ');
  const result = spawnSync('script', ['-qec', line, '/dev/null'], {
    env: { ...t.env, COLUMNS: '200', TERM: 'xterm', ...env },
    cwd: t.home,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return result.stdout;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escape sequences are what is looked for
const ANSI = /\x1b\[/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: the colour codes, removed to measure rows
const COLOURS = /\x1b\[[0-9;]*m/g;

describe('why a job failed', () => {
  it('status shows the failed attempt and the last lines of stderr and stdout', async () => {
    const job = await t.json([
      'submit',
      '--',
      'sh',
      '-c',
      'for i in $(seq 1 30); do echo out-$i; done; echo bad-thing >&2; exit 3',
    ]);
    await ended(job.id);
    const shown = await t.run(['status', String(job.id)]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/attempt 1 of 1 ended failed \(exit code 3\)/);
    expect(shown.stdout).toMatch(/last lines of stderr[^\n]*\n {2}bad-thing/);
    expect(shown.stdout).toContain('  out-30');
    expect(shown.stdout).toContain('  out-21');
    expect(shown.stdout).not.toContain('  out-20\n'); // ten lines, not the whole log
  });

  it("status shows a handler's stack trace, and logs says a handler writes no log files", async () => {
    const project = mkdtempSync(join(t.home, 'project-'));
    writeFileSync(
      join(project, 'boom.mjs'),
      'export default async function boom() { throw new Error("kaput here"); }\n',
    );
    writeFileSync(
      join(project, 'docket.config.mjs'),
      "export default { types: [{ name: 'boom', handler: './boom.mjs' }] };\n",
    );
    const run = await t.run(['--json', 'run', '--type', 'boom', '--params', '{}'], { cwd: project });
    const job = JSON.parse(run.stdout);
    expect(job.status).toBe('failed');
    const shown = await t.run(['status', String(job.id)], { cwd: project });
    expect(shown.stdout).toMatch(/stack trace:\n {2}Error: kaput here\n +at boom/);
    const logs = await t.run(['logs', String(job.id)], { cwd: project });
    expect(logs.code).toBe(3);
    expect(logs.stderr).toMatch(
      /runs a handler, which writes no log files; its error, stack trace and result are in docket status/,
    );
  });
});

describe('docket logs', () => {
  it('marks where each attempt starts, tails, shows both streams, and follows as JSON lines', async () => {
    const job = await t.json([
      'submit',
      '--max-attempts',
      '2',
      '--retry-delay',
      '0',
      '--',
      'sh',
      '-c',
      'echo "try $DOCKET_ATTEMPT"; echo "oops $DOCKET_ATTEMPT" >&2; [ "$DOCKET_ATTEMPT" = 2 ]',
    ]);
    expect((await ended(job.id)).status).toBe('completed');
    const logs = await t.run(['logs', String(job.id)]);
    expect(logs.stdout).toMatch(
      /^── attempt 1 · started \d\d:\d\d:\d\d ──\ntry 1\n── attempt 2 · started \d\d:\d\d:\d\d ──\ntry 2\n$/,
    );
    const tail = await t.run(['logs', String(job.id), '--tail', '1']);
    expect(tail.stdout).toMatch(/^── attempt 2 · started [\d:]+ ──\ntry 2\n$/);
    const all = await t.run(['logs', String(job.id), '--all']);
    expect(all.stdout).toMatch(
      /── attempt 1 · stdout · [^\n]*\ntry 1\n── attempt 1 · stderr · [^\n]*\noops 1\n── attempt 2 · stdout · [^\n]*\ntry 2\n── attempt 2 · stderr · [^\n]*\noops 2\n$/,
    );
    // One attempt stays exactly what the job wrote.
    const single = await t.json(['submit', '--', 'printf', 'a\nb\nc']);
    await ended(single.id);
    expect((await t.run(['logs', String(single.id)])).stdout).toBe('a\nb\nc');
    expect((await t.run(['logs', String(single.id), '-n', '2'])).stdout).toBe('b\nc');

    const followed = await t.run(['--json', 'logs', '--follow', String(single.id)]);
    const lines = followed.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines).toEqual([
      { id: single.id, stream: 'stdout', line: 'a' },
      { id: single.id, stream: 'stdout', line: 'b' },
      { id: single.id, stream: 'stdout', line: 'c' },
      { id: single.id, event: 'ended', status: 'completed', exit_code: 0, signal: null },
    ]);
  });
});

describe('docket list', () => {
  it('says what it hides and why each pending job waits', async () => {
    const queue = `paused-${Date.now()}`;
    const full = `full-${Date.now()}`;
    await t.run(['queue', 'pause', queue]);
    await t.run(['queue', 'set', full, '--capacity', '1']);
    const parent = await t.json(['submit', '--job-name', 'parent-fails', '--', 'false']);
    await ended(parent.id);
    const heldBack = await t.json(['submit', '--queue', queue, '--job-name', 'held-back', '--', 'true']);
    const delayed = await t.json(['submit', '--delay', '2h', '--job-name', 'later-on', '--', 'true']);
    const runner = await t.json(['submit', '--queue', full, '--job-name', 'sleeper', '--', 'sleep', '30']);
    await waitFor('the sleeper to run', async () => (await t.json(['status', String(runner.id)])).status === 'running');
    const behind = await t.json(['submit', '--queue', full, '--job-name', 'behind', '--', 'true']);

    const listed = await t.run(['list']);
    expect(listed.code).toBe(0);
    const row = (id: number) => listed.stdout.split('\n').find((line) => line.startsWith(`${id}  `)) ?? '';
    expect(listed.stdout.split('\n')[0]).toMatch(/^ID\s+NAME\s+STATUS\s+QUEUE\s+SCHEDULER\s+.*CREATED\s+ELAPSED/);
    expect(row(heldBack.id)).toMatch(new RegExp(`local .* queue ${queue} is paused$`));
    expect(row(behind.id)).toMatch(new RegExp(`queue ${full} is at capacity \\(1 of 1 running\\)$`));
    expect(row(delayed.id)).toMatch(
      /(just now|\d+s ago) .* delayed until (\d{4}-\d\d-\d\d )?\d\d:\d\d:\d\d \(in (1h5\dm|2h)\)$/,
    );
    expect(row(parent.id)).toBe(''); // finished: hidden, and counted
    expect(listed.stdout).toMatch(/\n\d+ finished jobs? not shown \(--all shows them\)\n$/);
    expect(listed.stdout).not.toMatch(ANSI); // piped: no colours

    const limited = await t.run(['list', '--limit', '2']);
    expect(limited.stdout).toMatch(/\nnewest 2 of \d+ shown \(--limit 0 shows all\)\n/);

    const json = await t.json(['list', '-q', queue]);
    expect(json).toHaveLength(1);
    expect(json[0]).toMatchObject({ id: heldBack.id, state_reason: `queue ${queue} is paused` });
    expect(json[0].created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    await t.run(['cancel', String(runner.id), String(behind.id), String(heldBack.id), String(delayed.id)]);
  });

  it("says when no live worker of the queue runs a pending job's type", async () => {
    // A home of its own, without on-demand workers: only this worker serves the queue.
    const own = makeHome({ DOCKET_ON_DEMAND: '0' });
    try {
      const project = mkdtempSync(join(own.home, 'project-'));
      writeFileSync(join(project, 'noop.mjs'), 'export default async function noop() {}\n');
      writeFileSync(
        join(project, 'docket.config.mjs'),
        "export default { types: [{ name: 'noop', handler: './noop.mjs' }] };\n",
      );
      const queue = `typed-${Date.now()}`;
      const worker = start(['worker', '--no-config', '--queue', queue], own);
      await waitFor('the worker to register', async () =>
        (await own.json(['workers'])).some((w: { pid: number }) => w.pid === worker.child.pid),
      );
      const job = await own.json(['submit', '--queue', queue, '--type', 'noop', '--params', '{}'], { cwd: project });
      const reason = `no live worker runs type noop (workers of queue ${queue} run: command)`;
      const listed = await own.run(['list', '-q', queue]);
      expect(listed.stdout.split('\n').find((line) => line.startsWith(`${job.id}  `))).toMatch(
        new RegExp(`${reason.replace(/[()]/g, '\\$&')}$`),
      );
      expect((await own.json(['list', '-q', queue]))[0]).toMatchObject({ id: job.id, state_reason: reason });
      worker.child.kill('SIGTERM');
      await worker.exited;
    } finally {
      await own.cleanup();
    }
  });

  it('filters by type, name glob, creation time, tenant and state in any case', async () => {
    const failing = await t.json(['submit', '--job-name', 'filter-fails', '--', 'false']);
    await ended(failing.id);
    const count = async (args: string[]) => (await t.json(['list', ...args])).length;
    const [byState, byGlob, notAGlob, since, until, tenant] = await Promise.all([
      t.json(['list', '-s', 'FAILED', '-n', 'filter-*']),
      count(['--all', '--name', 'FILTER-F?ILS', '--type', 'command']),
      count(['--all', '--name', 'filter', '--type', 'command']),
      count(['--all', '-n', 'filter-*', '--since', '1h']),
      count(['--all', '-n', 'filter-*', '--until', '1h']),
      count(['--all', '-n', 'filter-*', '--tenant', 'nobody']),
    ]);
    expect(byState.map((job: { id: number }) => job.id)).toEqual([failing.id]);
    expect([byGlob, notAGlob, since, until, tenant]).toEqual([1, 0, 1, 0, 0]);
    const badState = await t.run(['list', '-s', 'FINISHED']);
    expect(badState.code).toBe(2);
    expect(badState.stderr).toMatch(/--status.*"FINISHED" is not a state/);
  });

  it('elapsed time does not keep counting while a job waits for its retry', async () => {
    const job = await t.json([
      'submit',
      '--max-attempts',
      '2',
      '--retry-delay',
      '1h',
      '--',
      'sh',
      '-c',
      'sleep 1.2; exit 1',
    ]);
    await waitFor('the first attempt to fail', async () => {
      const shown = await t.json(['status', String(job.id)]);
      return shown.status === 'pending' && shown.attempts === 1;
    });
    const listed = await t.run(['list']);
    const row = listed.stdout.split('\n').find((line) => line.startsWith(`${job.id}  `)) ?? '';
    // Columns: … TRIES CREATED ELAPSED EXIT NOTE; no elapsed time while it waits.
    expect(row).toMatch(
      /pending \(delayed\) .* 1\/2 +(just now|\S+ ago) +- +1 +waiting to retry \(attempt 2 of 2\) until /,
    );
    await t.run(['cancel', String(job.id)]);
  });
});

describe('workers and the live view', () => {
  it('docket workers lists a live worker; the worker logs each job start and end as JSON when piped', async () => {
    // A home of its own, without on-demand workers: only this worker runs the job.
    const own = makeHome({ DOCKET_ON_DEMAND: '0' });
    try {
      await workerLogsJobs(own);
    } finally {
      await own.cleanup();
    }
  });

  it('docket top redraws queues, workers and jobs until Ctrl-C', async () => {
    await t.run(['queue', 'set', 'watched', '--capacity', '2']);
    const top = start(['top']);
    await waitFor(
      'a frame',
      () => top.output.stdout.includes('watched') && top.output.stdout.includes('Ctrl-C to stop'),
    );
    top.child.kill('SIGINT');
    expect(await top.exited).toBe(0);
    expect(top.output.stdout).toMatch(/QUEUE +STATE +CAPACITY +PENDING +RUNNING/);
    expect(top.output.stdout).toMatch(/\nwatched +active +2 +\d+ +\d+/);
    for (const args of [['top'], ['list', '--watch']]) {
      const refused = await t.run(['--json', ...args]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/^docket: --json: a live view is for people; for JSON use docket list --json/);
    }
  });
});

/** A worker of `home` shows in `docket workers`, and logs the start and end of a job it runs. */
async function workerLogsJobs(home: TestHome): Promise<void> {
  const worker = start(['worker', '--queue', 'observed', '--concurrency', '3'], home);
  const listed = await waitFor('the worker to register', async () => {
    const workers = await home.json(['workers']);
    return workers.find((w: { pid: number }) => w.pid === worker.child.pid);
  });
  expect(listed).toMatchObject({ queues: ['observed'], concurrency: 3, alive: true, running_jobs: [] });
  expect(listed.heartbeat_at).toMatch(/Z$/);
  const text = await home.run(['workers']);
  expect(text.stdout).toMatch(/^WORKER +HOST +PID +QUEUES +RUNNING +HEARTBEAT +AGE/);
  expect(text.stdout).toMatch(new RegExp(`${listed.id} +\\S+ +${worker.child.pid} +observed +0/3 `));

  const job = await home.json(['submit', '--queue', 'observed', '--job-name', 'logged', '--', 'sh', '-c', 'exit 4']);
  await ended(job.id, home);
  const lines = await waitFor('the end of the job in the worker log', () => {
    const parsed = worker.output.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line));
    return parsed.some((line) => line.job === job.id && line.outcome) && parsed;
  });
  expect(lines.find((line) => line.job === job.id && !line.outcome)).toMatchObject({
    level: 30,
    name: 'logged',
    msg: `job ${job.id} started`,
  });
  const end = lines.find((line) => line.job === job.id && line.outcome);
  expect(end).toMatchObject({ level: 30, name: 'logged', outcome: 'failed', exit_code: 4 });
  expect(end.duration_ms).toBeGreaterThanOrEqual(0);
  expect(end.msg).toMatch(new RegExp(`^job ${job.id} failed after \\d+(ms|\\.\\ds|s)$`));
  worker.child.kill('SIGTERM');
  expect(await worker.exited).toBe(0);
}

describe('on a terminal (through `script`, from util-linux)', () => {
  beforeAll(() => {
    if (!hasScript) throw new Error('these tests need `script` from util-linux (apt-get install bsdutils)');
  });

  it('wait counts the jobs that ended and names the one it still waits for', async () => {
    const quick = await t.json(['submit', '--', 'true']);
    const slow = await t.json(['submit', '--', 'sleep', '2']);
    const shown = onTerminal(['wait', String(quick.id), String(slow.id)]);
    expect(shown).toMatch(new RegExp(`1/2 jobs ended \\| waiting for #${slow.id} \\(running\\)`));
    expect(shown).toContain('2/2 jobs ended');
    expect(shown).not.toContain('{total}');
    expect(shown).not.toMatch(/\/100 jobs/);
  });

  it('run shows ::progress as a bar instead of the raw lines; list is coloured and fitted', async () => {
    const shown = onTerminal([
      'run',
      '--',
      'sh',
      '-c',
      'echo before; echo "::progress 0.5 halfway"; sleep 0.3; echo after',
    ]);
    expect(shown).toMatch(/\[#{15} {15}\] 50% halfway/);
    expect(shown).toContain('before');
    expect(shown).toContain('after');
    expect(shown).not.toContain('::progress');
    const listed = onTerminal(['list', '--all'], { COLUMNS: '80' });
    expect(listed).toMatch(ANSI);
    const rows = listed.replace(COLOURS, '').split(/\r?\n/).filter(Boolean);
    expect(rows.length).toBeGreaterThanOrEqual(2); // the header alone is wider than 80 columns
    for (const row of rows) expect(row.length).toBeLessThanOrEqual(80);
    const plain = spawnSync('script', ['-qec', `'${process.execPath}' '${BIN}' list --all`, '/dev/null'], {
      env: { ...t.env, NO_COLOR: '1' },
      cwd: t.home,
      encoding: 'utf8',
    });
    expect(plain.stdout).not.toMatch(ANSI);
  });
});

describe('run says when its job waits', () => {
  it('names a paused queue on stderr, then runs when the queue resumes', async () => {
    const queue = `gate-${Date.now()}`;
    await t.run(['queue', 'pause', queue]);
    const run = start(['run', '--queue', queue, '--', 'echo', 'through']);
    await waitFor('the notice', () => run.output.stderr.includes(`is waiting: queue ${queue} is paused`));
    await t.run(['queue', 'resume', queue]);
    expect(await run.exited).toBe(0);
    expect(run.output.stdout).toBe('through\n');
  });
});

describe('times and durations', () => {
  it('print as typed, in local time with the local date', async () => {
    const at = new Date();
    at.setUTCDate(at.getUTCDate() + 3);
    at.setUTCHours(12, 0, 0, 0);
    const job = await t.json(['submit', '--at', at.toISOString(), '--time-limit', '2h', '--', 'true']);
    // UTC+14: noon UTC is 02:00 on the next day there.
    const shown = await t.run(['status', String(job.id)], { env: { TZ: 'Etc/GMT-14' } });
    const next = new Date(at.getTime() + 86400_000).toISOString().slice(0, 10);
    expect(shown.stdout).toContain(`run at:     ${next} 02:00:00\n`);
    expect(shown.stdout).toContain('time limit: 2h\n');
    expect(shown.stdout).toMatch(new RegExp(`reason: +delayed until ${next} 02:00:00 \\(in \\d+d(\\d+h)?\\)`));
    await t.run(['cancel', String(job.id)]);
  });
});
