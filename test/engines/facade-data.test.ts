/**
 * The library facade on each engine (the vitest project picks which): input it refuses the same way
 * on both engines, key sets (refresh and ignore), requeue of skipped jobs, and reads that stay
 * bounded however many jobs the store holds.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../src/core/errors.js';
import { Docket } from '../../src/docket.js';
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
