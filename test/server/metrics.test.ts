/** `/metrics` parsed by a real Prometheus text parser; its counts match `docket progress`. */
import parsePrometheus, { type Family } from 'parse-prometheus-text-format';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/cli.js';
import { call, serveForTests } from '../helpers/server.js';

const t = serveForTests(['--workers', '2']);

const family = (families: Family[], name: string) => {
  const found = families.find((candidate) => candidate.name === name);
  if (!found) throw new Error(`no metric family ${name}`);
  return found;
};

describe('/metrics', () => {
  it('parses as Prometheus text and agrees with docket progress', async () => {
    const token = t.server.adminToken;
    const done = [];
    for (const cmd of ['true', 'true', 'exit 3'])
      done.push((await call(t.server, token, 'POST', '/jobs', { cmd, queue: 'mq' })).body.id);
    await call(t.server, token, 'POST', '/jobs', { cmd: 'true', queue: 'mq', delay_sec: 3600 });
    await call(t.server, token, 'POST', '/jobs', { cmd: 'true', queue: 'other', delay_sec: 3600 });
    await waitFor('the jobs to end', async () => {
      const page = (await call(t.server, token, 'GET', '/jobs?status=completed,failed&queue=mq')).body;
      return page.total === 3;
    });
    const response = await call(t.server, token, 'GET', '/metrics');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const families = parsePrometheus(response.text);

    const progress = await t.home.json(['progress']);
    const jobs = family(families, 'docket_jobs');
    expect(jobs.type).toBe('GAUGE');
    for (const state of ['pending', 'running', 'completed', 'failed', 'cancelled', 'skipped']) {
      const sum = jobs.metrics
        .filter((sample) => sample.labels?.state === state)
        .reduce((total, sample) => total + Number(sample.value), 0);
      expect(sum, state).toBe(progress[state]);
    }
    const inQueue = (state: string) =>
      Number(jobs.metrics.find((s) => s.labels?.queue === 'mq' && s.labels?.state === state)?.value);
    expect([inQueue('completed'), inQueue('failed'), inQueue('pending')]).toEqual([2, 1, 1]);

    const attempts = family(families, 'docket_job_attempts_total');
    expect(attempts.type).toBe('COUNTER');
    const outcome = (name: string) =>
      Number(attempts.metrics.find((s) => s.labels?.queue === 'mq' && s.labels?.outcome === name)?.value);
    expect([outcome('completed'), outcome('failed')]).toEqual([2, 1]);

    const run = family(families, 'docket_job_run_seconds');
    expect(run.type).toBe('HISTOGRAM');
    // Only queue mq has finished jobs. (This parser folds a histogram's label sets into one
    // bucket map and drops _count, so the check reads the +Inf bucket of the single label set.)
    expect(run.metrics).toHaveLength(1);
    expect(Number(run.metrics[0]?.buckets?.['+Inf'])).toBe(3);
    expect(response.text).toMatch(/^docket_job_run_seconds_count\{queue="mq"\} 3$/m);
    // The store counts the buckets (SQL): each cumulative bucket holds the jobs whose run time is at most its bound.
    const ended = (await call(t.server, token, 'GET', '/jobs?queue=mq&status=completed,failed')).body.jobs as {
      started_at: string;
      ended_at: string;
    }[];
    const runs = ended.map((job) => Math.max(0, Date.parse(job.ended_at) - Date.parse(job.started_at)) / 1000);
    const buckets = [...response.text.matchAll(/^docket_job_run_seconds_bucket\{le="([^"]+)",queue="mq"\} (\d+)$/gm)];
    expect(buckets.length).toBeGreaterThan(5);
    for (const [, le, value] of buckets) {
      const bound = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
      expect(Number(value), `le=${le}`).toBe(runs.filter((seconds) => seconds <= bound).length);
    }
    const sum = Number(/^docket_job_run_seconds_sum\{queue="mq"\} (\S+)$/m.exec(response.text)?.[1]);
    expect(sum).toBeCloseTo(
      runs.reduce((total, seconds) => total + seconds, 0),
      3,
    );
    expect(family(families, 'docket_job_wait_seconds').type).toBe('HISTOGRAM');
    const oldest = family(families, 'docket_queue_oldest_pending_age_seconds');
    expect(Number(oldest.metrics.find((s) => s.labels?.queue === 'other')?.value)).toBeGreaterThanOrEqual(0);
    const workers = family(families, 'docket_workers');
    expect(workers.metrics.reduce((total, sample) => total + Number(sample.value), 0)).toBeGreaterThanOrEqual(1);
    expect(families.some((candidate) => candidate.name === 'process_cpu_user_seconds_total')).toBe(true);
  });
});
