/**
 * The dashboard's first view with 100,000 jobs stored: a real `docket serve` on a SQLite store
 * seeded with 100,000 jobs (80 % completed and 10 % failed over the last hour, 10 % delayed),
 * opened in Debian's Chromium. Prints, per page, the time from navigation start until its data is
 * on screen (the first, cold load and the median of the warm ones), the API calls behind them, and
 * the bundle's weight. Run with `npm run bench:dashboard` after `npm run build`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { chromium, type Page } from 'playwright-core';
import type { JobSpec } from '../src/core/words.js';
import { Docket } from '../src/docket.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'docket.js');
const JOBS = Number(process.env.DOCKET_BENCH_JOBS ?? 100_000);
const WARM_RUNS = 5;
const PORT = 7790 + Math.floor(Math.random() * 100);
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
  '--disable-quic',
];

/**
 * Page → what must be on screen for its first view to count as shown, and what shows once
 * everything it asked for has arrived (the overview's last-hour figures come after its queues).
 */
const PAGES: [string, string, string, string][] = [
  ['overview', '#/', 'table.queues tbody tr', '.stats'],
  ['jobs (newest 50)', '#/jobs', 'tbody tr[data-job-id]', 'tbody tr[data-job-id]'],
  ['jobs filtered (failed, q2)', '#/jobs?status=failed&queue=q2', 'tbody tr[data-job-id]', 'tbody tr[data-job-id]'],
  ['a job', `#/jobs/${Math.ceil(JOBS / 2)}`, '.job-head .state', 'pre.log'],
];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

