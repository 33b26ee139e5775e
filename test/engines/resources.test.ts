/**
 * The storage port's part of local resources, on every engine: a resource-aware claim sees what
 * attempts on its host hold, records what each attempt it starts holds, and concurrent claims on one
 * host never hand out one device twice; an attempt that ends in any way holds nothing any more.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Inventory } from '../../src/core/resources.js';
import { normalizeSpec } from '../../src/core/spec.js';
import type { JobSpec } from '../../src/core/words.js';
import type { ClaimRequest, StorageEngine } from '../../src/storage/engine.js';
import { PostgresEngine } from '../../src/storage/postgres/engine.js';
import { SqliteEngine } from '../../src/storage/sqlite/engine.js';
import { freshPgUrl, TEST_ENGINE } from '../helpers/engines.js';

const FOUR_GPUS: Inventory = {
  gpus: ['0', '1', '2', '3'].map((index) => ({ index, uuid: null, name: null, memoryBytes: null })),
  cpus: [0, 1, 2, 3, 4, 5, 6, 7],
  memoryBytes: 16 * 2 ** 30,
  pin: false,
  memoryEnforcement: null,
  sources: { gpus: 'test', cpus: 'test', memory: 'test', enforcement: 'test' },
};

let engine: StorageEngine;
let dispose: () => Promise<void>;

beforeEach(async () => {
  if (TEST_ENGINE === 'postgres') {
    const pg = await PostgresEngine.connect({ url: freshPgUrl(), poolSize: 8 });
    engine = pg;
    dispose = async () => {
      await pg.dropSchema();
      await pg.close();
    };
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'docket-res-engine-'));
    engine = new SqliteEngine({ path: join(dir, 'docket.db') });
    dispose = async () => {
      await engine.close();
      rmSync(dir, { recursive: true, force: true });
    };
  }
  await engine.migrate();
});

afterEach(() => dispose());

const submit = async (count: number, spec: JobSpec) =>
  (await engine.submit(Array.from({ length: count }, () => normalizeSpec({ command: 'true', ...spec })))).map(
    (result) => result.job,
  );

function claimOn(host: string, limit = 8, workerId = `w-${host}`): ClaimRequest {
  return {
    workerId,
    host,
    pid: 1,
    queues: ['*'],
    scheduler: 'local',
    types: ['*'],
    limit,
    leaseMs: 60_000,
    resources: { inventory: FOUR_GPUS },
  };
}

describe(`local resources in the store: ${TEST_ENGINE}`, () => {
  it('a claim records what each attempt holds, and a finished attempt holds nothing', async () => {
    const jobs = await submit(6, { resources: { gpuCount: 1, cpuCount: 2 } });
    const claimed = await engine.claim(claimOn('host-a'));
    expect(claimed.map((job) => job.id)).toEqual(jobs.slice(0, 4).map((job) => job.id));
    const held = await engine.allocations({ held: true });
    expect(held.map((record) => record.gpus[0]).sort()).toEqual(['0', '1', '2', '3']);
    expect(new Set(held.flatMap((record) => record.cpus)).size).toBe(8);
    expect(held.every((record) => record.host === 'host-a' && record.attempt === 1)).toBe(true);

    const first = claimed[0]!;
    const { claimed: next } = await engine.endAttempts(
      [{ how: 'outcome', jobId: first.id, runNo: first.runNo, outcome: { status: 'completed', exitCode: 0 } }],
      claimOn('host-a', 1),
    );
    expect(next.map((job) => job.id)).toEqual([jobs[4]!.id]);
    const firstGpu = held.find((record) => record.jobId === first.id)!.gpus;
    const now = await engine.allocations({ held: true });
    expect(now.find((record) => record.jobId === jobs[4]!.id)?.gpus).toEqual(firstGpu);
    // History: the finished attempt's allocation is still recorded on it.
    expect((await engine.allocations({ jobIds: [first.id] }))[0]?.gpus).toEqual(firstGpu);
  });

  it('an attempt released at shutdown or settled as lost frees what it held', async () => {
    await submit(4, { resources: { gpuCount: 1 } });
    const claimed = await engine.claim(claimOn('host-a'));
    await engine.endAttempts([
      { how: 'release', jobId: claimed[0]!.id, runNo: claimed[0]!.runNo, reason: 'worker shut down' },
    ]);
    await engine.endAttempts([
      { how: 'lost', jobId: claimed[1]!.id, runNo: claimed[1]!.runNo, reason: 'worker died', processGone: true },
    ]);
    await engine.cancel(claimed[2]!.id, 'cancelled');
    const held = await engine.allocations({ held: true });
    expect(held.map((record) => record.jobId)).toEqual([claimed[3]!.id]);
    // Freed GPUs go to the next claim (the released job, pending again, is first in line).
    const again = await engine.claim(claimOn('host-a'));
    expect(again.map((job) => job.id)).toEqual([claimed[0]!.id]);
  });

  it('what one host holds does not count on another', async () => {
    await submit(8, { resources: { gpuCount: 1 } });
    expect(await engine.claim(claimOn('host-a'))).toHaveLength(4);
    expect(await engine.claim(claimOn('host-b'))).toHaveLength(4);
    const held = await engine.allocations({ held: true });
    for (const host of ['host-a', 'host-b']) {
      expect(
        held
          .filter((record) => record.host === host)
          .map((record) => record.gpus[0])
          .sort(),
      ).toEqual(['0', '1', '2', '3']);
    }
  });

  it('concurrent claims on one host never hand out one device twice', async () => {
    // Each claimer serves its own queue, so they compete for the host's devices, not for jobs.
    for (let i = 0; i < 8; i++) await submit(2, { queue: `q${i}`, resources: { gpuCount: 1 } });
    const claims = await Promise.all(
      Array.from({ length: 8 }, (_, i) => engine.claim({ ...claimOn('host-a', 2, `w${i}`), queues: [`q${i}`] })),
    );
    expect(claims.flat()).toHaveLength(4);
    const held = await engine.allocations({ held: true });
    expect(held.map((record) => record.gpus[0]).sort()).toEqual(['0', '1', '2', '3']);
  });

  it('jobs that ask for nothing are claimed as before, beside jobs that wait for GPUs', async () => {
    const [big] = await submit(1, { resources: { gpuCount: 8 } }); // more than this worker has
    const plain = await submit(3, {});
    const claimed = await engine.claim(claimOn('host-a'));
    expect(claimed.map((job) => job.id)).toEqual(plain.map((job) => job.id));
    expect((await engine.get(big!.id))?.status).toBe('pending');
    expect(await engine.allocations({ held: true })).toEqual([]);
  });
});
