/**
 * `npm run chaos`: docket under SIGKILL, cut connections and a locked database, on SQLite and on
 * PostgreSQL, printing what happened and every broken invariant (exit 1 if any). About five
 * minutes; `npm run chaos -- --long` kills 100+ workers per engine and drains 1,000,000 no-op jobs
 * through two workers with their memory sampled (about an hour). Needs `npm run build` first
 * (the workers are dist/cli.js) and, for PostgreSQL, DOCKET_TEST_PG or a server on 127.0.0.1:5432.
 *
 * Options: --long, --engines sqlite,postgres, --scenarios workers,submitters,outages,soak.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { outages } from './chaos/outages.js';
import { soak } from './chaos/soak.js';
import { type ChaosEngine, type ChaosStore, killEverything, makeStore, ROOT, WorkerPool } from './chaos/store.js';
import { submitterKills } from './chaos/submitters.js';
import { type ScenarioResult, workerKills } from './chaos/workers.js';

const { values } = parseArgs({
  options: {
    long: { type: 'boolean', default: false },
    engines: { type: 'string', default: 'sqlite,postgres' },
    scenarios: { type: 'string', default: 'workers,submitters,outages,soak' },
  },
});
const long = values.long as boolean;

/** The sizes of each scenario: the default run, and `--long`. */
const SIZES = {
  workers: long
    ? { commands: 5000, handlers: 5000, workers: 3, concurrency: 4, kills: 100, jobMs: 400, gapMs: [50, 500] }
    : { commands: 2000, handlers: 2000, workers: 3, concurrency: 4, kills: 30, jobMs: 300, gapMs: [200, 1200] },
  submitters: long ? { programs: 100, cli: 100 } : { programs: 30, cli: 30 },
  outages: long
    ? { commands: 2000, handlers: 2000, concurrency: 4, outages: 20, lockMs: 3000, jobMs: 200 }
    : { commands: 1000, handlers: 1000, concurrency: 4, outages: 8, lockMs: 3000, jobMs: 200 },
  soak: { jobs: long ? 1_000_000 : 50_000, concurrency: 16, boundMiB: 64 },
} as const;

type Scenario = keyof typeof SIZES;

async function run(engine: ChaosEngine, scenario: Scenario, pgUrl: string | undefined): Promise<ScenarioResult> {
  const store: ChaosStore = makeStore(engine, pgUrl);
  try {
    switch (scenario) {
      case 'workers': {
        const options = { ...SIZES.workers, gapMs: [...SIZES.workers.gapMs] as [number, number] };
        return await workerKills(store, new WorkerPool(store, options.concurrency), options);
      }
      case 'submitters':
        return await submitterKills(store, SIZES.submitters);
      case 'outages':
        return await outages(store, new WorkerPool(store, SIZES.outages.concurrency), SIZES.outages);
      case 'soak':
        return await soak(store, new WorkerPool(store, SIZES.soak.concurrency), SIZES.soak);
    }
  } finally {
    await store.remove();
  }
}

async function postgresUrl(): Promise<string> {
  const url = process.env.DOCKET_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return url;
  } catch (error) {
    throw new Error(
      `PostgreSQL at ${url} does not answer (${(error as Error).message}): set DOCKET_TEST_PG or use --engines sqlite`,
    );
  } finally {
    await client.end().catch(() => {});
  }
}

const TITLES: Record<Scenario, string> = {
  workers: 'workers killed with SIGKILL while draining',
  submitters: 'submitters killed with SIGKILL mid-submit',
  outages: 'database cut (PostgreSQL) / locked (SQLite) during a drain',
  soak: 'long run: memory of two workers',
};

async function main(): Promise<number> {
  if (!existsSync(join(ROOT, 'dist', 'cli.js'))) throw new Error('dist/cli.js is missing: run npm run build first');
  const engines = (values.engines as string).split(',') as ChaosEngine[];
  const scenarios = (values.scenarios as string).split(',') as Scenario[];
  const pgUrl = engines.includes('postgres') ? await postgresUrl() : undefined;
  let broken = 0;
  console.log(`docket chaos run (${long ? 'long' : 'default'}), ${new Date().toISOString()}`);
  for (const scenario of scenarios) {
    if (!(scenario in SIZES)) throw new Error(`--scenarios: "${scenario}" is not one of ${Object.keys(SIZES)}`);
    for (const engine of engines) {
      const started = Date.now();
      const result = await run(engine, scenario, pgUrl);
      console.log(`\n## ${TITLES[scenario]} — ${engine} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
      for (const [name, value] of Object.entries(result.figures)) console.log(`  ${name}: ${value}`);
      console.log(result.violations.length === 0 ? '  invariants: all held' : '  VIOLATIONS:');
      for (const violation of result.violations.slice(0, 20)) console.log(`    - ${violation}`);
      if (result.violations.length > 20) console.log(`    … and ${result.violations.length - 20} more`);
      broken += result.violations.length;
    }
  }
  console.log(broken === 0 ? '\nevery invariant held' : `\n${broken} violations`);
  return broken === 0 ? 0 : 1;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killEverything();
    process.exit(130);
  });
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(2);
  },
);
