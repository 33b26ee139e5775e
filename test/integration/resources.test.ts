/**
 * Local resources with real worker processes, on both engines: a configured inventory of 4 fake GPUs
 * and 8 CPUs (DOCKET_GPUS, DOCKET_CPUS, DOCKET_MEMORY), jobs that record their CUDA_VISIBLE_DEVICES
 * and time window in a file, pinning checked in /proc/<pid>/status, a worker killed with SIGKILL,
 * refusals at submit, the head job's reservation against a stream of small jobs, and memory limits.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JobSpec } from '../../src/core/words.js';
import { Docket } from '../../src/docket.js';
import { LocalCommandExecutor } from '../../src/executors/local/command.js';
import { memoryEnforcement } from '../../src/resources/cgroup.js';
import { detectInventory } from '../../src/resources/inventory.js';
import { LocalResources } from '../../src/resources/local-resources.js';
import { Worker } from '../../src/worker/worker.js';
import { BIN, gatedCommand, makeHome, type TestHome, waitFor } from '../helpers/cli.js';
import { call, startServer } from '../helpers/server.js';

const INVENTORY = { DOCKET_GPUS: '0,1,2,3', DOCKET_CPUS: '8', DOCKET_MEMORY: '16G' };

let t: TestHome;
let docket: Docket;
let workers: ChildProcess[] = [];
let windows: string;

beforeEach(async () => {
  t = makeHome({ DOCKET_ON_DEMAND: '0', ...INVENTORY });
  docket = await Docket.open({ home: t.home, db: t.db, manageWorkers: false });
  windows = join(t.home, 'windows.txt');
  writeFileSync(windows, '');
});

afterEach(async () => {
  for (const worker of workers) if (worker.exitCode === null) worker.kill('SIGKILL');
  workers = [];
  await docket.close();
  await t.cleanup();
});

/** Starts `docket worker` with an inventory and waits until it has registered it. */
async function startWorker(env: Record<string, string> = {}, concurrency = 8): Promise<ChildProcess> {
  const worker = spawn(process.execPath, [BIN, 'worker', '--concurrency', String(concurrency)], {
    cwd: t.home,
    env: {
      ...process.env,
      DOCKET_HOME: t.home,
      DOCKET_DB: t.db,
      DOCKET_ON_DEMAND: '0',
      DOCKET_GRACE: '1s',
      ...INVENTORY,
      ...env,
    },
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  workers.push(worker);
  await waitFor('the worker to register its inventory', async () =>
    (await docket.workers()).some((info) => info.pid === worker.pid && info.inventory),
  );
  return worker;
}

/** A job that records its job id, CUDA_VISIBLE_DEVICES, NVIDIA_VISIBLE_DEVICES and time window. */
function recorder(gpus: number, seconds = 0.4, extra: Partial<JobSpec> = {}): JobSpec {
  return {
    command: `s=$(date +%s%3N); sleep ${seconds}; echo "$DOCKET_JOB_ID $CUDA_VISIBLE_DEVICES $NVIDIA_VISIBLE_DEVICES $s $(date +%s%3N)" >> ${windows}`,
    resources: { gpuCount: gpus },
    ...extra,
  };
}

interface Window {
  id: number;
  devices: string[];
  nvidia: string;
  start: number;
  end: number;
}

function readWindows(): Window[] {
  return readFileSync(windows, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [id, devices, nvidia, start, end] = line.split(' ');
      return {
        id: Number(id),
        devices: (devices ?? '').split(','),
        nvidia: nvidia ?? '',
        start: Number(start),
        end: Number(end),
      };
    });
}

/** Checks that overlapping windows never share a device and never hold more than `limit` GPUs. */
function expectNoSharing(all: Window[], limit: number): number {
  let most = 0;
  for (const window of all) {
    const during = all.filter((other) => other.start <= window.start && other.end > window.start);
    const devices = during.flatMap((other) => other.devices);
    expect(new Set(devices).size, `devices shared at ${window.start}: ${JSON.stringify(during)}`).toBe(devices.length);
    most = Math.max(most, devices.length);
  }
  expect(most).toBeLessThanOrEqual(limit);
  return most;
}

async function waitAllEnded(ids: number[], timeoutMs = 90_000): Promise<void> {
  const { timedOut } = await docket.wait(ids, { timeoutMs });
  expect(timedOut).toBe(false);
}

describe('local resources: GPUs', () => {
  it('12 one-GPU jobs on 4 GPUs: never more than 4 at once, never a shared device', async () => {
    await startWorker();
    const jobs = await docket.submitMany(Array.from({ length: 12 }, () => recorder(1)));
    await waitAllEnded(jobs.map((job) => job.id));
    const all = readWindows();
    expect(all).toHaveLength(12);
    for (const window of all) {
      expect(window.devices).toHaveLength(1);
      expect(['0', '1', '2', '3']).toContain(window.devices[0]);
      expect(window.nvidia).toBe(window.devices[0]);
    }
    expect(expectNoSharing(all, 4)).toBeGreaterThan(1); // they did run side by side
    for (const job of jobs) expect((await docket.get(job.id)).status).toBe('completed');
  });

  it('2-GPU and 1-GPU jobs mixed share the 4 GPUs without overlap', async () => {
    await startWorker();
    const specs = Array.from({ length: 12 }, (_, i) => recorder(i % 2 === 0 ? 2 : 1));
    const jobs = await docket.submitMany(specs);
    await waitAllEnded(jobs.map((job) => job.id));
    const all = readWindows();
    expect(all).toHaveLength(12);
    for (const window of all) expect(window.devices).toHaveLength(window.id % 2 === jobs[0]!.id % 2 ? 2 : 1);
    expectNoSharing(all, 4);
  });

  it('a job killed with its worker (SIGKILL) releases its GPUs once it is settled', async () => {
    const first = await startWorker();
    const big = await docket.submit({ command: 'sleep 60', resources: { gpuCount: 4 } });
    await waitFor('the 4-GPU job to run', async () => (await docket.get(big.id)).status === 'running');
    const running = await docket.get(big.id);
    expect(running.executions.at(-1)?.allocation?.gpus).toEqual(['0', '1', '2', '3']);
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    const small = await docket.submit(recorder(1, 0.1));
    await startWorker(); // its reconciliation settles the dead worker's job, which frees the GPUs
    await waitAllEnded([small.id]);
    const settled = await docket.get(big.id);
    expect(settled.status).toBe('failed');
    expect(settled.error).toMatch(/died/);
    expect((await docket.get(small.id)).status).toBe('completed');
    expect(await docket.engine.allocations({ held: true })).toEqual([]);
  });

  it('the head job is not starved: a 4-GPU job amid a stream of 1-GPU jobs starts before any job behind it', async () => {
    await startWorker();
    const ahead = await docket.submitMany(Array.from({ length: 8 }, () => recorder(1, 0.3)));
    const big = await docket.submit(recorder(4, 0.3));
    const behind = await docket.submitMany(Array.from({ length: 8 }, () => recorder(1, 0.3)));
    const ids = [...ahead, big, ...behind].map((job) => job.id);
    await waitAllEnded(ids);
    const all = readWindows();
    const bigWindow = all.find((window) => window.id === big.id)!;
    expect(bigWindow.devices).toEqual(['0', '1', '2', '3']);
    const behindIds = new Set(behind.map((job) => job.id));
    // No job behind it started before it ended; it waited for at most the 8 jobs ahead of it.
    for (const window of all.filter((w) => behindIds.has(w.id)))
      expect(window.start).toBeGreaterThanOrEqual(bigWindow.end);
    const endedBefore = all.filter((window) => window.end <= bigWindow.start).length;
    expect(endedBefore).toBeLessThanOrEqual(8);
    expectNoSharing(all, 4);
  });
});

describe('local resources: waiting', () => {
  it('a worker whose next job waits for a GPU sleeps until one is freed (no busy polling)', async () => {
    let claims = 0;
    const counting = new Proxy(docket.engine, {
      get(target, property) {
        const value = Reflect.get(target, property);
        if (typeof value !== 'function') return value;
        if (property === 'claim') claims++;
        return value.bind(target);
      },
    });
    const inventory = detectInventory({ gpus: '0', cpus: '2', memory: '1G', pin: false });
    const worker = new Worker(
      counting,
      [new LocalCommandExecutor()],
      ['command'],
      {
        ...docket.config.worker,
        pollMs: 1000,
        queues: ['*'],
        logsDir: docket.config.logsDir,
        exitWhenIdle: false,
        shutdownGraceMs: 1000,
        resources: new LocalResources(inventory),
      },
      pino({ level: 'silent' }),
    );
    const running = worker.run();
    try {
      const gate = join(t.home, 'gate'); // the first job holds its GPU until the window is over
      const [first, second] = await docket.submitMany([
        { ...recorder(1), command: gatedCommand(gate) },
        recorder(1, 0.1),
      ]);
      await waitFor('the first job to run', async () => (await docket.get(first!.id)).status === 'running');
      claims = 0;
      // A measurement window, not a synchronization: how often the worker claims while nothing fits.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(claims).toBeLessThanOrEqual(4);
      expect((await docket.get(second!.id)).pendingReason).toMatch(/^needs 1 GPU; 0 of 1 free on /);
      writeFileSync(gate, '');
      await waitAllEnded([first!.id, second!.id]);
    } finally {
      worker.stop();
      await running;
    }
  });
});

describe('local resources: refusals and reasons', () => {
  it('a job asking for more GPUs than any live worker has is refused at submit (exit 2), and nothing is stored', async () => {
    await startWorker();
    const refused = await t.run(['submit', '--gpu-count', '5', '--cmd', 'true']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^docket: --gpu-count: needs 5 GPUs; no live worker of queue default has that many/);
    expect(await docket.list({})).toEqual([]);
    for (const [flag, value] of [
      ['--gpu-count', '-1'],
      ['--memory', '12XB'],
    ]) {
      const bad = await t.run(['submit', flag as string, value as string, '--cmd', 'true']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(new RegExp(`^docket: ${flag}: `));
    }
  });

  it('config show and the worker registration show the inventory', async () => {
    const shown = await t.json(['config', 'show']);
    expect(shown.resources.gpus.map((gpu: { index: string }) => gpu.index)).toEqual(['0', '1', '2', '3']);
    expect(shown.resources.cpus).toHaveLength(8);
    expect(shown.resources.memory_bytes).toBe(16 * 2 ** 30);
    expect(shown.resources.sources.gpus).toBe('env DOCKET_GPUS');
    await startWorker({ DOCKET_GPUS: '1,3' });
    const [worker] = await docket.workers();
    expect(worker?.inventory?.gpus.map((gpu) => gpu.index)).toEqual(['1', '3']);
  });

  it('without a live worker the job is accepted, then list and status say why it waits', async () => {
    const job = await docket.submit({ command: 'true', resources: { gpuCount: 5 } });
    await startWorker();
    const listed = await t.run(['list']);
    expect(listed.stdout).toMatch(
      /needs 5 GPUs; no live worker of queue default has that many \(the most is 4 GPUs on /,
    );
    const blocker = await docket.submit({ command: 'sleep 30', resources: { gpuCount: 3 } });
    await waitFor('the 3-GPU job to run', async () => (await docket.get(blocker.id)).status === 'running');
    const waiting = await docket.submit({ command: 'true', resources: { gpuCount: 2 } });
    const status = await t.json(['status', String(waiting.id)]);
    expect(status.pending_reason).toMatch(/^needs 2 GPUs; 1 of 4 free on /);
    const text = await t.run(['status', String(blocker.id)]);
    expect(text.stdout).toMatch(/allocated:\s+GPUs 0,1,2/);
    await docket.cancel(blocker.id);
    await docket.cancel(job.id);
    await waitAllEnded([waiting.id]);
  });
});

describe('local resources over HTTP', () => {
  it('GET /workers shows the inventory; a job no worker could fit is a 400; a waiting job says why', async () => {
    const server = await startServer(t, ['--workers', '1']);
    try {
      const admin = server.adminToken;
      const workers = await waitFor('the server worker to register', async () => {
        const answer = await call(server, admin, 'GET', '/workers');
        return answer.body.workers.find((worker: { inventory: unknown }) => worker.inventory) ?? null;
      });
      expect(workers.inventory.gpus.map((gpu: { index: string }) => gpu.index)).toEqual(['0', '1', '2', '3']);
      expect(workers.inventory.memory_bytes).toBe(16 * 2 ** 30);
      const refused = await call(server, admin, 'POST', '/jobs', { cmd: 'true', resources: { gpu_count: 5 } });
      expect(refused.status).toBe(400);
      expect(refused.body.detail).toMatch(/needs 5 GPUs; no live worker of queue default has that many/);
      const holder = await call(server, admin, 'POST', '/jobs', { cmd: 'sleep 30', resources: { gpu_count: 3 } });
      await waitFor('the 3-GPU job to run', async () => (await docket.get(holder.body.id)).status === 'running');
      const waiting = await call(server, admin, 'POST', '/jobs', {
        cmd: 'true',
        resources: { gpu_count: 2, pin: false },
      });
      const detail = await call(server, admin, 'GET', `/jobs/${waiting.body.id}`);
      expect(detail.body.state_reason).toMatch(/^needs 2 GPUs; 1 of 4 free on /);
      expect(detail.body.resources.pin).toBe(false);
      const held = await call(server, admin, 'GET', `/jobs/${holder.body.id}`);
      expect(held.body.executions.at(-1).allocation.gpus).toEqual(['0', '1', '2']);
      await docket.cancel(holder.body.id);
      await waitAllEnded([waiting.body.id]);
    } finally {
      await server.stop();
    }
  });
});

describe('local resources: CPUs and memory', () => {
  it('pinned jobs run on disjoint cores (/proc/<pid>/status) with OMP_NUM_THREADS set', async () => {
    const cores = Math.min(availableParallelism(), 2);
    if (cores < 2) throw new Error('this test needs 2 cores to pin two jobs apart');
    await startWorker({ DOCKET_CPUS: '0-1' });
    const go = join(t.home, 'go');
    const spec: JobSpec = {
      command: `echo "$OMP_NUM_THREADS" > ${t.home}/omp-$DOCKET_JOB_ID; while [ ! -e ${go} ]; do sleep 0.05; done`,
      resources: { cpuCount: 1, pin: true },
    };
    const jobs = await docket.submitMany([spec, spec]);
    const pids = await waitFor('both pinned jobs to run', async () => {
      const records = await Promise.all(jobs.map((job) => docket.get(job.id)));
      return records.every((record) => record.status === 'running' && record.pid) ? records.map((r) => r.pid!) : null;
    });
    const allowed = pids.map(
      (pid) => /^Cpus_allowed_list:\s*(.+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1],
    );
    expect(allowed.sort()).toEqual(['0', '1']);
    writeFileSync(go, '');
    await waitAllEnded(jobs.map((job) => job.id));
    for (const job of jobs) expect(readFileSync(join(t.home, `omp-${job.id}`), 'utf8').trim()).toBe('1');
    const shown = await t.run(['status', String(jobs[0]!.id)]);
    expect(shown.stdout).toMatch(/allocated:\s+CPUs [01] \(pinned\)/);
  });

  it('memory is enforced with cgroup v2 where writable, else reserved and said to be not enforced', async () => {
    const found = memoryEnforcement();
    console.warn(`\n*** memory enforcement on this machine: ${found.reason} ***\n`);
    await startWorker();
    const hog = `node -e "const b = []; for (let i = 0; i < 64; i++) b.push(Buffer.alloc(8 * 2 ** 20, 1)); console.log('done')"`;
    const job = await docket.submit({ command: hog, resources: { memoryBytes: 64 * 2 ** 20 } });
    await waitAllEnded([job.id]);
    const ended = await docket.get(job.id);
    const shown = await t.run(['status', String(job.id)]);
    if (found.mechanism === null) {
      expect(ended.status).toBe('completed');
      expect(ended.executions.at(-1)?.allocation?.memoryEnforced).toBe(false);
      expect(shown.stdout).toMatch(/memory 64M \(reserved, not enforced\)/);
    } else {
      expect(ended.status).toBe('failed');
      expect(ended.error).toMatch(/^out of memory/);
      expect(shown.stdout).toMatch(/memory 64M \(enforced: cgroup v2 memory.max\)/);
    }
    expect(existsSync(windows)).toBe(true);
  });
});
