/**
 * `/metrics` in Prometheus' text format. Job figures are read from the store at scrape time, so
 * they cover every worker on every machine, not only this process; prom-client adds the process
 * metrics of the server itself.
 */
import client from 'prom-client';
import type { JobService } from '../job-service.js';
import type { FinishedTimes } from '../storage/engine.js';

/** Buckets (seconds) for run and wait times: from sub-second jobs to day-long ones. */
const TIME_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600];

export class MetricsCollector {
  readonly registry = new client.Registry();

  constructor(service: JobService) {
    client.collectDefaultMetrics({ register: this.registry });
    // One read of the store per scrape, shared by every metric's collect().
    let figures: ReturnType<JobService['metricsFigures']> | null = null;
    const read = () => {
      figures ??= service.metricsFigures().finally(() => {
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
    const histogram = (name: string, help: string, value: (job: FinishedTimes) => number | null) =>
      new client.Histogram({
        name,
        help,
        labelNames: ['queue'],
        buckets: TIME_BUCKETS,
        registers: [this.registry],
        async collect() {
          this.reset();
          for (const job of (await read()).finished) {
            const seconds = value(job);
            if (seconds !== null) this.observe({ queue: job.queue }, seconds);
          }
        },
      });
    histogram('docket_job_run_seconds', 'Run time of finished jobs still stored, by queue', (job) =>
      job.startedAt === null ? null : Math.max(0, job.endedAt - job.startedAt) / 1000,
    );
    histogram(
      'docket_job_wait_seconds',
      'Time from runnable (created or run-at) to start of finished jobs still stored, by queue',
      (job) => (job.startedAt === null ? null : Math.max(0, job.startedAt - Math.max(job.createdAt, job.runAt)) / 1000),
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
