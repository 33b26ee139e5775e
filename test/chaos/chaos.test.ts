/**
 * The short chaos run, on the project's engine (both, through the vitest projects): a handful of
 * SIGKILLed workers and submitters, and an outage of the database, over a few hundred jobs, with
 * the invariants of bench/chaos asserted. `npm run chaos` runs the same scenarios larger and prints
 * their figures.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { outages } from '../../bench/chaos/outages.js';
import { type ChaosStore, killEverything, makeStore, WorkerPool } from '../../bench/chaos/store.js';
import { submitterKills } from '../../bench/chaos/submitters.js';
import { workerKills } from '../../bench/chaos/workers.js';
import { TEST_ENGINE } from '../helpers/engines.js';

let store: ChaosStore;
beforeEach(() => {
  store = makeStore(TEST_ENGINE, process.env.DOCKET_TEST_PG);
});
afterEach(async () => {
  killEverything(); // a test that timed out leaves no worker behind
  await store.remove();
});

const TIMEOUT = 300_000;

it(
  'workers killed with SIGKILL mid-drain: every job completes, none runs twice, no orphan outlives the replacement',
  async () => {
    const result = await workerKills(store, new WorkerPool(store, 4), {
      commands: 100,
      handlers: 100,
      workers: 2,
      concurrency: 4,
      kills: 4,
      jobMs: 200,
      gapMs: [100, 400],
    });
    expect(result.violations).toEqual([]);
    expect(result.figures.SIGKILLs).toBeGreaterThan(0);
  },
  TIMEOUT,
);

it(
  'submitters killed with SIGKILL mid-submit: acknowledged jobs are stored whole, bulk submits all or none',
  async () => {
    const result = await submitterKills(store, { programs: 4, cli: 4 });
    expect(result.violations).toEqual([]);
    expect(result.figures['acknowledged jobs']).toBeGreaterThan(0);
  },
  TIMEOUT,
);

it(
  `the database ${TEST_ENGINE === 'postgres' ? 'connections cut' : 'file locked by another process'} mid-drain: nothing lost, nothing run twice at once`,
  async () => {
    const result = await outages(store, new WorkerPool(store, 4), {
      commands: 100,
      handlers: 100,
      concurrency: 4,
      outages: 3,
      lockMs: 1000,
      jobMs: 200,
    });
    expect(result.violations).toEqual([]);
    expect(result.figures['connection cuts'] ?? result.figures['exclusive locks']).toBeGreaterThan(0);
  },
  TIMEOUT,
);
