/** The SLURM scheduler's pure parts: quoting, the batch script, sbatch options, state mapping, parsing. */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Job } from '../../src/core/words.js';
import { SlurmCommands } from '../../src/schedulers/slurm/commands.js';
import { FORGOTTEN_AFTER_MS, SlurmScheduler } from '../../src/schedulers/slurm/scheduler.js';
import { batchScript, sbatchArgs, shellJoin, shellQuote, slurmTime } from '../../src/schedulers/slurm/script.js';
import { isFinal, mapState, parseExitCode, parseSacct, parseSqueue } from '../../src/schedulers/slurm/states.js';
import type { StorageEngine } from '../../src/storage/engine.js';

function job(fields: Partial<Job>): Job {
  return {
    id: 7,
    name: 'test job',
    type: 'command',
    status: 'pending',
    scheduler: 'slurm',
    schedulerJobId: null,
    schedulerReason: null,
    queue: 'default',
    priority: 0,
    command: null,
    argv: null,
    cwd: '/tmp',
    env: {},
    resources: {},
    timeLimitSeconds: null,
    attempts: 0,
    runNo: 0,
    maxAttempts: 1,
    retry: { delaySeconds: 0, backoff: 'fixed', jitter: false, maxDelaySeconds: null },
    runAt: 0,
    dependsOn: [],
    group: null,
    cron: null,
    checkpoint: null,
    blockedBy: 0,
    hasDependents: false,
    restartedFrom: null,
    key: null,
    tenant: 'default',
    user: null,
    params: null,
    result: null,
    progress: null,
    progressMessage: null,
    exitCode: null,
    signal: null,
    error: null,
    errorStack: null,
    host: null,
    pid: null,
    pidStart: null,
    workerId: null,
    leaseExpiresAt: null,
    createdAt: 0,
    startedAt: null,
    endedAt: null,
    updatedAt: 0,
    ...fields,
  };
}

/** Runs a batch script with sh and returns what it printed (the work is `printf '[%s]'`-like). */
function runScript(script: string, env: Record<string, string> = {}): string {
  return execFileSync('/bin/sh', ['-s'], { input: script, encoding: 'utf8', env: { PATH: process.env.PATH, ...env } });
}

const tricky = ['plain', 'two words', "it's", '"double"', '$HOME', '`date`', 'a\\b', '*', '', 'new\nline', ';exit 9'];

describe('shell quoting', () => {
  it('leaves safe words alone and quotes the rest', () => {
    expect(shellQuote('--mem=1024M')).toBe('--mem=1024M');
    expect(shellQuote('two words')).toBe("'two words'");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    expect(shellQuote('')).toBe("''");
  });

  it('round-trips every word through a real shell', () => {
    const out = execFileSync('/bin/sh', ['-c', `printf '[%s]' ${shellJoin(tricky)}`], { encoding: 'utf8' });
    expect(out).toBe(tricky.map((word) => `[${word}]`).join(''));
  });
});

describe('batch script', () => {
  it('runs an argument vector as given: bash -c "exit 3" stays three words', () => {
    const script = batchScript(job({ argv: ['bash', '-c', 'exit 3'] }));
    expect(script).toContain("exec bash -c 'exit 3'");
    expect(() => runScript(script)).toThrow(expect.objectContaining({ status: 3 }));
  });

  it('passes tricky arguments through unchanged', () => {
    const script = batchScript(job({ argv: ['printf', '[%s]', ...tricky] }));
    expect(runScript(script)).toBe(tricky.map((word) => `[${word}]`).join(''));
  });

  it('runs a shell string with sh -c, exactly as a local job does', () => {
    const command = `echo "it's $((1+2))"; echo 'a  b' | tr -s ' '; exit 0`;
    expect(runScript(batchScript(job({ command })))).toBe("it's 3\na b\n");
  });

  it("exports the job's environment, quoted, and docket's own variables", () => {
    const script = batchScript(
      job({ id: 42, command: 'echo "$GREETING|$DOCKET_JOB_ID|$DOCKET_ATTEMPT"', env: { GREETING: "hi 'you' $x" } }),
    );
    expect(runScript(script)).toBe("hi 'you' $x|42|1\n");
  });

  it('keeps the name on one comment line', () => {
    expect(batchScript(job({ name: 'a\nb', command: 'true' }))).toContain('# docket job 7: a b\n');
  });
});

