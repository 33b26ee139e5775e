/**
 * The server keeps verified tokens in memory (src/server/token-cache.ts); a token revoked must
 * still be refused at once — also when the revocation goes through the server's own store
 * connection (on SQLite `PRAGMA data_version` does not move for it) and when another connection
 * of the same process revokes it.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Docket } from '../../src/docket.js';
import { buildServer, type DocketServer } from '../../src/server/app.js';
import { makeHome, type TestHome } from '../helpers/cli.js';

let home: TestHome;
let docket: Docket;
let other: Docket;
let server: DocketServer;

beforeAll(async () => {
  home = makeHome();
  docket = await Docket.open({ home: home.home, db: home.db, manageWorkers: false });
  other = await Docket.open({ home: home.home, db: home.db, manageWorkers: false });
  server = await buildServer(docket);
});

afterAll(async () => {
  await server?.close();
  await other?.close();
  await docket?.close();
  await home?.cleanup();
});

async function status(token: string): Promise<number> {
  const response = await server.app.inject({
    method: 'GET',
    url: '/me',
    headers: { authorization: `Bearer ${token}` },
  });
  return response.statusCode;
}

it('refuses a kept token revoked through the server’s own connection', async () => {
  const { token, record } = await docket.service.tokens.create({ tenant: 't', role: 'member' });
  expect(await status(token)).toBe(200);
  expect(await status(token)).toBe(200); // now kept
  await docket.service.tokens.revoke(record.id);
  expect(await status(token)).toBe(401);
});

it('refuses a kept token revoked through another connection of the process', async () => {
  const { token, record } = await docket.service.tokens.create({ tenant: 't', role: 'viewer' });
  expect(await status(token)).toBe(200);
  expect(await status(token)).toBe(200);
  await other.service.tokens.revoke(record.id);
  // PostgreSQL's notice arrives asynchronously: give it a moment.
  for (let tries = 0; tries < 50 && (await status(token)) !== 401; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  expect(await status(token)).toBe(401);
});
