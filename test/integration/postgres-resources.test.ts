/**
 * PostgreSQL only: two worker processes on one database, each with its own inventory (GPUs 0,1 and
 * GPUs 2,3 of one machine, as two workers given a subset each would be), share the jobs: each job
 * gets only its worker's GPUs, no device is held twice, and a job no worker could fit is refused.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Docket } from '../../src/docket.js';
import { BIN, runProcess, waitFor } from '../helpers/cli.js';
import { dropTestStore, freshPgUrl } from '../helpers/engines.js';

let home: string;
let db: string;
let docket: Docket;
const workers: ChildProcess[] = [];

beforeEach(async () => {
  home = mkdtempSync(join(tmpdir(), 'docket-pg-res-'));
  db = freshPgUrl();
  docket = await Docket.open({ home, db, manageWorkers: false });
});

afterEach(async () => {
  for (const worker of workers.splice(0)) if (worker.exitCode === null) worker.kill('SIGKILL');
  await docket.close();
  await dropTestStore(db);
  rmSync(home, { recursive: true, force: true });
});

async function startWorker(gpus: string): Promise<ChildProcess> {
  const worker = spawn(process.execPath, [BIN, 'worker', '--concurrency', '4'], {
    cwd: home,
    env: { ...process.env, DOCKET_HOME: home, DOCKET_DB: db, DOCKET_GPUS: gpus, DOCKET_CPUS: '8', DOCKET_MEMORY: '8G' },
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  workers.push(worker);
  await waitFor('the worker to register its inventory', async () =>
    (await docket.workers()).some((info) => info.pid === worker.pid && info.inventory),
  );
  return worker;
}

describe('postgres: workers with their own inventories', () => {
  it('two workers hand out only their own GPUs, never one device twice', async () => {
    await startWorker('0,1');
    await startWorker('2,3');
    const file = join(home, 'windows.txt');
    writeFileSync(file, '');
    const command = `s=$(date +%s%3N); sleep 0.4; echo "$DOCKET_JOB_ID $CUDA_VISIBLE_DEVICES $s $(date +%s%3N)" >> ${file}`;
    const jobs = await docket.submitMany(Array.from({ length: 10 }, () => ({ command, resources: { gpuCount: 1 } })));
    const { timedOut } = await docket.wait(
      jobs.map((job) => job.id),
      { timeoutMs: 90_000 },
    );
    expect(timedOut).toBe(false);
    const windows = readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(' '))
      .map(([id, device, start, end]) => ({ id: Number(id), device, start: Number(start), end: Number(end) }));
    expect(windows).toHaveLength(10);
    const byWorker = new Map(
      (await docket.workers()).map((worker) => [worker.id, worker.inventory?.gpus.map((g) => g.index)]),
    );
    const usedBy = new Map<string, Set<string>>();
    for (const window of windows) {
      const job = await docket.get(window.id);
      expect(job.status).toBe('completed');
      // Each job got a GPU of the worker that ran it.
      expect(byWorker.get(job.workerId as string)).toContain(window.device);
      usedBy.set(
        job.workerId as string,
        (usedBy.get(job.workerId as string) ?? new Set()).add(window.device as string),
      );
      const during = windows.filter((other) => other.start <= window.start && other.end > window.start);
      const devices = during.map((other) => other.device);
      expect(new Set(devices).size).toBe(devices.length);
      expect(devices.length).toBeLessThanOrEqual(4);
    }
    expect(usedBy.size).toBe(2); // both workers took part

    // No live worker has 3 GPUs: refused at submit, naming the flag.
    const refused = await runProcess(
      process.execPath,
      [BIN, '--db', db, 'submit', '--gpu-count', '3', '--cmd', 'true'],
      {
        env: { ...process.env, DOCKET_HOME: home },
        cwd: home,
      },
    );
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      /--gpu-count: needs 3 GPUs; no live worker of queue default has that many \(the most is 2 GPUs/,
    );
  });
});