describe('sbatch options', () => {
  it('carries resources, time limit, files and the working directory', () => {
    const args = sbatchArgs(
      job({
        name: 'train',
        cwd: '/work/x',
        timeLimitSeconds: 90,
        resources: { cpuCount: 2, memoryBytes: 1024 ** 3, gpuCount: 1, partition: 'gpu', account: 'lab' },
      }),
      { logDir: '/home/a%b/logs/7', afterOk: [] },
    );
    expect(args).toEqual([
      '--parsable',
      '--job-name=train',
      '--chdir=/work/x',
      '--output=/home/a%%b/logs/7/stdout',
      '--error=/home/a%%b/logs/7/stderr',
      '--open-mode=append',
      '--export=NONE',
      '--cpus-per-task=2',
      '--mem=1024M',
      '--gres=gpu:1',
      '--partition=gpu',
      '--account=lab',
      '--time=00:01:30',
    ]);
  });

  it('turns SLURM dependencies into afterok and leaves out what was not asked for', () => {
    const args = sbatchArgs(job({ command: 'true' }), { logDir: '/l', afterOk: ['12', '13'] });
    expect(args).toContain('--dependency=afterok:12:13');
    expect(args).toContain('--kill-on-invalid-dep=yes');
    expect(args.some((arg) => /^--(cpus|mem|gres|time|partition|account)/.test(arg))).toBe(false);
  });

  it('writes time limits as SLURM does', () => {
    expect(slurmTime(1)).toBe('00:00:01');
    expect(slurmTime(60)).toBe('00:01:00');
    expect(slurmTime(0.2)).toBe('00:00:01');
    expect(slurmTime(2 * 86400 + 3661)).toBe('2-01:01:01');
  });
});

describe('SLURM states', () => {
  it.each([
    ['PENDING', 'pending'],
    ['CONFIGURING', 'running'],
    ['RUNNING', 'running'],
    ['COMPLETING', 'running'],
    ['SUSPENDED', 'suspended'],
    ['COMPLETED', 'completed'],
    ['FAILED', 'failed'],
    ['TIMEOUT', 'timeout'],
    ['DEADLINE', 'timeout'],
    ['CANCELLED by 0', 'cancelled'],
    ['CANCELLED+', 'cancelled'],
    ['OUT_OF_MEMORY', 'failed'],
    ['NODE_FAIL', 'failed'],
    ['PREEMPTED', 'failed'],
    ['BOOT_FAIL', 'failed'],
  ])('%s is %s', (state, status) => {
    expect(mapState(state)?.status).toBe(status);
  });

  it('says why for ends that are not the command’s doing, and asks again about unknown states', () => {
    expect(mapState('OUT_OF_MEMORY')?.error).toMatch(/out of memory/);
    expect(mapState('NODE_FAIL')?.error).toMatch(/node failure/);
    expect(mapState('SOMETHING_NEW')).toBeNull();
    expect(isFinal(mapState('PENDING'))).toBe(false);
    expect(isFinal(mapState('TIMEOUT'))).toBe(true);
  });

  it('reads exit codes and signals', () => {
    expect(parseExitCode('3:0')).toEqual({ exitCode: 3, signal: null });
    expect(parseExitCode('0:15')).toEqual({ exitCode: 0, signal: 'SIGTERM' });
    expect(parseExitCode('')).toEqual({ exitCode: null, signal: null });
  });

  it('parses squeue and sacct lines with epoch times', () => {
    // As squeue -h -o '%i|%T|%S|%N|%r' prints with SLURM_TIME_FORMAT=%s (a pending job's reason last).
    const queue = parseSqueue(
      '5|RUNNING|1700000000|localhost|None\n6|PENDING|0||Dependency\n' +
        '7|PENDING|1700000300||ReqNodeNotAvail, UnavailableNodes:n[1-2]\nCLUSTER: docket\n',
    );
    expect(queue.get('5')).toEqual({
      id: '5',
      state: 'RUNNING',
      startedAt: 1_700_000_000_000,
      nodes: 'localhost',
      reason: null,
    });
    expect(queue.get('6')).toMatchObject({ state: 'PENDING', startedAt: null, nodes: null, reason: 'Dependency' });
    expect(queue.get('7')).toMatchObject({ reason: 'ReqNodeNotAvail, UnavailableNodes:n[1-2]' });
    const acct = parseSacct(
      '7|CANCELLED by 0|0:0|1700000000|1700000005|localhost\n7.batch|CANCELLED|0:15|1|2|x\n8|PENDING|0:0|Unknown|Unknown|None assigned\n',
    );
    expect(acct.get('7')).toMatchObject({
      state: 'CANCELLED by 0',
      startedAt: 1_700_000_000_000,
      endedAt: 1_700_000_005_000,
    });
    expect(acct.get('8')).toMatchObject({ startedAt: null, endedAt: null, nodes: null });
    expect(acct.size).toBe(2);
  });
});

