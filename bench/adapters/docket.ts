/**
 * docket as an adapter of the shared peer harness (../shared/bench). `bench/peers.ts` copies the
 * harness to a scratch folder, drops this file into its src/adapters/ with DOCKET_DIST replaced by
 * the absolute path of this repository's dist/index.js, and registers it.
 *
 * docket's own API, as a user would write it: a job type with a no-op handler, `submit` for W1
 * single, `submitMany` for W1 bulk, an in-process worker (`docket.worker`) with the workload's
 * concurrency; wake-ups across processes come from docket's loopback datagram pokes, not polling.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Adapter, AdapterFactory, BenchJob, Consumer, ConsumerOptions, Counts, Producer } from '../types.ts';

// biome-ignore lint/suspicious/noExplicitAny: the docket module is loaded by path at run time
type DocketModule = any;
const load = (): Promise<DocketModule> => import('DOCKET_DIST');

export const create: AdapterFactory = (env, options) => {
  const home = join(env.dataDir, String(options.id ?? 'docket'));
  const postgres = options.engine === 'postgres';
  // On PostgreSQL: a schema of its own in the harness's database (DOCKET_BENCH_SCHEMA names another,
  // so runs from two checkouts at once, or of builds with different migrations, do not collide).
  const schema = process.env.DOCKET_BENCH_SCHEMA ?? 'docket_bench';
  const db = postgres ? pgUrl(env.pgUrl, schema) : join(home, 'docket.db');
  const open = async () => {
    const { Docket } = await load();
    // manageWorkers false: the harness starts its own worker processes; no on-demand worker.
    const docket = await Docket.open({ home, db, manageWorkers: false });
    docket.define({ name: 'bench', handler: () => undefined });
    return docket;
  };
  let admin: DocketModule | null = null;

  const adapter: Adapter = {
    id: String(options.id ?? 'docket'),
    storage: postgres ? 'postgres' : 'sqlite',
    workloads: ['w1-single', 'w1-bulk', 'w2', 'w3', 'w4'],
    pollHintMs: 0,

    async describe() {
      return {
        version: 'docket (this repository)',
        settings: postgres
          ? {
              engine: `postgres (schema ${schema}, pool of 10)`,
              claim: 'batched: FOR UPDATE SKIP LOCKED, as many jobs as the worker has free slots',
              complete: 'batched: outcomes of one event-loop turn and the next claim in one transaction',
              wake: 'LISTEN/NOTIFY sent by the submit; 1 s fallback poll',
            }
          : {
              engine: 'sqlite (WAL, synchronous=NORMAL, BEGIN IMMEDIATE writes)',
              claim: 'batched: one transaction claims as many jobs as the worker has free slots',
              complete: 'batched: outcomes of one event-loop turn are written in one transaction',
              wake: "UDP datagram to the worker's loopback port from the submitting process; 1 s fallback poll",
            },
      };
    },

    async reset() {
      await admin?.close();
      admin = null;
      rmSync(home, { recursive: true, force: true });
      mkdirSync(home, { recursive: true });
      if (postgres) {
        const stale = await open();
        await stale.engine.dropSchema();
        await stale.close();
      }
      const docket = await open();
      await docket.saveTypes();
      await docket.close();
    },

    async counts(): Promise<Counts> {
      admin ??= await open();
      const counts = await admin.counts();
      return { waiting: counts.pending, unfinished: counts.total - counts.completed, completed: counts.completed };
    },

    async producer(): Promise<Producer> {
      const docket = await open();
      return {
        async add(job: BenchJob) {
          await docket.submit({ type: 'bench', params: job });
        },
        async addBulk(jobs: BenchJob[]) {
          await docket.submitMany(jobs.map((job) => ({ type: 'bench', params: job })));
        },
        close: () => docket.close(),
      };
    },

    async consumer({ concurrency, handler }: ConsumerOptions): Promise<Consumer> {
      const docket = await open();
      docket.define({ name: 'bench', handler: ({ params }: { params: BenchJob }) => handler(params) });
      const worker = docket.worker({ concurrency, queues: ['*'] });
      let running: Promise<void> | null = null;
      return {
        start() {
          running = worker.run();
        },
        async stop() {
          worker.stop();
          await running;
          await docket.close();
        },
      };
    },

    async close() {
      await admin?.close();
      admin = null;
    },
  };
  return adapter;
};

function pgUrl(base: string, schema: string): string {
  const url = new URL(base);
  url.searchParams.set('schema', schema);
  return url.toString();
}
