/**
 * The library facade on each engine (the vitest project picks which): input it refuses the same way
 * on both engines, key sets (refresh and ignore), requeue of skipped jobs, and reads that stay
 * bounded however many jobs the store holds.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidInputError, InvalidStateError, NotFoundError } from '../../src/core/errors.js';
import type { Job } from '../../src/core/words.js';
import { Docket } from '../../src/docket.js';
import { waitFor } from '../helpers/cli.js';
import { endOne } from '../helpers/ends.js';
import { dropTestStore, TEST_ENGINE, testDb } from '../helpers/engines.js';

let home: string;
let db: string;
let docket: Docket;

beforeEach(async () => {
  home = mkdtempSync(join(tmpdir(), 'docket-facade-'));
  db = testDb(home);
  docket = await Docket.open({ home, db, manageWorkers: false });
});

afterEach(async () => {
  await docket.close();
  await dropTestStore(db);
  rmSync(home, { recursive: true, force: true });
});

describe(`input refused alike on every engine: ${TEST_ENGINE}`, () => {
  it('accepts the 32-bit priority range and refuses beyond it (item 24)', async () => {
    for (const priority of [2 ** 31, -(2 ** 31) - 1, 3_000_000_000, 2 ** 53]) {
      await expect(docket.submit({ command: 'true', priority })).rejects.toThrow(InvalidInputError);
    }
    const top = await docket.submit({ command: 'true', priority: 2 ** 31 - 1 });
    const bottom = await docket.submit({ command: 'true', priority: -(2 ** 31) });
    expect((await docket.get(top.id)).priority).toBe(2 ** 31 - 1);
    expect((await docket.get(bottom.id)).priority).toBe(-(2 ** 31));
    expect(await docket.list({ limit: 10 })).toHaveLength(2);
  });

  it('refuses time limits, retry delays and start times beyond 100 years (item 24)', async () => {
    const years3000 = 3000 * 365 * 86400;
    await expect(docket.submit({ command: 'true', timeLimitSeconds: years3000 })).rejects.toThrow(/time_limit/);
    await expect(docket.submit({ command: 'true', retry: { delaySeconds: years3000 } })).rejects.toThrow(/retry_delay/);
    await expect(docket.submit({ command: 'true', runAt: Date.now() + years3000 * 1000 })).rejects.toThrow(/run_at/);
    expect(await docket.list()).toHaveLength(0);
  });

  it('stores a relative cwd resolved against the submitter folder, and refuses a missing one (item 5)', async () => {
    const folder = join(home, 'data');
    mkdirSync(folder);
    const before = process.cwd();
    process.chdir(home);
    try {
      const job = await docket.submit({ command: 'pwd', cwd: 'data' });
      expect(job.cwd).toBe(folder);
      expect((await docket.get(job.id)).cwd).toBe(folder);
      await expect(docket.submit({ command: 'pwd', cwd: 'nope' })).rejects.toThrow(/cwd/);
    } finally {
      process.chdir(before);
    }
    expect(await docket.list()).toHaveLength(1);
  });
});

/** Runs one pending job of the store to the given end, as a worker would record it. */
async function finishNext(status: 'completed' | 'failed', onlyIds?: number[]): Promise<Job> {
  const [claimed] = await docket.engine.claim({
    workerId: 'w1',
    host: 'test-host',
    pid: 1,
    queues: ['*'],
    scheduler: 'local',
    types: ['*'],
    limit: 1,
    leaseMs: 60_000,
    onlyIds,
  });
  if (!claimed) throw new Error('nothing to claim');
  const recorded = await endOne(docket.engine, {
    how: 'outcome',
    jobId: claimed.id,
    runNo: claimed.runNo,
    outcome: {
      status,
      error: status === 'failed' ? 'boom' : null,
    },
  });
  return recorded as Job;
}

describe(`key sets: ${TEST_ENGINE}`, () => {
  beforeEach(() => {
    docket.define({ name: 'work', handler: async () => null });
  });

  it('refresh with removeMissing keeps pending jobs that others wait for, and jobs without a key (item 6)', async () => {
    await docket.refresh('work', ['a', 'b', 'c']);
    const b = (await docket.findByKey('work', 'b')) as Job;
    const dependent = await docket.submit({ command: 'true', dependsOn: [b.id] });
    const keyless = await docket.submit({ type: 'work' });
    const result = await docket.refresh('work', ['a'], { removeMissing: true });
    expect(result).toMatchObject({ added: 0, existing: 1, removed: 1, kept: 1 });
    expect(await docket.findByKey('work', 'c')).toBeNull();
    expect((await docket.get(b.id)).status).toBe('pending');
    expect((await docket.get(keyless.id)).status).toBe('pending');
    // The dependent still gets to run once b completes.
    await finishNext('completed', [b.id]);
    const released = await docket.get(dependent.id);
    expect(released).toMatchObject({ status: 'pending', blockedBy: 0 });
  });

  it('ignore refuses a failed job through the state machine, and skips a pending one (item 9)', async () => {
    const job = await docket.submit({ type: 'work', key: 'k1', params: 'k1' });
    await finishNext('failed');
    await expect(docket.ignore('work', 'k1')).rejects.toThrow(InvalidStateError);
    await expect(docket.ignore('work', 'k1')).rejects.toThrow(/job \d+ is failed.*requeue/);
    expect((await docket.get(job.id)).status).toBe('failed');
    const pending = await docket.submit({ type: 'work', key: 'k2', params: 'k2' });
    expect((await docket.ignore('work', 'k2')).status).toBe('skipped');
    expect((await docket.get(pending.id)).error).toBe('ignored');
    expect((await docket.ignore('work', 'k3')).status).toBe('skipped');
  });
});