describe('SLURM commands and the status sync (fake squeue and sacct)', () => {
  const bin = mkdtempSync(join(tmpdir(), 'docket-fake-slurm-'));
  afterAll(() => rmSync(bin, { recursive: true, force: true }));
  /** A fake SLURM command that logs its argv and prints `output`. */
  const fake = (name: string, output: string, code = 0) => {
    const path = join(bin, name);
    writeFileSync(path, `#!/bin/sh\nprintf '%s\\n' "$*" >> ${bin}/calls\nprintf '%s' '${output}'\nexit ${code}\n`);
    chmodSync(path, 0o755);
  };
  const engine = {} as StorageEngine;

  it('runs commands from the bin folder, on the cluster, through a prefix that takes one command line', async () => {
    fake('squeue', 'ok');
    const direct = new SlurmCommands({ bin, prefix: [], cluster: 'c1' });
    expect(direct.argv('squeue', ['-h'])).toEqual([join(bin, 'squeue'), '--clusters=c1', '-h']);
    const prefixed = new SlurmCommands({ bin, prefix: ['sh', '-c'], cluster: null });
    expect(prefixed.argv('squeue', ['-o', '%i|%T'])).toEqual([
      'sh',
      '-c',
      `SLURM_TIME_FORMAT=%s ${join(bin, 'squeue')} -o '%i|%T'`,
    ]);
    expect(await prefixed.run('squeue', ['-o', '%i|%T'])).toMatchObject({ code: 0, stdout: 'ok' });
  });

  it('asks squeue once for all jobs and sacct once for those it no longer lists', async () => {
    rmSync(join(bin, 'calls'), { force: true });
    fake('squeue', '101|RUNNING|1700000000|n1|None\n106|PENDING|0||Resources\n');
    fake('sacct', '102|FAILED|3:0|1700000000|1700000009|n2\n103|PENDING|0:0|Unknown|Unknown|None assigned\n');
    const scheduler = new SlurmScheduler(engine, { bin, prefix: [], cluster: null }, '/logs', () => {});
    const now = Date.now();
    const observed = await scheduler.observe(
      [
        job({ id: 1, schedulerJobId: '101', updatedAt: now }),
        job({ id: 2, schedulerJobId: '102', updatedAt: now }),
        job({ id: 3, schedulerJobId: '103', updatedAt: now }), // sacct lags: asked again later
        job({ id: 4, schedulerJobId: '104', updatedAt: now }), // not known yet: asked again later
        job({ id: 5, schedulerJobId: '105', updatedAt: now - FORGOTTEN_AFTER_MS - 1 }),
        job({ id: 6, schedulerJobId: '106', updatedAt: now }),
      ],
      now,
    );
    // Each report carries the record it is based on, as read before SLURM was asked.
    const seen = { status: 'pending', updatedAt: now };
    expect(observed).toEqual([
      {
        jobId: 1,
        schedulerJobId: '101',
        seen,
        status: 'running',
        startedAt: 1_700_000_000_000,
        host: 'n1',
        reason: null,
      },
      { jobId: 6, schedulerJobId: '106', seen, status: 'pending', startedAt: null, host: null, reason: 'Resources' },
      expect.objectContaining({
        jobId: 2,
        seen,
        status: 'failed',
        exitCode: 3,
        endedAt: 1_700_000_009_000,
        error: 'exited with code 3',
      }),
      expect.objectContaining({
        jobId: 5,
        seen: { status: 'pending', updatedAt: now - FORGOTTEN_AFTER_MS - 1 },
        status: 'failed',
        error: 'SLURM no longer knows job 105 and has no accounting record of it',
      }),
    ]);
    const { readFileSync } = await import('node:fs');
    const calls = readFileSync(join(bin, 'calls'), 'utf8').trim().split('\n');
    expect(calls).toEqual([
      '-h -o %i|%T|%S|%N|%r --jobs=101,102,103,104,105,106',
      '-n -X -P -o JobID,State,ExitCode,Start,End,NodeList -j 102,103,104,105',
    ]);
  });

  it('treats "Invalid job id" from squeue as an empty queue', async () => {
    fake('squeue', '', 1);
    writeFileSync(
      join(bin, 'squeue'),
      '#!/bin/sh\necho "slurm_load_jobs error: Invalid job id specified" >&2\nexit 1\n',
    );
    fake('sacct', '9|COMPLETED|0:0|1700000000|1700000001|n1\n');
    const scheduler = new SlurmScheduler(engine, { bin, prefix: [], cluster: null }, '/logs', () => {});
    const observed = await scheduler.observe([job({ id: 9, schedulerJobId: '9', updatedAt: Date.now() })]);
    expect(observed).toEqual([expect.objectContaining({ jobId: 9, status: 'completed', exitCode: 0, error: null })]);
  });
});
