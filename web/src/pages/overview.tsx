/** Overview: queues with their counts, live workers, and the last hour finished per minute. */
import { useMemo } from 'preact/hooks';
import { Chart, type ChartSeries } from '../components/chart';
import { ErrorNote, Time } from '../components/ui';
import { listOf, useApi } from '../data';
import { duration, useNow } from '../format';
import { href } from '../router';
import { STATES, type Stats, type Worker } from '../types';
import { queueRows, useQueues } from './queues';

/** A worker whose heartbeat is older than this is shown as stale. */
const STALE_AFTER_MS = 60_000;

export function OverviewPage() {
  const queues = useQueues();
  const workers = useApi<unknown>('workers', { pollMs: 10_000, pollWhileLive: true });
  // The figures are per minute: refreshed once a minute, and asked for only once the queues are on
  // screen (over a large history they cost the server the most).
  const stats = useApi<Stats>(queues.list === null ? null : 'stats?window=1h', { pollMs: 60_000, pollWhileLive: true });
  return (
    <section class="stack">
      <h1>Overview</h1>
      <section aria-labelledby="queues-heading">
        <h2 id="queues-heading">Queues</h2>
        <ErrorNote error={queues.error} />
        {queues.list !== null && queueRows(queues.list, false)}
      </section>
      <section aria-labelledby="workers-heading">
        <h2 id="workers-heading">Workers</h2>
        <ErrorNote error={workers.error} />
        {workers.data !== null && <WorkerTable workers={listOf<Worker>(workers.data, 'workers')} />}
      </section>
      <section aria-labelledby="stats-heading">
        <h2 id="stats-heading">Last hour</h2>
        <ErrorNote error={stats.error} />
        {stats.data && <StatsCharts stats={stats.data} />}
      </section>
    </section>
  );
}

function WorkerTable({ workers }: { workers: Worker[] }) {
  const now = useNow(5000);
  if (workers.length === 0)
    return <p class="muted">No live workers. Submitting a job starts one on the embedded database.</p>;
  return (
    <div class="table-wrap">
      <table>
        <thead>
          <tr>
            <th scope="col">Worker</th>
            <th scope="col">Host</th>
            <th scope="col">PID</th>
            <th scope="col">Queues</th>
            <th scope="col">Concurrency</th>
            <th scope="col">Running</th>
            <th scope="col">Last heartbeat</th>
          </tr>
        </thead>
        <tbody>
          {workers.map((worker) => {
            const stale = worker.alive === false || now - Date.parse(worker.last_heartbeat_at) > STALE_AFTER_MS;
            const running = worker.running_jobs ?? [];
            return (
              <tr key={worker.id} class={stale ? 'stale' : undefined}>
                <td>
                  <code>{worker.id}</code>
                </td>
                <td>{worker.host}</td>
                <td>{worker.pid}</td>
                <td>{(worker.queues ?? []).join(', ') || 'all'}</td>
                <td>{worker.concurrency}</td>
                <td>
                  {running.length === 0
                    ? '0'
                    : running.map((id, index) => (
                        <span key={id}>
                          {index > 0 && ', '}
                          <a href={href(`/jobs/${id}`)}>#{id}</a>
                        </span>
                      ))}
                </td>
                <td>
                  <Time iso={worker.last_heartbeat_at} />
                  {stale && <strong class="stale-note"> stale</strong>}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

const OUTCOMES = STATES.filter((state) => !['pending', 'running', 'suspended'].includes(state));

function StatsCharts({ stats }: { stats: Stats }) {
  const buckets = stats.buckets ?? [];
  const times = useMemo(() => buckets.map((bucket) => Date.parse(bucket.start) / 1000), [buckets]);
  const finished = useMemo<ChartSeries[]>(
    () =>
      OUTCOMES.filter((outcome) => buckets.some((bucket) => (bucket.counts?.[outcome] ?? 0) > 0)).map((outcome) => ({
        label: outcome,
        colorVar: `--state-${outcome}`,
        values: buckets.map((bucket) => bucket.counts?.[outcome] ?? 0),
      })),
    [buckets],
  );
  // Per-minute percentiles, when the server gives them.
  const timing = useMemo<ChartSeries[]>(() => {
    if (!buckets.some((bucket) => bucket.wait_s || bucket.run_s)) return [];
    const line = (
      label: string,
      colorVar: string,
      pick: (bucket: Stats['buckets'][number]) => number | null | undefined,
    ) => ({
      label,
      colorVar,
      values: buckets.map((bucket) => pick(bucket) ?? null),
    });
    return [
      line('wait p50', '--state-pending', (bucket) => bucket.wait_s?.p50),
      line('wait p95', '--state-suspended', (bucket) => bucket.wait_s?.p95),
      line('run p50', '--state-running', (bucket) => bucket.run_s?.p50),
      line('run p95', '--state-cancelled', (bucket) => bucket.run_s?.p95),
    ];
  }, [buckets]);
  const total =
    stats.finished ??
    buckets.reduce((sum, bucket) => sum + Object.values(bucket.counts ?? {}).reduce((a, b) => a + (b ?? 0), 0), 0);
  return (
    <div class="stats">
      <dl class="figures">
        <div>
          <dt>Finished</dt>
          <dd>{total}</dd>
        </div>
        <div>
          <dt>Wait p50 / p95</dt>
          <dd>
            {seconds(stats.wait_s?.p50)} / {seconds(stats.wait_s?.p95)}
          </dd>
        </div>
        <div>
          <dt>Run p50 / p95</dt>
          <dd>
            {seconds(stats.run_s?.p50)} / {seconds(stats.run_s?.p95)}
          </dd>
        </div>
      </dl>
      {total === 0 ? (
        <p class="muted">No job finished in the last hour.</p>
      ) : (
        <div class="charts">
          <Chart
            title="Jobs finished per minute, by outcome"
            times={times}
            series={finished}
            bars
            valueLabel={String}
          />
          {timing.length > 0 && (
            <Chart title="Wait and run time per minute (p50, p95)" times={times} series={timing} valueLabel={seconds} />
          )}
        </div>
      )}
    </div>
  );
}

function seconds(value: number | null | undefined): string {
  return value === null || value === undefined ? '–' : duration(value * 1000);
}
