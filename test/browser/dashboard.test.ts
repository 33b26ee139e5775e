/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The dashboard in a real browser against a real `docket serve` and a real worker: every page
 * renders real data (screenshots light and dark), the job list follows the store live, a running
 * job's log follows its output, and job data is shown as text — payloads never run.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { waitFor } from '../helpers/cli.js';
import { type Dashboard, screenshots, startDashboard } from './harness.js';

// A browser, a server and a worker share two loaded cores with other test files: generous time per test.
vi.setConfig({ testTimeout: 180_000 });
let d: Dashboard;

beforeAll(async () => {
  d = await startDashboard();
}, 120_000);

afterAll(async () => {
  await d?.close();
});

interface CliJob {
  id: number;
  status: string;
  ended_at: string | null;
  created_at: string;
}

async function status(id: number): Promise<CliJob> {
  return d.cli<CliJob>(['status', String(id)]);
}

/** Waits (generously) until the CLI shows the job in `state`. */
async function until(id: number, state: string): Promise<CliJob> {
  return waitFor(`job ${id} to be ${state}`, async () => {
    const job = await status(id);
    return job.status === state ? job : null;
  });
}

/**
 * Records, in the page, the page clock when each job row first shows each state (a
 * MutationObserver, so the time is when the page changed, not when the test looked).
 */
async function watchRows(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen: Record<string, number> = {};
    (window as unknown as { seen: Record<string, number> }).seen = seen;
    const look = () => {
      for (const badge of document.querySelectorAll('tr[data-job-id] .state')) {
        const id = badge.closest('tr')?.getAttribute('data-job-id');
        const key = `${id}:${badge.getAttribute('data-state')}`;
        if (!(key in seen)) seen[key] = Date.now();
        if (!(`${id}:any` in seen)) seen[`${id}:any`] = Date.now();
      }
    };
    new MutationObserver(look).observe(document.body, {
      subtree: true,
      childList: true,
      attributes: true,
      characterData: true,
    });
    look();
  });
}

/** When (page clock) the row of job `id` first showed `state` ('any' for its first appearance). */
async function seenAt(page: Page, id: number, state: string): Promise<number> {
  const handle = await page.waitForFunction(
    (key) => (window as unknown as { seen: Record<string, number> }).seen[key] ?? false,
    `${id}:${state}`,
    { timeout: 30_000 },
  );
  return (await handle.jsonValue()) as number;
}

describe('pages with real data', () => {
  it('overview, jobs, a job, queues, types and submit render what the store holds', async () => {
    const done = await d.cli<{ id: number }>([
      'submit',
      '--job-name',
      'render-ok',
      '--queue',
      'render',
      '--cmd',
      'echo rendered; echo warn >&2',
    ]);
    const failed = await d.cli<{ id: number }>([
      'submit',
      '--job-name',
      'render-fail',
      '--queue',
      'render',
      '--cmd',
      'exit 3',
    ]);
    const typed = await d.cli<{ id: number }>(['submit', '--type', 'greet', '--params', '{"who":"ada","times":2}']);
    const waiting = await d.cli<{ id: number }>([
      'submit',
      '--job-name',
      'render-waits',
      '--queue',
      'render',
      '--after',
      String(failed.id),
      '--delay',
      '1h',
      '--cmd',
      'true',
    ]);
    await until(done.id, 'completed');
    await until(failed.id, 'failed');
    await until(typed.id, 'completed');

    const page = await d.open('#/');
    const queueRow = page.locator('tr[data-queue="render"]');
    await queueRow.waitFor();
    expect(await queueRow.textContent()).toMatch(/render/);
    await page.locator('table', { hasText: 'Last heartbeat' }).locator('tbody tr').first().waitFor();
    await page.locator('.chart canvas').first().waitFor();
    await screenshots(page, 'overview');

    await page.goto(`${d.base}#/jobs?queue=render`);
    await page.locator(`tr[data-job-id="${failed.id}"] .state[data-state="failed"]`).waitFor();
    expect(await page.locator('tbody tr[data-job-id]').count()).toBe(3);
    await screenshots(page, 'jobs');

    await page.goto(`${d.base}#/jobs/${done.id}`);
    await page.locator('h1', { hasText: 'render-ok' }).waitFor();
    await page.locator('pre.log', { hasText: 'rendered' }).waitFor();
    await page.getByRole('button', { name: 'stderr' }).click();
    await page.locator('pre.log[data-stream="stderr"]', { hasText: 'warn' }).waitFor();
    await page.locator('.timeline li').first().waitFor();
    expect(await page.locator('.timeline').textContent()).toMatch(/exit 0/);
    await screenshots(page, 'job-completed');

    await page.goto(`${d.base}#/jobs/${waiting.id}`);
    await page.locator('[data-testid="state-reason"]', { hasText: `#${failed.id}` }).waitFor();
    await page.locator('.graph a', { hasText: `#${failed.id}` }).waitFor();
    await screenshots(page, 'job-blocked');

    await page.goto(`${d.base}#/jobs/${typed.id}`);
    await page.locator('pre', { hasText: '"who": "ada"' }).waitFor();
    await page.locator('pre', { hasText: 'hello adahello ada' }).waitFor();

    await page.goto(`${d.base}#/queues`);
    await page.locator('tr[data-queue="render"]').waitFor();
    await screenshots(page, 'queues');

    await page.goto(`${d.base}#/types`);
    await page.locator('summary', { hasText: 'greet' }).click();
    await page.locator('pre', { hasText: '"times"' }).waitFor();
    await screenshots(page, 'types');

    await page.goto(`${d.base}#/submit?type=greet`);
    await page.getByLabel(/^who/).waitFor();
    await screenshots(page, 'submit');

    await page.setViewportSize({ width: 390, height: 800 });
    await page.goto(`${d.base}#/jobs/${failed.id}`);
    await page.locator('h1', { hasText: 'render-fail' }).waitFor();
    await screenshots(page, 'phone-job');
    await page.close();
  });
});

