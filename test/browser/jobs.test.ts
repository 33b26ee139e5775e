/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The job list in a real browser: every filter, the search, sort and paging show exactly the jobs
 * the API returns for the same query; every action — on one job, on a selection and on all
 * matching jobs — changes exactly the jobs it should, as the CLI sees them afterwards.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { waitFor } from '../helpers/cli.js';
import { type Dashboard, startDashboard } from './harness.js';

// A browser, a server and a worker share two loaded cores with other test files: generous time per test.
vi.setConfig({ testTimeout: 180_000 });
let d: Dashboard;
let page: Page;

interface CliJob {
  id: number;
  status: string;
  queue: string;
}

beforeAll(async () => {
  d = await startDashboard();
  page = await d.open('#/jobs');
}, 120_000);

afterAll(async () => {
  await d?.close();
});

const submit = (args: string[]) => d.cli<CliJob>(['submit', ...args]);
const statusOf = async (id: number) => (await d.cli<CliJob>(['status', String(id)])).status;
const until = (id: number, state: string) =>
  waitFor(`job ${id} to be ${state}`, async () => (await statusOf(id)) === state);

/** The ids the dashboard lists at `#/jobs?<query>`, once the list has loaded. */
async function idsShown(queryString: string): Promise<number[]> {
  await page.goto(`${d.base}#/jobs?${queryString}`);
  await page.reload(); // a fresh load: the list comes from the URL alone (a bookmark)
  await page.locator('p.summary', { hasText: 'match' }).waitFor();
  return page
    .locator('tbody tr[data-job-id]')
    .evaluateAll((rows) => rows.map((row) => Number(row.getAttribute('data-job-id'))));
}

async function idsFromApi(queryString: string): Promise<number[]> {
  const answer = await d.http(`jobs?${queryString}`);
  expect(answer.status).toBe(200);
  return (answer.body.jobs as { id: number }[]).map((job) => job.id);
}

describe('filters, search, sort and paging', () => {
  it('show the same jobs as the API for the same query', async () => {
    const failedA = await submit(['--queue', 'fa', '--job-name', 'alpha-fail', '--priority', '5', '--cmd', 'exit 1']);
    const okA = await submit(['--queue', 'fa', '--job-name', 'alpha-ok', '--priority', '-2', '--cmd', 'true']);
    const okB = await submit(['--queue', 'fb', '--job-name', 'beta-ok', '--priority', '9', '--cmd', 'true']);
    const delayed = await submit(['--queue', 'fb', '--job-name', 'beta-later', '--delay', '1h', '--cmd', 'true']);
    const blocked = await submit([
      '--queue',
      'fb',
      '--job-name',
      'beta-blocked',
      '--after',
      String(delayed.id),
      '--cmd',
      'true',
    ]);
    const typed = await submit([
      '--type',
      'greet',
      '--queue',
      'fb',
      '--params',
      '{"who":"x","times":1}',
      '--job-name',
      'gamma',
    ]);
    for (let index = 0; index < 7; index += 1)
      await submit(['--queue', 'fpage', '--job-name', `page-${index}`, '--delay', '1h', '--cmd', 'true']);
    await until(failedA.id, 'failed');
    await until(okA.id, 'completed');
    await until(okB.id, 'completed');
    await until(typed.id, 'completed');

    const queries = [
      'queue=fa',
      'status=failed&queue=fa',
      'status=delayed&queue=fb',
      'status=blocked',
      'status=completed,failed&queue=fa',
      'q=beta',
      'type=greet',
      'scheduler=local&queue=fb',
      'queue=fb&order=-priority',
      'queue=fa&order=priority',
      'queue=fa&order=-ended_at',
      'queue=fpage&limit=25&page=1&order=created_at',
      'tenant=default&queue=fa',
    ];
    for (const query of queries) {
      const shown = await idsShown(query);
      expect(shown, query).toEqual(await idsFromApi(query));
      expect(shown.length, `${query} matches something`).toBeGreaterThan(0);
    }
    expect(await idsShown('status=blocked&queue=fb')).toEqual([blocked.id]);
    expect(await idsShown('status=delayed&queue=fb')).toEqual([delayed.id]);
    expect(await idsShown('q=alpha&order=created_at')).toEqual([failedA.id, okA.id]);

    // Server paging: 5 per page, page 2 holds the last two; the pager's Next goes there.
    const all = await idsFromApi('queue=fpage&order=created_at&limit=25');
    expect(all).toHaveLength(7);
    expect(await idsShown('queue=fpage&order=created_at&limit=5&page=2')).toEqual(all.slice(5));
    expect(await idsFromApi('queue=fpage&order=created_at&limit=5&page=2')).toEqual(all.slice(5));
    await page.goto(`${d.base}#/jobs?queue=fpage&order=created_at&limit=5`);
    await page.locator('p.summary', { hasText: '7 jobs match · page 1 of 2' }).waitFor();
    await page.getByRole('button', { name: 'Next →' }).click();
    await page.locator('p.summary', { hasText: 'page 2 of 2' }).waitFor();
    await waitFor('page 2 rows', async () => (await page.locator('tbody tr[data-job-id]').count()) === 2);
    // The filter form writes the URL: choosing a state and a sort in the controls gives that query.
    await page.getByLabel('Sort').selectOption('-priority');
    await page.getByRole('checkbox', { name: 'delayed' }).check();
    await waitFor(
      'the URL to carry the filters',
      async () => page.url().includes('status=delayed') && page.url().includes('order=-priority'),
    );
    const viaControls = new URL(page.url()).hash.split('?')[1] as string;
    await page.locator('p.summary', { hasText: 'match' }).waitFor();
    expect(
      await page
        .locator('tbody tr[data-job-id]')
        .evaluateAll((rows) => rows.map((row) => Number(row.getAttribute('data-job-id')))),
    ).toEqual(await idsFromApi(viaControls));
  });
});

