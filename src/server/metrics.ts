/**
 * `/metrics` in Prometheus' text format. Job figures are read from the store at scrape time, so
 * they cover every worker on every machine, not only this process; prom-client adds the process
 * metrics of the server itself. Everything is counted by the store (SQL aggregates): a scrape
 * reads a few rows per queue, however many jobs are stored.
 */
import client from 'prom-client';
import type { FinishedHistogram } from '../docket-types.js';
import type { JobService } from '../job-service.js';

/** Buckets (seconds) for run and wait times: from sub-second jobs to day-long ones. */
const TIME_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600];
const BOUNDS_MS = TIME_BUCKETS.map((seconds) => Math.round(seconds * 1000));

export class MetricsCollector {
  readonly registry = new client.Registry();

  constructor(service: JobService) {
    client.collectDefaultMetrics({ register: this.registry });
    // One read of the store per scrape, shared by every metric's collect().
    let figures: ReturnType<JobService['metricsFigures']> | null = null;
    const read = () => {
      figures ??= service.metricsFigures(BOUNDS_MS).finally(() => {
        setImmediate(() => {
          figures = null;
        });
      });
      return figures;
    };
    const jobs = new client.Gauge({
      name: 'docket_jobs',
      help: 'Jobs stored, by queue and state',
      labelNames: ['queue', 'state'],
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const queue of (await read()).queues) {
          for (const [state, count] of Object.entries(queue.counts)) {
            if (state !== 'total') this.set({ queue: queue.name, state }, count);
          }
        }
      },
    });
    const attempts = new client.Counter({
      name: 'docket_job_attempts_total',
      help: 'Finished attempts recorded in the store, by queue, type and outcome',
      labelNames: ['queue', 'type', 'outcome'],
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const row of (await read()).attempts) {
          this.inc({ queue: row.queue, type: row.type, outcome: row.outcome }, row.count);
        }
      },
    });
    const histogram = (name: string, help: string, measure: FinishedHistogram['measure']) =>
      this.registry.registerMetric(
        storeHistogram(name, help, async () => (await read()).histograms.filter((h) => h.measure === measure)),
      );
    histogram('docket_job_run_seconds', 'Run time of finished jobs still stored, by queue', 'run');
    histogram(
      'docket_job_wait_seconds',
      'Time from runnable (created or run-at) to start of finished jobs still stored, by queue',
      'wait',
    );
    const oldest = new client.Gauge({
      name: 'docket_queue_oldest_pending_age_seconds',
      help: 'Age of the oldest pending job, by queue (0 when none is pending)',
      labelNames: ['queue'],
      registers: [this.registry],
      async collect() {
        this.reset();
        const now = Date.now();
        for (const queue of (await read()).queues) {
          this.set(
            { queue: queue.name },
            queue.oldestPendingAt === null ? 0 : Math.max(0, now - queue.oldestPendingAt) / 1000,
          );
        }
      },
    });
    const workers = new client.Gauge({
      name: 'docket_workers',
      help: 'Live workers, by host',
      labelNames: ['host'],
      registers: [this.registry],
      async collect() {
        this.reset();
        const byHost = new Map<string, number>();
        for (const worker of (await read()).workers) {
          if (worker.alive) byHost.set(worker.host, (byHost.get(worker.host) ?? 0) + 1);
        }
        for (const [host, count] of byHost) this.set({ host }, count);
      },
    });
    void [jobs, attempts, oldest, workers];
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}

/**
 * A histogram whose buckets the store has counted, shown exactly as prom-client shows its own
 * (cumulative `_bucket{le}` samples, `+Inf`, `_sum`, `_count`): prom-client's Histogram can only
 * observe one value at a time, which would mean reading every finished job on every scrape.
 */
function storeHistogram(name: string, help: string, read: () => Promise<FinishedHistogram[]>): client.Metric {
  const metric = {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    async get() {
      const values: { metricName: string; labels: Record<string, string | number>; value: number }[] = [];
      for (const { queue, counts, sumMs, count } of await read()) {
        let below = 0;
        TIME_BUCKETS.forEach((le, index) => {
          below += counts[index] ?? 0;
          values.push({ metricName: `${name}_bucket`, labels: { le, queue }, value: below });
        });
        values.push({ metricName: `${name}_bucket`, labels: { le: '+Inf', queue }, value: count });
        values.push({ metricName: `${name}_sum`, labels: { queue }, value: sumMs / 1000 });
        values.push({ metricName: `${name}_count`, labels: { queue }, value: count });
      }
      return { name, help, type: 'histogram', values, aggregator: 'sum' };
    },
  };
  return metric as unknown as client.Metric;
}
