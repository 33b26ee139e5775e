/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * Signing in and what a token may do, in a real browser: the login URL signs in and leaves the
 * address bar; the submit form creates jobs and shows the API's field errors; a viewer sees no
 * action and the server refuses its forged writes; sign-out forgets the token; the dashboard works
 * under `--base-path`.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { waitFor } from '../helpers/cli.js';
import { type Dashboard, screenshots, startDashboard } from './harness.js';

// A browser, a server and a worker share two loaded cores with other test files: generous time per test.
vi.setConfig({ testTimeout: 180_000 });
let d: Dashboard;

beforeAll(async () => {
  d = await startDashboard({ basePath: '/ops/docket' });
}, 120_000);

afterAll(async () => {
  await d?.close();
});

const statusOf = async (id: number) => (await d.cli<{ status: string }>(['status', String(id)])).status;

describe('signing in', () => {
  it('the printed login URL signs in under the base path, keeps the token out of the URL, and sign-out forgets it', async () => {
    expect(new URL(d.loginUrl).pathname).toBe('/ops/docket/');
    const page = await d.browser.newPage();
    const requests: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    await page.goto(d.loginUrl);
    await page.locator('header.top [data-role="admin"]').waitFor();
    expect(page.url()).not.toContain('token');
    expect(await page.evaluate(() => sessionStorage.getItem('docket.token'))).toBe(d.adminToken);
    expect(await page.evaluate(() => document.cookie)).toBe('');
    // Every asset and API call stayed under the base path, and none (after the login URL itself)
    // carried the token in its URL.
    expect(requests[0]).toBe(d.loginUrl);
    expect(requests.length).toBeGreaterThan(3);
    for (const url of requests.slice(1)) {
      expect(url.startsWith(d.base), url).toBe(true);
      expect(url, url).not.toContain(d.adminToken);
    }
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Token').waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('docket.token'))).toBeNull();
    await screenshots(page, 'sign-in');
    await page.getByLabel('Token').fill(d.adminToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('header.top [data-role="admin"]').waitFor();
    // A bad token is refused and lands back on the sign-in page with a reason.
    // Set before the reloaded page's scripts run: set on the old page, a request it made in between
    // would get the 401 and sign out (clearing the token) before the reload.
    await page.addInitScript(() => sessionStorage.setItem('docket.token', 'not-a-token'));
    await page.reload();
    await page.getByLabel('Token').waitFor();
    await page.locator('.error-note').waitFor();
    await page.close();
  });
});

describe('the submit form', () => {
  it('creates a command job, and a typed job from its schema; a bad param shows its error beside the field', async () => {
    const page = await d.open('#/submit');
    await page.getByLabel('Command').fill('echo from-the-form');
    await page.getByText('Options').click();
    await page.getByLabel('Name').fill('form-made');
    await page.getByLabel('Queue').fill('forms');
    await page.getByRole('button', { name: 'Submit' }).click();
    await page.waitForURL(/#\/jobs\/\d+$/);
    const id = Number(/#\/jobs\/(\d+)$/.exec(page.url())?.[1]);
    await waitFor('the form job to complete', async () => (await statusOf(id)) === 'completed');
    const made = await d.cli<{ name: string; queue: string; command: string }>(['status', String(id)]);
    expect(made).toMatchObject({ name: 'form-made', queue: 'forms', command: 'echo from-the-form' });
    await page.locator('pre.log', { hasText: 'from-the-form' }).waitFor();

    // An empty command: the API's error shows beside the command field, and nothing is stored.
    const before = (await d.http('jobs?limit=1')).body.total as number;
    await page.goto(`${d.base}#/submit`);
    await page.getByRole('button', { name: 'Submit' }).click();
    await page.locator('.field.invalid .field-error').first().waitFor();
    expect(await page.locator('.field.invalid label').first().textContent()).toBe('Command');

    // A typed job: the params form comes from greet's JSON Schema.
    await page.goto(`${d.base}#/submit?type=greet`);
    await page.getByLabel(/^who/).fill('grace');
    await page.getByLabel(/^times/).fill('9'); // the schema's maximum is 5
    await page.getByRole('button', { name: 'Submit' }).click();
    const timesField = page.locator('.field.invalid', { has: page.locator('#param-times') });
    await timesField.locator('.field-error').waitFor();
    expect(await timesField.locator('.field-error').textContent()).toMatch(/5/);
    expect(await page.locator('#param-times').getAttribute('aria-invalid')).toBe('true');
    await screenshots(page, 'submit-error');
    expect((await d.http('jobs?limit=1')).body.total).toBe(before);

    await page.getByLabel(/^times/).fill('2');
    await page.getByLabel(/^shout/).check();
    await page.getByRole('button', { name: 'Submit' }).click();
    await page.waitForURL(/#\/jobs\/\d+$/);
    const typedId = Number(/#\/jobs\/(\d+)$/.exec(page.url())?.[1]);
    await waitFor('the typed job to complete', async () => (await statusOf(typedId)) === 'completed');
    const typed = await d.cli<{ type: string; params: unknown; result: unknown }>(['status', String(typedId)]);
    expect(typed).toMatchObject({
      type: 'greet',
      params: { who: 'grace', times: 2, shout: true },
      result: { text: 'HELLO GRACEHELLO GRACE' },
    });
    await page.close();
  });
});

describe('a viewer token', () => {
  it('sees no action anywhere, and the server refuses the writes it forges', async () => {
    const viewer = await d.cli<{ token: string }>([
      'token',
      'create',
      '--tenant',
      'default',
      '--role',
      'viewer',
      '--name',
      'watcher',
    ]);
    const job = await d.cli<{ id: number }>(['submit', '--job-name', 'watched', '--delay', '1h', '--cmd', 'true']);
    const page = await d.open(`#/jobs/${job.id}`, viewer.token);
    await page.locator('header.top [data-role="viewer"]').waitFor();
    await page.locator('h1', { hasText: 'watched' }).waitFor();
    expect(await page.locator('main button', { hasText: /Cancel|Suspend|Resume|Retry|Delete/ }).count()).toBe(0);
    await screenshots(page, 'job-viewer');

    await page.goto(`${d.base}#/jobs`);
    await page.locator(`tr[data-job-id="${job.id}"]`).waitFor();
    expect(await page.locator('main input[type="checkbox"][aria-label^="Select"]').count()).toBe(0);
    expect(await page.locator('fieldset.bulk').count()).toBe(0);
    await page.goto(`${d.base}#/queues`);
    await page.locator('table.queues').waitFor();
    expect(await page.locator('main button').count()).toBe(0);
    await page.goto(`${d.base}#/submit`);
    await page.locator('main', { hasText: 'cannot submit' }).waitFor();
    expect(await page.locator('main form').count()).toBe(0);

    // Forged from the page itself, with the viewer's own token: refused, nothing changed.
    const forged = await page.evaluate(
      async ([id, token]) => {
        const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
        const statuses = [];
        for (const [method, path, body] of [
          ['POST', `jobs/${id}/cancel`, undefined],
          ['DELETE', `jobs/${id}`, undefined],
          ['POST', 'jobs', JSON.stringify({ cmd: 'true' })],
          ['POST', 'jobs/actions', JSON.stringify({ action: 'cancel', ids: [id] })],
          ['PATCH', 'queues/default', JSON.stringify({ paused: true })],
        ] as const) {
          statuses.push((await fetch(path, { method, headers, body })).status);
        }
        return statuses;
      },
      [job.id, viewer.token] as const,
    );
    expect(forged).toEqual([403, 403, 403, 403, 403]);
    expect(await statusOf(job.id)).toBe('pending');
    await page.close();
  });
});

describe('the keyboard', () => {
  it('a page opens with the focus on its content; Tab walks labelled controls with a visible focus ring', async () => {
    const page = await d.open('#/jobs');
    await page.locator('p.summary', { hasText: 'match' }).waitFor();
    const focused = () =>
      page.evaluate(() => {
        const element = document.activeElement as HTMLElement;
        const label = element.id ? document.querySelector(`label[for="${element.id}"]`)?.textContent : null;
        return {
          id: element.id,
          text: (element.textContent ?? '').trim() || (element as HTMLInputElement).value || label,
          outline: getComputedStyle(element).outlineStyle,
        };
      });
    expect((await focused()).id).toBe('main');
    await page.keyboard.press('Tab');
    expect(await focused()).toMatchObject({ text: 'pending', outline: 'solid' });
    await page.keyboard.press('Space');
    await page.waitForURL(/status=pending/);
    // Before the navigation sits a skip link that only shows when focused.
    await page.locator('header .brand').focus();
    await page.keyboard.press('Shift+Tab');
    expect(await focused()).toMatchObject({ text: 'Skip to content', outline: 'solid' });
    await page.keyboard.press('Enter');
    expect((await focused()).id).toBe('main');
    await page.close();
  });
});
