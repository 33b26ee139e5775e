/**
 * Local resources without a store: GPU detection parsers against recorded nvidia-smi output (and the
 * real tool when there is one), CPU lists, the fit policy (order, reservation for the head job,
 * backfill), pending reasons and refusals.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pickCores, selectFitting } from '../../src/core/fit.js';
import type { AllocationRecord, ClaimCandidate, Inventory } from '../../src/core/resources.js';
import { formatCpuList, parseCpuList } from '../../src/core/resources.js';
import type { Job, WorkerInfo } from '../../src/core/words.js';
import { detectInventory } from '../../src/resources/inventory.js';
import {
  gpusFromNvidiaSmi,
  NVIDIA_SMI_ARGS,
  parseNvidiaSmiCsv,
  parseProcInformation,
  restrictToVisible,
} from '../../src/resources/nvidia.js';
import { type KnownWorker, pendingReason, refuseImpossible } from '../../src/resources/reasons.js';
import { ROOT } from '../helpers/cli.js';

const fixture = (name: string) => readFileSync(join(ROOT, 'test', 'fixtures', 'gpu', name), 'utf8');

function inventory(gpus: number, cpus: number, memoryGiB = 64): Inventory {
  return {
    gpus: Array.from({ length: gpus }, (_, i) => ({ index: String(i), uuid: null, name: null, memoryBytes: null })),
    cpus: Array.from({ length: cpus }, (_, i) => i),
    memoryBytes: memoryGiB * 2 ** 30,
    pin: false,
    memoryEnforcement: null,
    sources: { gpus: 'test', cpus: 'test', memory: 'test', enforcement: 'not enforced: test' },
  };
}

const job = (id: number, gpuCount?: number, cpuCount?: number): ClaimCandidate => ({
  id,
  queue: 'default',
  resources: { ...(gpuCount !== undefined && { gpuCount }), ...(cpuCount !== undefined && { cpuCount }) },
});

describe('GPU detection', () => {
  it('parses nvidia-smi --query-gpu output recorded on an H200', () => {
    expect(parseNvidiaSmiCsv(fixture('nvidia-smi-query-gpu.csv'))).toEqual([
      {
        index: '0',
        uuid: 'GPU-04b4c401-f809-3e5a-3cc5-4df6c9a880bc',
        name: 'NVIDIA H200',
        memoryBytes: 143771 * 2 ** 20,
      },
    ]);
  });

  it('parses several GPUs and skips blank and malformed lines', () => {
    const text = '0, GPU-a, NVIDIA A100, 81920 MiB\n\nNo devices were found\n1, GPU-b, NVIDIA A100, 81920 MiB\n';
    expect(parseNvidiaSmiCsv(text).map((gpu) => [gpu.index, gpu.uuid])).toEqual([
      ['0', 'GPU-a'],
      ['1', 'GPU-b'],
    ]);
  });

  it("parses the driver's /proc information file", () => {
    expect(parseProcInformation(fixture('proc-driver-nvidia-gpus-information.txt'))).toEqual({
      uuid: 'GPU-04b4c401-f809-3e5a-3cc5-4df6c9a880bc',
      name: 'NVIDIA H200',
      minor: 0,
    });
  });

  it('keeps only the GPUs a CUDA_VISIBLE_DEVICES the worker started with allows (index or UUID)', () => {
    const gpus = parseNvidiaSmiCsv('0, GPU-a, X, 1 MiB\n1, GPU-b, X, 1 MiB\n2, GPU-c, X, 1 MiB\n');
    expect(restrictToVisible(gpus, '2,GPU-a').map((gpu) => gpu.index)).toEqual(['0', '2']);
    expect(restrictToVisible(gpus, '')).toEqual([]);
    expect(restrictToVisible(gpus, undefined)).toHaveLength(3);
  });

  it('reads the real nvidia-smi when there is one (says loudly when there is none)', () => {
    let present = true;
    try {
      execFileSync('nvidia-smi', ['-L'], { stdio: 'ignore' });
    } catch {
      present = false;
    }
    if (!present) {
      console.warn(
        '\n*** NO GPU HERE: nvidia-smi is absent; GPU detection was tested against recorded output only ***\n',
      );
      expect(gpusFromNvidiaSmi()).toBeNull();
      return;
    }
    const raw = execFileSync('nvidia-smi', NVIDIA_SMI_ARGS, { encoding: 'utf8' });
    const gpus = gpusFromNvidiaSmi();
    expect(gpus?.length).toBe(raw.trim().split('\n').length);
    expect(gpus?.every((gpu) => gpu.uuid?.startsWith('GPU-'))).toBe(true);
  });

  it('takes configured GPUs as given, and "none" as no GPUs', () => {
    const settings = { gpus: '0,1,3', cpus: '8', memory: '16G', pin: false };
    const found = detectInventory(settings);
    expect(found.gpus.map((gpu) => gpu.index)).toEqual(['0', '1', '3']);
    expect(found.cpus).toHaveLength(8);
    expect(found.memoryBytes).toBe(16 * 2 ** 30);
    expect(detectInventory({ ...settings, gpus: 'none' }).gpus).toEqual([]);
    expect(() => detectInventory({ ...settings, gpus: '0,0' })).toThrow(/gpus: .* distinct/);
    expect(() => detectInventory({ ...settings, cpus: '0-x' })).toThrow(/cpus:/);
  });

  it("detects this process's CPUs from its affinity", () => {
    const found = detectInventory({ gpus: 'none', cpus: null, memory: null, pin: false });
    const allowed = /^Cpus_allowed_list:\s*(.+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '';
    expect(found.cpus).toEqual(parseCpuList(allowed));
    expect(found.memoryBytes).toBeGreaterThan(0);
  });
});

describe('CPU lists', () => {
  it('parses kernel lists and formats ranges', () => {
    expect(parseCpuList('0-3,8,10-11')).toEqual([0, 1, 2, 3, 8, 10, 11]);
    expect(parseCpuList('3-1')).toBeNull();
    expect(formatCpuList([11, 10, 8, 3, 2, 1, 0])).toBe('0–3,8,10–11');
  });

  it('picks a contiguous run of cores when there is one', () => {
    expect(pickCores([0, 2, 3, 4, 7], 3)).toEqual([2, 3, 4]);
    expect(pickCores([0, 2, 4], 2)).toEqual([0, 2]);
  });
});

describe('the fit policy', () => {
  const held = (jobId: number, gpus: string[], cpus: number[] = []): AllocationRecord => ({
    jobId,
    attempt: 1,
    host: 'h',
    workerId: 'w',
    gpus,
    cpus,
    memoryBytes: 0,
    pinned: false,
    memoryEnforced: false,
  });

  it('hands out free devices only, in claim order, up to the slots', () => {
    const chosen = selectFitting(inventory(4, 8), [held(9, ['1'])], [job(1, 1), job(2, 1), job(3, 1), job(4, 1)], 8);
    expect(chosen.map((choice) => [choice.id, choice.allocation?.gpus])).toEqual([
      [1, ['0']],
      [2, ['2']],
      [3, ['3']],
    ]);
    expect(selectFitting(inventory(4, 8), [], [job(1, 1), job(2, 1), job(3, 1)], 2)).toHaveLength(2);
  });

  it('reserves for the first job that does not fit: smaller jobs behind it do not take what it needs', () => {
    const chosen = selectFitting(inventory(4, 8), [held(9, ['0'])], [job(1, 4), job(2, 1), job(3, 1)], 8);
    expect(chosen).toEqual([]);
  });

  it('backfills jobs that use nothing the head job is short of', () => {
    // The head needs 4 GPUs (1 is held); a CPU-only job behind it still starts, with cores left over.
    const chosen = selectFitting(inventory(4, 8), [held(9, ['0'])], [job(1, 4, 2), job(2, 0, 4), job(3, 0, 4)], 8);
    expect(chosen.map((choice) => [choice.id, choice.allocation?.cpus])).toEqual([[2, [0, 1, 2, 3]]]);
    // A job asking for nothing takes only a slot (one slot stays reserved for the head).
    expect(selectFitting(inventory(4, 8), [held(9, ['0'])], [job(1, 4), job(2), job(3)], 2)).toEqual([
      { id: 2, allocation: null },
    ]);
  });

  it("pins by the worker's default unless the job says otherwise, and only jobs that ask for cores", () => {
    const pinning = { ...inventory(0, 8), pin: true };
    const asked = (pin?: boolean): ClaimCandidate => ({
      id: 1,
      queue: 'q',
      resources: { cpuCount: 2, ...(pin !== undefined && { pin }) },
    });
    expect(selectFitting(pinning, [], [asked()], 1)[0]?.allocation?.pinned).toBe(true);
    expect(selectFitting(pinning, [], [asked(false)], 1)[0]?.allocation?.pinned).toBe(false);
    expect(selectFitting(inventory(0, 8), [], [asked(true)], 1)[0]?.allocation?.pinned).toBe(true);
    expect(
      selectFitting(pinning, [], [{ id: 2, queue: 'q', resources: { memoryBytes: 1 } }], 1)[0]?.allocation?.pinned,
    ).toBe(false);
  });

  it('passes over jobs this worker could never fit (left to other workers)', () => {
    const chosen = selectFitting(inventory(2, 8), [], [job(1, 3), job(2, 1)], 8);
    expect(chosen.map((choice) => choice.id)).toEqual([2]);
  });

  it('a 4-GPU job amid a stream of 1-GPU jobs starts once the jobs ahead of it end (simulation)', () => {
    // Four 1-GPU jobs run; the queue holds the 4-GPU job, then an endless stream of 1-GPU jobs.
    let running: AllocationRecord[] = [0, 1, 2, 3].map((i) => held(100 + i, [String(i)]));
    let nextId = 2;
    const queue: ClaimCandidate[] = [job(1, 4), ...Array.from({ length: 50 }, () => job(nextId++, 1))];
    let completions = 0;
    let bigStartedAfter: number | null = null;
    while (bigStartedAfter === null && completions < 50) {
      running = running.slice(1); // the oldest running job ends
      completions++;
      const chosen = selectFitting(inventory(4, 8), running, queue, 8);
      for (const choice of chosen) {
        queue.splice(
          queue.findIndex((candidate) => candidate.id === choice.id),
          1,
        );
        if (choice.id === 1) bigStartedAfter = completions;
        running.push(held(choice.id, choice.allocation?.gpus ?? []));
      }
    }
    expect(bigStartedAfter).toBe(4);
  });
});

describe('pending reasons and refusals', () => {
  const worker = (host: string, inv: Inventory): KnownWorker =>
    ({ id: host, host, pid: 1, pidStart: 1, queues: ['*'], concurrency: 8, inventory: inv }) as KnownWorker &
      WorkerInfo;
  const pendingJob = (resources: Job['resources']): Job =>
    ({ status: 'pending', scheduler: 'local', queue: 'default', resources, blockedBy: 0, runAt: 0 }) as Job;
  const held = (gpus: string[]): AllocationRecord => ({
    jobId: 5,
    attempt: 1,
    host: 'host-a',
    workerId: 'w',
    gpus,
    cpus: [],
    memoryBytes: 0,
    pinned: false,
    memoryEnforced: false,
  });

  it('says what the job needs and what is free where', () => {
    const reason = pendingReason(
      pendingJob({ gpuCount: 2 }),
      [worker('host-a', inventory(4, 8))],
      [held(['0', '1', '2'])],
    );
    expect(reason).toBe('needs 2 GPUs; 1 of 4 free on host-a');
    expect(pendingReason(pendingJob({ gpuCount: 1 }), [worker('host-a', inventory(4, 8))], [])).toBeNull();
    expect(pendingReason(pendingJob({ gpuCount: 5 }), [worker('host-a', inventory(4, 8))], [])).toBe(
      'needs 5 GPUs; no live worker of queue default has that many (the most is 4 GPUs on host-a)',
    );
  });

  it('refuses what no live worker could fit, naming the flag', () => {
    const workers = [worker('host-a', inventory(4, 8)), worker('host-b', inventory(2, 16))];
    const local = { scheduler: 'local' as const, queue: 'default' };
    expect(() => refuseImpossible({ ...local, resources: { gpuCount: 5 } }, workers)).toThrow(
      /^--gpu-count: needs 5 GPUs/,
    );
    expect(() => refuseImpossible({ ...local, resources: { cpuCount: 32 } }, workers)).toThrow(/^--cpu-count:/);
    expect(() => refuseImpossible({ ...local, resources: { memoryBytes: 2 ** 40 } }, workers)).toThrow(/^--memory:/);
    expect(() => refuseImpossible({ ...local, resources: { gpuCount: 4 } }, workers)).not.toThrow();
    // Each part fits some worker, but no one worker has both: still impossible.
    expect(() => refuseImpossible({ ...local, resources: { gpuCount: 4, cpuCount: 16 } }, workers)).toThrow();
  });
});