async function confirm(): Promise<void> {
  const dialog = page.locator('dialog[open]');
  await dialog.waitFor();
  await dialog.locator('button.danger').click();
  await page
    .locator('dialog[open]')
    .waitFor({ state: 'detached' })
    .catch(() => undefined);
}

describe('actions on one job', () => {
  it('cancel, suspend, resume, retry and delete from the job page change that job only', async () => {
    const runner = await submit(['--job-name', 'act-run', '--cmd', 'sleep 60']);
    const bystander = await submit(['--job-name', 'act-bystander', '--delay', '1h', '--cmd', 'true']);
    await until(runner.id, 'running');

    await page.goto(`${d.base}#/jobs/${runner.id}`);
    const actions = page.locator('fieldset.actions');
    await page.locator('.job-head .state[data-state="running"]').waitFor();
    expect(await actions.getByRole('button').allTextContents()).toEqual(['Cancel', 'Suspend']);
    await actions.getByRole('button', { name: 'Suspend' }).click();
    await until(runner.id, 'suspended');
    await page.locator('.job-head .state[data-state="suspended"]').waitFor();
    expect(await actions.getByRole('button').allTextContents()).toEqual(['Cancel', 'Resume']);
    await actions.getByRole('button', { name: 'Resume' }).click();
    await until(runner.id, 'running');
    await page.locator('.job-head .state[data-state="running"]').waitFor();
    await actions.getByRole('button', { name: 'Cancel' }).click();
    await confirm();
    await until(runner.id, 'cancelled');
    await page.locator('.job-head .state[data-state="cancelled"]').waitFor();
    expect(await actions.getByRole('button').allTextContents()).toEqual(['Retry', 'Delete']);
    await actions.getByRole('button', { name: 'Retry' }).click();
    await waitFor('the retried job to run again', async () =>
      ['pending', 'running'].includes(await statusOf(runner.id)),
    );
    await until(runner.id, 'running');
    await page.locator('.job-head .state[data-state="running"]').waitFor();
    await actions.getByRole('button', { name: 'Cancel' }).click();
    await confirm();
    await until(runner.id, 'cancelled');
    await page.locator('fieldset.actions button', { hasText: 'Delete' }).click();
    await confirm();
    await page.waitForURL((url) => url.hash === '#/jobs');
    const gone = await d.t.run(['status', String(runner.id)], { cwd: d.project });
    expect(gone.code).toBe(3);
    expect(await statusOf(bystander.id)).toBe('pending');
  });
});

