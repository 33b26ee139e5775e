/**
 * A submit wakes an idle worker of another process at once — a datagram to its loopback port on
 * SQLite, NOTIFY on PostgreSQL — rather than at its next poll: the worker here polls every ten
 * minutes, so only the wake-up can start the second job within the test's deadline.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHome, ROOT, type TestHome, waitFor } from '../helpers/cli.js';
import { openTestStore } from '../helpers/engines.js';

const POLL_MS = 600_000;
const WORKER = `
import { Docket } from ${JSON.stringify(join(ROOT, 'src', 'docket.ts'))};
const docket = await Docket.open({ manageWorkers: false });
const worker = docket.worker({ pollMs: ${POLL_MS}, concurrency: 1, queues: ['*'] });
process.once('SIGTERM', () => worker.stop());
await worker.run();
await docket.close();
`;

let t: TestHome;
beforeAll(() => {
  t = makeHome({ DOCKET_ON_DEMAND: '0' });
});
afterAll(() => t.cleanup());

describe('waking a worker of another process', () => {
  it('a submit starts a job on an idle worker that would not poll for ten minutes', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', WORKER], {
      env: t.env,
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      const store = await openTestStore(t.db);
      await waitFor('the worker to register', async () => (await store.listWorkers()).length === 1, 60_000);
      const [worker] = await store.listWorkers();
      await store.close();
      if (!t.db.startsWith('postgres')) expect(worker?.wakeAddress).toMatch(/^udp:\d+@net:/);
      const status = async (id: number) => (await t.json(['status', String(id)])).status;
      // The first job may be claimed by the worker's own first look; after it ends, the worker sleeps.
      const first = await t.json(['submit', '--', 'true']);
      await waitFor('the first job to complete', async () => (await status(first.id)) === 'completed', 60_000);
      const second = await t.json(['submit', '--', 'true']);
      await waitFor('the second job to complete', async () => (await status(second.id)) === 'completed', 60_000);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
    expect(stderr).toBe('');
  }, 240_000);
});