/** The bundle's weight: what the first view loads (the page, its script and style) and the rest (lazy chunks). */
function bundleWeight(): { first: [number, number]; all: [number, number]; files: number } {
  const dist = join(ROOT, 'web', 'dist');
  const html = readFileSync(join(dist, 'index.html'), 'utf8');
  const firstFiles = new Set([...html.matchAll(/(?:src|href)="\.\/assets\/([^"]+)"/g)].map((match) => match[1]));
  const first: [number, number] = [html.length, gzipSync(html, { level: 9 }).length];
  const all: [number, number] = [...first];
  const files = readdirSync(join(dist, 'assets'));
  for (const file of files) {
    const bytes = readFileSync(join(dist, 'assets', file));
    const gzip = gzipSync(bytes, { level: 9 }).length;
    all[0] += bytes.length;
    all[1] += gzip;
    if (firstFiles.has(file)) {
      first[0] += bytes.length;
      first[1] += gzip;
    }
  }
  return { first, all, files: files.length + 1 };
}

/** Stops any worker registered in the store (none should be), so none outlives its deleted home. */
function stopWorkers(home: string): void {
  try {
    const db = new Database(join(home, 'docket.db'), { readonly: true });
    const pids = db.prepare('SELECT pid FROM workers').pluck().all() as number[];
    db.close();
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
  } catch {
    // no store: nothing started
  }
}

async function seed(home: string): Promise<void> {
  const started = Date.now();
  // No worker: the jobs are a fixture to look at, not to run.
  const docket = await Docket.open({ home, onDemandWorkers: false });
  const later = Date.now() + 86_400_000;
  for (let offset = 0; offset < JOBS; offset += 1000) {
    const specs: JobSpec[] = [];
    for (let index = offset; index < Math.min(JOBS, offset + 1000); index += 1) {
      specs.push({ argv: ['true'], name: `job-${index}`, queue: `q${index % 5}`, priority: index % 3, runAt: later });
    }
    await docket.submitMany(specs);
  }
  await docket.close();
  // Give 90 % of them a finished history spread over the last hour (direct SQL: a benchmark fixture).
  const db = new Database(join(home, 'docket.db'));
  const now = Date.now();
  db.prepare(
    `UPDATE jobs SET status = CASE WHEN id % 10 < 8 THEN 'completed' ELSE 'failed' END,
       exit_code = CASE WHEN id % 10 < 8 THEN 0 ELSE 1 END, attempts = 1, run_no = 1,
       run_at = created_at, started_at = ? - (id % 3600) * 1000 - 2000, ended_at = ? - (id % 3600) * 1000
     WHERE id % 10 < 9`,
  ).run(now, now);
  db.close();
  console.log(`seeded ${JOBS} jobs in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

async function main(): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'docket-bench-dashboard-'));
  const userData = mkdtempSync(join(tmpdir(), 'docket-bench-chromium-'));
  let server: ChildProcess | null = null;
  const browser = { close: async () => undefined as unknown } as { close: () => Promise<unknown> };
  try {
    await seed(home);
    const env: NodeJS.ProcessEnv = { ...process.env, DOCKET_HOME: home, DOCKET_ON_DEMAND: '0' };
    delete env.DOCKET_DB;
    server = spawn(process.execPath, [BIN, 'serve', '--port', String(PORT)], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    server.stdout?.on('data', (chunk) => (out += chunk));
    server.stderr?.on('data', (chunk) => (out += chunk));
    const deadline = Date.now() + 60_000;
    let loginUrl = '';
    for (;;) {
      loginUrl = /(http:\/\/\S+\?token=\S+)/.exec(out)?.[1] ?? '';
      if (loginUrl) break;
      if (Date.now() > deadline || server.exitCode !== null)
        throw new Error(`docket serve printed no login URL: ${out}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const token = new URL(loginUrl).searchParams.get('token') as string;
    const base = loginUrl.split('?')[0] as string;

    const api: [string, number][] = [];
    for (const path of [
      'jobs?limit=50',
      'jobs?status=failed&queue=q2&limit=50',
      'queues',
      'stats?window=1h',
      `jobs/${Math.ceil(JOBS / 2)}`,
    ]) {
      const times: number[] = [];
      for (let run = 0; run < WARM_RUNS; run += 1) {
        const start = performance.now();
        const response = await fetch(base + path, { headers: { authorization: `Bearer ${token}` } });
        await response.arrayBuffer();
        if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
        times.push(performance.now() - start);
      }
      api.push([path, median(times)]);
    }

    const context = await chromium.launchPersistentContext(userData, {
      executablePath: '/usr/bin/chromium',
      args: CHROMIUM_ARGS,
      headless: true,
    });
    browser.close = () => context.close();
    const rows: [string, number, number, number][] = [];
    const shownAt = async (page: Page, label: string, selector: string) => {
      const shown = await page
        .waitForFunction((css) => (document.querySelector(css) ? performance.now() : false), selector, {
          polling: 'raf',
          timeout: 60_000,
        })
        .catch(async (error: Error) => {
          const body = (await page.textContent('body'))?.slice(0, 300);
          throw new Error(`${label}: ${selector} never showed (${error.message}); the page says: ${body}`);
        });
      return (await shown.jsonValue()) as number;
    };
    for (const [label, hash, firstSelector, completeSelector] of PAGES) {
      const first: number[] = [];
      const complete: number[] = [];
      for (let run = 0; run <= WARM_RUNS; run += 1) {
        const page = await context.newPage();
        page.on('pageerror', (error) => console.error(`${label}: ${error.message}`));
        await page.goto(`${base}?token=${token}${hash}`);
        first.push(await shownAt(page, label, firstSelector));
        // Wait for the rest, so no request of this page is still running when the next one starts.
        complete.push(await shownAt(page, label, completeSelector));
        await page.close();
      }
      rows.push([label, first[0] as number, median(first.slice(1)), median(complete.slice(1))]);
    }

    const weight = bundleWeight();
    console.log(
      `\nDashboard first view with ${JOBS.toLocaleString('en')} jobs stored (SQLite, Chromium ${context.browser()?.version() ?? ''})`,
    );
    console.log(
      '| page | data on screen, first (cold) load | data on screen, warm (median of 5) | everything loaded, warm |',
    );
    console.log('|---|---|---|---|');
    for (const [label, cold, warm, all] of rows) {
      console.log(`| ${label} | ${cold.toFixed(0)} ms | ${warm.toFixed(0)} ms | ${all.toFixed(0)} ms |`);
    }
    console.log('\n| API call | median of 5 |');
    console.log('|---|---|');
    for (const [path, ms] of api) console.log(`| GET /${path} | ${ms.toFixed(1)} ms |`);
    const kib = ([raw, gzip]: [number, number]) =>
      `${(raw / 1024).toFixed(1)} KiB (${(gzip / 1024).toFixed(1)} KiB gzipped)`;
    console.log(`\nbundle: first view ${kib(weight.first)}; all ${weight.files} files ${kib(weight.all)}`);
  } finally {
    await browser.close().catch(() => undefined);
    if (server && server.exitCode === null) {
      server.kill('SIGTERM');
      await new Promise((resolve) => server?.once('exit', resolve));
    }
    stopWorkers(home);
    rmSync(home, { recursive: true, force: true });
    rmSync(userData, { recursive: true, force: true });
  }
}

await main();
