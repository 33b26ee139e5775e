/**
 * Whole-tree process control against real process trees (on either engine): time limits, cancel (grandchildren that
 * called setsid included), signals, suspend/resume with SIGSTOP/SIGCONT, progress lines.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, makeHome, processesWithEnv, processState, type TestHome, uniqueMark, waitFor } from '../helpers/cli.js';

let t: TestHome;
beforeAll(() => {
  // On PostgreSQL submits start no worker by default: these tests rely on one being started.
  t = makeHome({ DOCKET_ON_DEMAND: '1' });
});
afterAll(() => t.cleanup());

const status = (id: number) => t.json(['status', String(id)]);

/** A tree of three sleeping processes: a background child, a setsid grandchild, and a foreground one. */
const TREE = 'sleep 300 & setsid sh -c "sleep 301" & sleep 302; wait';

describe('time limits', () => {
  it('a time limit of 1s on sleep 30 ends timeout and leaves no process of the tree alive', async () => {
    const mark = uniqueMark();
    const job = await t.json(['submit', '--time-limit', '1s', '--env', `MARK=${mark}`, '--cmd', TREE]);
    await waitFor('the whole tree to start', () => processesWithEnv('MARK', mark).length >= 4, 20_000);
    const done = await waitFor(
      'the timeout',
      async () => {
        const current = await status(job.id);
        return current.status === 'timeout' && current;
      },
      20_000,
    );
    expect(done.error).toBe('time limit of 1s exceeded');
    expect(done.executions[0]).toMatchObject({ status: 'timeout' });
    await waitFor('every process of the tree to be gone', () => processesWithEnv('MARK', mark).length === 0, 10_000);
  });

  it('a job that ignores SIGTERM is killed after the grace period', async () => {
    const mark = uniqueMark();
    const job = await t.json([
      'submit',
      '--time-limit',
      '1s',
      '--env',
      `MARK=${mark}`,
      '--cmd',
      'trap "" TERM; sleep 300 & wait; sleep 300',
    ]);
    const done = await waitFor(
      'the timeout',
      async () => {
        const current = await status(job.id);
        return current.status === 'timeout' && current;
      },
      30_000,
    );
    expect(done.signal).toBe('SIGKILL');
    await waitFor('no process left', () => processesWithEnv('MARK', mark).length === 0, 10_000);
  });
});

describe('cancel', () => {
  it('stops the whole tree, grandchildren that called setsid included', async () => {
    const mark = uniqueMark();
    const job = await t.json(['submit', '--env', `MARK=${mark}`, '--cmd', TREE]);
    await waitFor('the whole tree to start', () => processesWithEnv('MARK', mark).length >= 4, 20_000);
    const result = await t.run(['cancel', String(job.id)]);
    expect(result.code).toBe(0);
    expect(processesWithEnv('MARK', mark)).toEqual([]);
    const current = await status(job.id);
    expect(current).toMatchObject({ status: 'cancelled', error: 'cancelled by user' });
    expect(current.executions[0]).toMatchObject({ status: 'cancelled' });
  });

  it('cancels a pending job before it runs', async () => {
    const job = await t.json(['submit', '--delay', '1h', '--cmd', 'echo never']);
    expect(job.status).toBe('pending');
    const [cancelled] = await t.json(['cancel', String(job.id)]);
    expect(cancelled.status).toBe('cancelled');
    expect((await status(job.id)).executions).toEqual([]);
  });
});

describe('outcomes', () => {
  it('exit 3 ends failed with exit code 3', async () => {
    const job = await t.json(['submit', '--cmd', 'exit 3']);
    const done = await waitFor('the end', async () => {
      const current = await status(job.id);
      return current.status === 'failed' && current;
    });
    expect(done).toMatchObject({ exit_code: 3, signal: null, error: 'exited with code 3' });
  });

  it('a job killed by a signal fails naming the signal', async () => {
    const job = await t.json(['submit', '--cmd', 'kill -KILL $$']);
    const done = await waitFor('the end', async () => {
      const current = await status(job.id);
      return current.status === 'failed' && current;
    });
    expect(done).toMatchObject({ exit_code: null, signal: 'SIGKILL', error: 'killed by signal SIGKILL' });
    expect((await t.run(['wait', String(job.id)])).code).toBe(1);
  });

  it('a program that does not exist fails with a clear reason', async () => {
    const job = await t.json(['submit', '--', 'no-such-program-docket']);
    const done = await waitFor('the end', async () => {
      const current = await status(job.id);
      return current.status === 'failed' && current;
    });
    expect(done.error).toMatch(/cannot run "no-such-program-docket": no such program/);
    expect(done.exit_code).toBe(127);
  });
});

describe('suspend and resume', () => {
  it('stops the tree with SIGSTOP and continues it with SIGCONT', async () => {
    const mark = uniqueMark();
    const job = await t.json([
      'submit',
      '--env',
      `MARK=${mark}`,
      '--cmd',
      'i=0; while true; do i=$((i+1)); echo $i; sleep 0.05; done',
    ]);
    const running = await waitFor('the job to run', async () => {
      const current = await status(job.id);
      return current.status === 'running' && current.pid && current;
    });
    const [suspended] = await t.json(['suspend', String(job.id)]);
    expect(suspended.status).toBe('suspended');
    await waitFor('the process to stop', () => processState(running.pid) === 'T', 10_000);
    const [resumed] = await t.json(['resume', String(job.id)]);
    expect(resumed.status).toBe('running');
    await waitFor('the process to continue', () => processState(running.pid) !== 'T', 10_000);
    expect((await t.run(['resume', String(job.id)])).code).toBe(4);
    await t.run(['cancel', String(job.id)]);
    await waitFor('no process left', () => processesWithEnv('MARK', mark).length === 0, 10_000);
  });

  it('a suspended job can be cancelled, and its stopped tree is killed', async () => {
    const mark = uniqueMark();
    const job = await t.json(['submit', '--env', `MARK=${mark}`, '--cmd', TREE]);
    await waitFor('the whole tree to start', () => processesWithEnv('MARK', mark).length >= 4, 20_000);
    await t.json(['suspend', String(job.id)]);
    expect((await t.run(['cancel', String(job.id)])).code).toBe(0);
    await waitFor('no process left', () => processesWithEnv('MARK', mark).length === 0, 10_000);
    expect((await status(job.id)).status).toBe('cancelled');
  });
});

describe('progress', () => {
  it('::progress lines on stdout set progress and its message', async () => {
    const job = await t.json(['submit', '--cmd', 'echo "::progress 0.4 loading data"; sleep 30']);
    const current = await waitFor('progress to be read', async () => {
      const now = await status(job.id);
      return now.progress === 0.4 && now;
    });
    expect(current.progress_message).toBe('loading data');
    expect((await t.run(['list'])).stdout).toMatch(/40% loading data/);
    await t.run(['cancel', String(job.id)]);
  });
});

describe('docket run in the foreground', () => {
  it('Ctrl-C cancels the job, stops its tree and exits 130', async () => {
    const mark = uniqueMark();
    const child = spawn(process.execPath, [BIN, 'run', '--env', `MARK=${mark}`, '--cmd', 'echo started; sleep 300'], {
      env: t.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await waitFor('the job to start', () => stdout.includes('started'), 20_000);
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    await waitFor('no process left', () => processesWithEnv('MARK', mark).length === 0, 10_000);
    const [job] = await t.json(['list', '--all', '--limit', '1']);
    expect(job).toMatchObject({ status: 'cancelled', error: 'interrupted (docket run received SIGINT)' });
  });
});