describe(`requeue of a skipped job: ${TEST_ENGINE}`, () => {
  it('is refused while a dependency is still failed, naming it; allowed once the dependency is requeued (item 21)', async () => {
    const parent = await docket.submit({ command: 'false' });
    const child = await docket.submit({ command: 'true', dependsOn: [parent.id] });
    await finishNext('failed', [parent.id]);
    expect((await docket.get(child.id)).status).toBe('skipped');
    const refused = docket.requeue(child.id);
    await expect(refused).rejects.toThrow(InvalidStateError);
    await expect(refused).rejects.toThrow(new RegExp(`dependency ${parent.id} is failed.*requeue ${parent.id}`));
    expect((await docket.get(child.id)).status).toBe('skipped');
    await docket.requeue(parent.id);
    expect(await docket.requeue(child.id)).toMatchObject({ status: 'pending', blockedBy: 1 });
    await finishNext('completed', [parent.id]);
    expect(await docket.get(child.id)).toMatchObject({ status: 'pending', blockedBy: 0 });
  });
});

describe(`bounded reads: ${TEST_ENGINE}`, () => {
  it('list() returns one default page of 1000; iterate() walks every job page by page (item 17)', async () => {
    const specs = Array.from({ length: 1205 }, (_, i) => ({ command: 'true', key: `k${i}` }));
    await docket.submitMany(specs, { startWorkers: false });
    expect(await docket.list()).toHaveLength(1000);
    expect(await docket.list({ limit: 5000 })).toHaveLength(1205);
    const seen: number[] = [];
    for await (const job of docket.iterate({ statuses: ['pending'] }, { pageSize: 500 })) seen.push(job.id);
    expect(seen).toHaveLength(1205);
    expect(new Set(seen).size).toBe(1205);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
  });

  it('findByKey asks the store for that key only (item 17)', async () => {
    await docket.submitMany(
      Array.from({ length: 50 }, (_, i) => ({ command: 'true', key: `k${i}` })),
      { startWorkers: false },
    );
    const list = docket.engine.list.bind(docket.engine);
    let rowsRead = 0;
    docket.engine.list = async (filter) => {
      const rows = await list(filter);
      rowsRead += rows.length;
      return rows;
    };
    const found = await docket.findByKey('command', 'k42');
    expect(found?.key).toBe('k42');
    expect(await docket.findByKey('command', { no: 'such key' })).toBeNull();
    expect(rowsRead).toBe(1);
  });

  /** Counts the store's reads of whole records (`get`) and of job pages (`search`) from now on. */
  function countReads(): { gets: number; searches: number; rows: number } {
    const counted = { gets: 0, searches: 0, rows: 0 };
    const { get, search } = {
      get: docket.engine.get.bind(docket.engine),
      search: docket.engine.search.bind(docket.engine),
    };
    docket.engine.get = (...args) => {
      counted.gets += 1;
      return get(...args);
    };
    docket.engine.search = async (query) => {
      counted.searches += 1;
      const rows = await search(query);
      counted.rows += rows.length;
      return rows;
    };
    return counted;
  }

  it('wait() reads many jobs 500 to a query, without their attempts, and only those still active (item 13)', async () => {
    const jobs = await docket.submitMany(
      Array.from({ length: 1205 }, () => ({ command: 'true' })),
      { startWorkers: false },
    );
    const ids = jobs.map((job) => job.id);
    await finishNext('completed', [ids[0] as number]);
    const reads = countReads();
    const polls: number[] = [];
    const { jobs: last, timedOut } = await docket.wait(ids, {
      timeoutMs: 1500,
      pollMs: 20,
      onUpdate: (current) => polls.push(current.length),
    });
    expect(timedOut).toBe(true);
    expect(last.map((job) => job.id)).toEqual(ids);
    expect(last[0]?.status).toBe('completed');
    expect(reads.gets).toBe(0);
    expect(polls.length).toBeGreaterThan(1);
    expect(polls.every((length) => length === 1205)).toBe(true);
    expect(reads.searches).toBe(3 * polls.length);
    expect(reads.rows).toBe(1205 + 1204 * (polls.length - 1)); // the ended job is read once
    await expect(docket.wait([ids[1] as number, 999_999])).rejects.toThrow(NotFoundError);
  });

  it('ended() yields each job as it ends, in the order they end, then stops (item 13)', async () => {
    const [a, b, c] = await docket.submitMany([{ command: 'true' }, { command: 'true' }, { command: 'true' }]);
    const ids = [a, b, c].map((job) => (job as Job).id);
    const seen: string[] = [];
    const streaming = (async () => {
      for await (const job of docket.ended(ids, { pollMs: 10 })) seen.push(`${job.id}:${job.status}`);
    })();
    for (const [id, status] of [
      [ids[1], 'failed'],
      [ids[2], 'completed'],
      [ids[0], 'completed'],
    ] as const) {
      const before = seen.length;
      await finishNext(status, [id as number]);
      await waitFor(`job ${id} to be yielded`, () => seen.length > before);
    }
    await streaming;
    expect(seen).toEqual([`${ids[1]}:failed`, `${ids[2]}:completed`, `${ids[0]}:completed`]);
  });

  it('peek() returns the record without attempts in one read; get() adds them (item 13)', async () => {
    const job = await docket.submit({ command: 'true' });
    await finishNext('completed', [job.id]);
    const reads = countReads();
    const peeked = await docket.peek(job.id);
    expect(reads).toMatchObject({ gets: 0, searches: 1 });
    expect(peeked).toMatchObject({ id: job.id, status: 'completed' });
    expect(peeked).not.toHaveProperty('executions');
    expect((await docket.get(job.id)).executions).toHaveLength(1);
    await expect(docket.peek(999_999)).rejects.toThrow(NotFoundError);
  });
});
