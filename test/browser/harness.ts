/**
 * The browser tests' world: a real `docket serve` process and a real `docket worker` process on a
 * fresh store of the run's engine, driven through Debian's Chromium by playwright-core (never a
 * downloaded browser). Everything started here is stopped by `close()`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { BIN, makeHome, ROOT, type TestHome, waitFor } from '../helpers/cli.js';
import { TEST_ENGINE } from '../helpers/engines.js';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
  '--disable-quic',
];
/** Screenshots land here (gitignored): one per page, theme and engine. */
export const ARTIFACTS = join(ROOT, 'test-artifacts', 'screenshots');

/** A typed job type with a params schema, a handler that fails on demand, and a worker config. */
const CONFIG = `
export default {
  types: [
    {
      name: 'greet',
      handler: './handlers/greet.ts',
      paramsSchema: {
        type: 'object',
        properties: {
          who: { type: 'string', description: 'whom to greet' },
          times: { type: 'integer', minimum: 1, maximum: 5 },
          shout: { type: 'boolean' },
          fail: { type: 'string', description: 'if set, the handler throws this message' },
        },
        required: ['who', 'times'],
        additionalProperties: false,
      },
      maxAttempts: 1,
    },
  ],
};
`;
const HANDLER = `
export default async function greet({ params }: { params: { who: string; times: number; shout?: boolean; fail?: string } }) {
  if (params.fail) throw new Error(params.fail);
  const text = ('hello ' + params.who).repeat(params.times);
  return { text: params.shout ? text.toUpperCase() : text };
}
`;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export interface Dashboard {
  t: TestHome;
  /** The project folder holding docket.config.ts (the worker's and the CLI's cwd). */
  project: string;
  /** `http://127.0.0.1:PORT/base/` — where the dashboard is served. */
  base: string;
  /** The URL `docket serve` printed, with its admin token. */
  loginUrl: string;
  adminToken: string;
  browser: BrowserContext;
  /** `docket ARGS --json` in the project folder (the CLI is how tests check what changed). */
  cli<T = unknown>(args: string[]): Promise<T>;
  /** A call to the HTTP API with a token (the admin's by default). */
  http(
    path: string,
    options?: { token?: string; method?: string; body?: unknown },
    // biome-ignore lint/suspicious/noExplicitAny: tests read JSON documents loosely
  ): Promise<{ status: number; body: any }>;
  /** A new tab signed in with `token` (the admin's by default), at `hash` (e.g. `#/jobs`). */
  open(hash?: string, token?: string): Promise<Page>;
  close(): Promise<void>;
}

/** Starts a worker, `docket serve` (optionally under a base path) and Chromium. */
export async function startDashboard(options: { basePath?: string } = {}): Promise<Dashboard> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`the dashboard tests need Debian's Chromium at ${CHROMIUM}: apt-get install chromium`);
  }
  if (!existsSync(join(ROOT, 'web', 'dist', 'index.html'))) {
    throw new Error('the dashboard is not built: npm run build');
  }
  const t = makeHome({ DOCKET_ON_DEMAND: '0' });
  const project = join(t.home, 'project');
  mkdirSync(join(project, 'handlers'), { recursive: true });
  writeFileSync(join(project, 'docket.config.ts'), CONFIG);
  writeFileSync(join(project, 'handlers', 'greet.ts'), HANDLER);
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    DOCKET_HOME: t.home,
    DOCKET_ON_DEMAND: '0',
    DOCKET_GRACE: '2s',
  };
  if (TEST_ENGINE === 'postgres') env.DOCKET_DB = t.db;
  else delete env.DOCKET_DB;
  const children: ChildProcess[] = [];
  const userData = mkdtempSync(join(tmpdir(), 'docket-chromium-'));
  let browser: BrowserContext | null = null;

  const close = async () => {
    await browser?.close().catch(() => undefined);
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 8000))]);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
    }
    await t.cleanup();
    rmSync(userData, { recursive: true, force: true });
  };

  try {
    // The worker registers the `greet` type (with its schema) in the store, so the server lists it.
    const worker = spawn(process.execPath, [BIN, 'worker', '--concurrency', '8', '--config', 'docket.config.ts'], {
      cwd: project,
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.push(worker);
    let workerErr = '';
    worker.stderr?.on('data', (chunk) => (workerErr += chunk));

    const port = await freePort();
    const args = [BIN, 'serve', '--port', String(port)];
    if (options.basePath) args.push('--base-path', options.basePath);
    const server = spawn(process.execPath, args, { cwd: project, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(server);
    let out = '';
    server.stdout?.on('data', (chunk) => (out += chunk));
    server.stderr?.on('data', (chunk) => (out += chunk));
    const loginUrl = await waitFor(
      `docket serve to print its login URL (output so far: ${out})`,
      () =>
        /(http:\/\/127\.0\.0\.1:\d+\/\S*\?token=[^\s"']+)/.exec(out)?.[1] ??
        (server.exitCode !== null ? Promise.reject(new Error(out)) : null),
      30_000,
    );
    const adminToken = new URL(loginUrl).searchParams.get('token') as string;
    const base = new URL('./', loginUrl.split('?')[0]).href;

    const http: Dashboard['http'] = async (path, request = {}) => {
      const response = await fetch(new URL(path.replace(/^\//, ''), base), {
        method: request.method ?? 'GET',
        headers: {
          authorization: `Bearer ${request.token ?? adminToken}`,
          ...(request.body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: request.body === undefined ? undefined : JSON.stringify(request.body),
      });
      const text = await response.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // text answer (logs)
      }
      return { status: response.status, body };
    };
    await waitFor(`the worker to register (stderr: ${workerErr})`, async () => {
      const answer = await http('workers');
      const list = Array.isArray(answer.body) ? answer.body : answer.body?.workers;
      return answer.status === 200 && Array.isArray(list) && list.length > 0;
    });

    browser = await chromium.launchPersistentContext(userData, {
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
      headless: true,
      viewport: { width: 1280, height: 900 },
    });
    const context = browser;
    // Waits are for conditions, never fixed sleeps; on a loaded machine a page may take a while.
    context.setDefaultTimeout(60_000);
    return {
      t,
      project,
      base,
      loginUrl,
      adminToken,
      browser: context,
      async cli(cliArgs) {
        return t.json(cliArgs, { cwd: project });
      },
      http,
      async open(hash = '#/', token = adminToken) {
        const page = await context.newPage();
        await page.goto(`${base}?token=${encodeURIComponent(token)}${hash}`);
        await page.locator('header.top').waitFor();
        return page;
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** A screenshot of the page in light and dark, full length, under test-artifacts/screenshots. */
export async function screenshots(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  for (const colorScheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme });
    await page.screenshot({ path: join(ARTIFACTS, `${TEST_ENGINE}-${name}-${colorScheme}.png`), fullPage: true });
  }
  await page.emulateMedia({ colorScheme: null });
}
