/**
 * PostgreSQL with a real one-node SLURM (scripts/slurm/start.sh brings it up; these tests fail,
 * never skip, when it cannot start): a SLURM job submitted inside the caller's transaction reaches
 * SLURM only after that transaction commits, and never if it rolls back.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Docket } from '../../src/docket.js';
import { ROOT, uniqueMark, waitFor } from '../helpers/cli.js';
import { dropTestStore, freshPgUrl, testPgUrl } from '../helpers/engines.js';

const SLURM_ENV = { ...process.env, SLURM_CONF: '/etc/slurm/slurm.conf' };
let home: string;
let db: string;
let docket: Docket;

beforeAll(async () => {
  execFileSync(join(ROOT, 'scripts', 'slurm', 'start.sh'), [], { stdio: 'pipe', timeout: 150_000 });
  home = mkdtempSync(join(tmpdir(), 'docket-pg-slurm-'));
  db = freshPgUrl();
  docket = await Docket.open({ home, db, manageWorkers: false });
}, 180_000);

afterAll(async () => {
  await docket.close();
  await dropTestStore(db);
  rmSync(home, { recursive: true, force: true });
});

/** SLURM's accounting of the jobs with this name: `ID|STATE` lines. */
function slurmAccounting(name: string): string[] {
  const output = execFileSync('sacct', ['-n', '-X', '-P', `--name=${name}`, '-o', 'JobID,State', '-S', 'now-1hour'], {
    env: SLURM_ENV,
    encoding: 'utf8',
  });
  return output.split('\n').filter(Boolean);
}

/** Names of the jobs SLURM queues or runs now. */
function slurmJobNames(): string[] {
  return execFileSync('squeue', ['-h', '-o', '%j'], { env: SLURM_ENV, encoding: 'utf8' }).split('\n');
}

async function inTransaction(work: (client: pg.Client) => Promise<void>, end: 'COMMIT' | 'ROLLBACK') {
  const client = new pg.Client({ connectionString: testPgUrl() });
  await client.connect();
  try {
    await client.query('BEGIN');
    await work(client);
    await client.query(end);
  } finally {
    await client.end();
  }
}

describe('postgres + SLURM: transactional submit (item 15)', () => {
  it('runs sbatch only after the caller commits', { timeout: 120_000 }, async () => {
    const name = `tx-${uniqueMark()}`;
    let id = 0;
    await inTransaction(async (client) => {
      const job = await docket.submit(
        { scheduler: 'slurm', name, command: 'sleep 3; echo committed' },
        { connection: client },
      );
      id = job.id;
      expect(job.schedulerJobId).toBeNull();
      expect(slurmJobNames()).not.toContain(name);
    }, 'COMMIT');
    const { jobs, timedOut } = await docket.wait([id], { timeoutMs: 90_000, pollMs: 250 });
    expect(timedOut).toBe(false);
    expect(jobs[0]).toMatchObject({ status: 'completed', exitCode: 0 });
    expect(jobs[0]?.schedulerJobId).toMatch(/^\d+$/);
    expect(readFileSync(docket.logPaths(id).stdout, 'utf8')).toBe('committed\n');
    // SLURM's accounting knows exactly one job of that name: no copy was submitted (and cancelled)
    // before the commit.
    const submitted = await waitFor('the accounting record', () => {
      const lines = slurmAccounting(name);
      return lines.some((line) => line.endsWith('|COMPLETED')) && lines;
    });
    expect(submitted).toEqual([`${jobs[0]?.schedulerJobId}|COMPLETED`]);
  });

  it('never reaches SLURM when the caller rolls back', async () => {
    const name = `rb-${uniqueMark()}`;
    await inTransaction(async (client) => {
      await docket.submit({ scheduler: 'slurm', name, command: 'sleep 30' }, { connection: client });
    }, 'ROLLBACK');
    await docket.list({ scheduler: 'slurm' }); // a sync, as every read does
    expect(slurmJobNames()).not.toContain(name);
    expect(await docket.list({ scheduler: 'slurm', statuses: ['pending'] })).toEqual([]);
  });
});