describe('bulk actions', () => {
  it('act on exactly the selected jobs', async () => {
    const jobs = [];
    for (let index = 0; index < 4; index += 1)
      jobs.push(await submit(['--queue', 'sel', '--job-name', `sel-${index}`, '--delay', '1h', '--cmd', 'true']));
    const [first, second, third, fourth] = jobs as [CliJob, CliJob, CliJob, CliJob];
    await page.goto(`${d.base}#/jobs?queue=sel`);
    await page
      .locator('p.summary', { hasText: '4 jobs match' })
      .waitFor()
      .catch(async (error) => {
        throw new Error(
          `${error.message}; url ${page.url()}; main: ${(await page.textContent('main'))?.slice(0, 400)}`,
        );
      });
    await page.getByLabel(`Select job ${first.id}`).check();
    await page.getByLabel(`Select job ${third.id}`).check();
    await page.locator('fieldset.bulk').getByRole('button', { name: 'Cancel' }).click();
    expect(await page.locator('dialog[open] h2').textContent()).toBe('cancel 2 jobs?');
    await confirm();
    await page.locator('.bulk .result', { hasText: '2 of 2 changed' }).waitFor();
    expect(await Promise.all(jobs.map((job) => statusOf(job.id)))).toEqual([
      'cancelled',
      'pending',
      'cancelled',
      'pending',
    ]);

    // Retry the cancelled two (now selected by the state filter and "select all on this page").
    await page.goto(`${d.base}#/jobs?queue=sel&status=cancelled`);
    await page.locator('p.summary', { hasText: '2 jobs match' }).waitFor();
    await page.getByLabel('Select every job on this page').check();
    await page.locator('fieldset.bulk').getByRole('button', { name: 'Delete' }).click();
    await confirm();
    await page.locator('.bulk .result', { hasText: '2 of 2 changed' }).waitFor();
    for (const job of [first, third])
      expect((await d.t.run(['status', String(job.id)], { cwd: d.project })).code).toBe(3);
    expect(await statusOf(second.id)).toBe('pending');
    expect(await statusOf(fourth.id)).toBe('pending');
  });

  it('act on every job matching the filter, with the count confirmed first', async () => {
    const matching = [];
    for (let index = 0; index < 6; index += 1)
      matching.push(
        await submit(['--queue', 'every', '--job-name', `every-${index}`, '--delay', '1h', '--cmd', 'true']),
      );
    const otherQueue = await submit([
      '--queue',
      'every-not',
      '--job-name',
      'every-other',
      '--delay',
      '1h',
      '--cmd',
      'true',
    ]);
    const finished = await submit(['--queue', 'every', '--job-name', 'every-done', '--cmd', 'true']);
    await until(finished.id, 'completed');

    // limit=5 leaves one matching job off the page: "all matching" must reach it too.
    await page.goto(`${d.base}#/jobs?queue=every&status=pending&limit=5`);
    await page.locator('p.summary', { hasText: '6 jobs match' }).waitFor();
    await page
      .locator('fieldset.bulk')
      .getByLabel(/all 6 matching/)
      .check();
    await page.locator('fieldset.bulk').getByRole('button', { name: 'Cancel' }).click();
    expect(await page.locator('dialog[open] h2').textContent()).toBe('cancel 6 jobs?');
    await confirm();
    await page.locator('.bulk .result', { hasText: '6 of 6 changed' }).waitFor();
    for (const job of matching) expect(await statusOf(job.id)).toBe('cancelled');
    expect(await statusOf(otherQueue.id)).toBe('pending');
    expect(await statusOf(finished.id)).toBe('completed');

    // Retry every cancelled job of the queue: each goes back to pending (and runs).
    await page.goto(`${d.base}#/jobs?queue=every&status=cancelled`);
    await page.locator('p.summary', { hasText: '6 jobs match' }).waitFor();
    await page
      .locator('fieldset.bulk')
      .getByLabel(/all 6 matching/)
      .check();
    await page.locator('fieldset.bulk').getByRole('button', { name: 'Retry' }).click();
    await confirm();
    await page.locator('.bulk .result', { hasText: '6 of 6 changed' }).waitFor();
    for (const job of matching) expect(['pending', 'running', 'completed']).toContain(await statusOf(job.id));
    expect(await statusOf(otherQueue.id)).toBe('pending');
  });
});

describe('queues and tenants', () => {
  it('an admin pauses, resumes and sets the capacity of a queue from the queues page', async () => {
    const job = await submit(['--queue', 'knobs', '--job-name', 'knob', '--delay', '1h', '--cmd', 'true']);
    const queueOf = async () =>
      (await d.cli<{ name: string; capacity: number | null; paused: boolean }[]>(['queue', 'list'])).find(
        (queue) => queue.name === 'knobs',
      );
    await page.goto(`${d.base}#/queues`);
    const row = page.locator('tr[data-queue="knobs"]');
    await row.getByRole('button', { name: 'Pause knobs' }).click();
    await waitFor('the queue to be paused', async () => (await queueOf())?.paused === true);
    await row.locator('.paused', { hasText: 'paused' }).waitFor();
    await row.getByRole('button', { name: 'Resume knobs' }).click();
    await waitFor('the queue to be resumed', async () => (await queueOf())?.paused === false);
    await row.getByLabel('Capacity').fill('3');
    await row.getByRole('button', { name: 'Set' }).click();
    await waitFor('the capacity to be 3', async () => (await queueOf())?.capacity === 3);
    await row.getByLabel('Capacity').fill('');
    await row.getByRole('button', { name: 'Set' }).click();
    await waitFor('the capacity to be lifted', async () => (await queueOf())?.capacity === null);
    expect(await statusOf(job.id)).toBe('pending');
  });

  it("an admin's tenant filter shows one tenant's jobs, as the API does; a member sees only its own", async () => {
    const other = await d.cli<{ token: string }>(['token', 'create', '--tenant', 'acme', '--role', 'member']);
    const made = await d.http('jobs', {
      token: other.token,
      method: 'POST',
      body: { cmd: 'true', name: 'acme-job', delay_sec: 3600 },
    });
    expect(made.status).toBe(201);
    expect(await idsShown('tenant=acme')).toEqual([made.body.id]);
    expect(await idsFromApi('tenant=acme')).toEqual([made.body.id]);
    expect(await idsShown('tenant=default&q=acme')).toEqual([]);

    const member = await d.open('#/jobs?q=acme-job', other.token);
    await member.locator(`tr[data-job-id="${made.body.id}"]`).waitFor();
    expect(await member.getByLabel('Tenant').count()).toBe(0); // the filter is for admins
    await member.goto(`${d.base}#/jobs?q=render`);
    await member.locator('p.summary', { hasText: '0 jobs match' }).waitFor();
    await member.close();
  });
});
