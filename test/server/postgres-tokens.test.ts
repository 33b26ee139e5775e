/**
 * PostgreSQL only: the server forgets the tokens it verified when the connection that receives
 * revocation notices is cut, so a token revoked while no notice could arrive is refused.
 */
import pg from 'pg';
import { expect, it } from 'vitest';
import { waitFor } from '../helpers/cli.js';
import { testPgUrl } from '../helpers/engines.js';
import { call, serveForTests } from '../helpers/server.js';

const t = serveForTests();

it('refuses a token revoked without a notice once the connection that receives notices was cut', async () => {
  const created = await t.home.json(['token', 'create', '--tenant', 'tenant-a', '--role', 'member']);
  expect((await call(t.server, created.token, 'GET', '/me')).status).toBe(200);
  const schema = new URL(t.home.db).searchParams.get('schema') as string;
  const admin = new pg.Client({ connectionString: testPgUrl() });
  await admin.connect();
  try {
    const listeners = `docket-listen:${schema}`;
    const listening = async (): Promise<number[]> =>
      (await admin.query('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [listeners])).rows.map(
        (row) => row.pid,
      );
    const cut = await listening();
    expect(cut.length).toBeGreaterThan(0);
    await admin.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [cut]);
    await waitFor(
      'the server to listen on a new connection',
      async () => {
        const now = await listening();
        return now.length >= cut.length && now.every((pid) => !cut.includes(pid));
      },
      15_000,
    );
    // Revoked by hand: no notice is sent, so only forgetting on the cut connection refuses it.
    await admin.query(`UPDATE "${schema}".api_tokens SET revoked_at = $1 WHERE id = $2`, [Date.now(), created.id]);
  } finally {
    await admin.end();
  }
  expect((await call(t.server, created.token, 'GET', '/me')).status).toBe(401);
});
