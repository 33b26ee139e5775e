/**
 * The long run: many no-op handler jobs through two `docket worker` processes, with the resident
 * memory of both sampled throughout. After a warm-up (the first tenth of the jobs), memory must
 * stay flat: no worker may grow by more than `boundMiB` above its warm-up level.
 */
import { readFileSync } from 'node:fs';
import { type ChaosStore, pause, rssMiB, until, type WorkerPool } from './store.js';
import { defineChaosTypes, type ScenarioResult, waitRegistered } from './workers.js';

export interface SoakOptions {
  jobs: number;
  concurrency: number;
  /** Most a worker's RSS may rise above its level at the end of the warm-up. */
  boundMiB: number;
}

interface Sample {
  completed: number;
  rss: (number | null)[];
}

export async function soak(store: ChaosStore, pool: WorkerPool, options: SoakOptions): Promise<ScenarioResult> {
  const violations: string[] = [];
  const docket = await store.open();
  defineChaosTypes(docket);
  try {
    const submitStarted = Date.now();
    const chunk = 10_000;
    for (let done = 0; done < options.jobs; done += chunk) {
      const size = Math.min(chunk, options.jobs - done);
      await docket.submitMany(Array.from({ length: size }, () => ({ type: 'noop' })));
    }
    const submitSeconds = (Date.now() - submitStarted) / 1000;
    const workers = [pool.start(), pool.start()];
    await waitRegistered(docket, pool);
    const started = Date.now();
    const samples: Sample[] = [];
    await until(
      'the long run to drain',
      async () => {
        const completed = (await docket.counts()).completed;
        samples.push({ completed, rss: workers.map((worker) => rssMiB(worker.pid)) });
        if (completed < options.jobs) await pause(1000);
        return completed === options.jobs || pool.unexpectedExits().length > 0;
      },
      3 * 3600_000,
    );
    const seconds = (Date.now() - started) / 1000;
    for (const worker of pool.unexpectedExits()) {
      violations.push(`worker ${worker.pid} exited by itself (${JSON.stringify(worker.exit)}): ${pool.tail(worker)}`);
    }
    // Two statements that lock job rows in different orders show up here first (PostgreSQL, 40P01).
    for (const worker of pool.all) {
      const deadlocks = readFileSync(worker.log, 'utf8').match(/deadlock detected/g);
      if (deadlocks) violations.push(`worker ${worker.pid} logged ${deadlocks.length} deadlocks`);
    }
    const warm = samples.find((sample) => sample.completed >= options.jobs / 10) ?? samples[0];
    const after = samples.filter((sample) => sample.completed >= (warm?.completed ?? 0));
    const figures: ScenarioResult['figures'] = {
      jobs: options.jobs,
      workers: `2 × concurrency ${options.concurrency}`,
      'submit (s, batches of 10,000)': submitSeconds.toFixed(1),
      'drain (s)': seconds.toFixed(1),
      'jobs/s': Math.round(options.jobs / seconds),
    };
    for (let w = 0; w < workers.length; w++) {
      const series = after.map((sample) => sample.rss[w]).filter((rss): rss is number => rss !== null);
      const base = warm?.rss[w] ?? null;
      const peak = Math.max(...series);
      const last = series.at(-1) ?? null;
      figures[`worker ${w + 1} RSS MiB: warm-up / peak after / end`] =
        `${base?.toFixed(0)} / ${peak.toFixed(0)} / ${last?.toFixed(0)}`;
      figures[`worker ${w + 1} RSS MiB at each tenth`] = tenths(samples, w, options.jobs);
      if (base !== null && peak - base > options.boundMiB) {
        violations.push(
          `worker ${w + 1} grew ${(peak - base).toFixed(0)} MiB after warm-up (bound ${options.boundMiB})`,
        );
      }
    }
    figures['bound: growth after warm-up (MiB)'] = options.boundMiB;
    return { violations, figures };
  } finally {
    await pool.stopAll();
    await docket.close();
  }
}

/** RSS of worker `w` when the drain passed 10 %, 20 %, … 100 %. */
function tenths(samples: Sample[], w: number, jobs: number): string {
  const marks: string[] = [];
  for (let tenth = 1; tenth <= 10; tenth++) {
    const sample = samples.find((s) => s.completed >= (jobs * tenth) / 10);
    marks.push(sample?.rss[w]?.toFixed(0) ?? '-');
  }
  return marks.join(' ');
}