describe('live updates', () => {
  it('a job submitted from the CLI appears and moves to completed without a reload, within 2 s of each change', async () => {
    const gate = join(d.t.home, `gate-${Date.now()}`);
    const page = await d.open('#/jobs');
    await page.locator('p.summary', { hasText: 'match' }).waitFor();
    await page.evaluate(() => {
      (window as unknown as { stayed: boolean }).stayed = true;
    });
    await watchRows(page);
    const job = await d.cli<{ id: number; created_at: string }>([
      'submit',
      '--job-name',
      'live-one',
      '--cmd',
      `while [ ! -f '${gate}' ]; do sleep 0.05; done`,
    ]);
    const appeared = await seenAt(page, job.id, 'any');
    expect(appeared - Date.parse(job.created_at)).toBeLessThan(2000);
    await until(job.id, 'running');
    await page.locator(`tr[data-job-id="${job.id}"] .state[data-state="running"]`).waitFor();

    writeFileSync(gate, '');
    const finished = await until(job.id, 'completed');
    const shown = await seenAt(page, job.id, 'completed');
    expect(shown - Date.parse(finished.ended_at as string)).toBeLessThan(2000);
    expect(await page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)).toBe(true);
    await page.close();
  });
});

describe('a running job', () => {
  it("shows its log lines as they are written, then its end, on the job's page", async () => {
    const step = join(d.t.home, `step-${Date.now()}`);
    const job = await d.cli<{ id: number }>([
      'submit',
      '--job-name',
      'chatty',
      '--cmd',
      `echo first-line; while [ ! -f '${step}' ]; do sleep 0.05; done; echo second-line; while [ ! -f '${step}.end' ]; do sleep 0.05; done; echo last-line`,
    ]);
    await until(job.id, 'running');
    const page = await d.open(`#/jobs/${job.id}`);
    const log = page.locator('pre.log');
    await log.filter({ hasText: 'first-line' }).waitFor();
    expect(await log.textContent()).not.toContain('second-line');
    await page.locator('.logs', { hasText: 'following live' }).waitFor();
    await screenshots(page, 'job-running');
    writeFileSync(step, '');
    await log.filter({ hasText: 'second-line' }).waitFor();
    writeFileSync(`${step}.end`, '');
    await log.filter({ hasText: 'last-line' }).waitFor();
    await page.locator('.job-head .state[data-state="completed"]').waitFor();
    await page.close();
  });
});

describe('job data is text', () => {
  const IMG = '<img src=x onerror="window.pwned=1">';
  const SCRIPT = '<script>window.pwned=2</script>';

  it('names, params, errors and logs holding HTML show it literally and run nothing', async () => {
    const echoed = await d.cli<{ id: number }>([
      'submit',
      '--job-name',
      IMG + SCRIPT,
      '--cmd',
      `printf '%s\\n' '${IMG}' '${SCRIPT}'; echo '${IMG}' >&2`,
    ]);
    const thrown = await d.cli<{ id: number }>([
      'submit',
      '--job-name',
      SCRIPT,
      '--type',
      'greet',
      '--params',
      JSON.stringify({ who: IMG, times: 1, fail: `${IMG} ${SCRIPT}` }),
    ]);
    await until(echoed.id, 'completed');
    await until(thrown.id, 'failed');
    const page = await d.open('#/jobs');
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    const check = async () => {
      expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
      expect(await page.locator('main img').count()).toBe(0);
      expect(await page.locator('main script').count()).toBe(0);
    };

    await page.locator(`tr[data-job-id="${echoed.id}"] td.name`, { hasText: IMG + SCRIPT }).waitFor();
    await check();

    await page.goto(`${d.base}#/jobs/${echoed.id}`);
    await page.locator('h1 .name', { hasText: IMG + SCRIPT }).waitFor();
    await page.locator('pre.log', { hasText: `${IMG}\n${SCRIPT}` }).waitFor();
    await page.getByRole('button', { name: 'stderr' }).click();
    await page.locator('pre.log[data-stream="stderr"]', { hasText: IMG }).waitFor();
    await check();

    await page.goto(`${d.base}#/jobs/${thrown.id}`);
    await page.locator('h1 .name', { hasText: SCRIPT }).waitFor();
    await page.locator('pre', { hasText: `"who": "${IMG.replace(/"/g, '\\"')}"` }).waitFor();
    await page.locator('section[aria-label="error"] pre', { hasText: `${IMG} ${SCRIPT}` }).waitFor();
    await check();
    await screenshots(page, 'job-xss');
    expect(dialogs).toEqual([]);
    await page.close();
  });
});
