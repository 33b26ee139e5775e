/**
 * Writes openapi.json: the OpenAPI document `docket serve` generates from its route schemas. Run
 * `npm run openapi` after changing a route; test/server/openapi.test.ts fails while the checked-in
 * document and the served one differ.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Docket } from '../src/docket.js';
import { buildServer } from '../src/server/app.js';

const home = mkdtempSync(join(tmpdir(), 'docket-openapi-'));
const docket = await Docket.open({ home, db: join(home, 'docket.db'), manageWorkers: false });
try {
  const server = await buildServer(docket);
  writeFileSync('openapi.json', `${JSON.stringify(server.app.swagger(), null, 2)}\n`);
  await server.close();
} finally {
  await docket.close();
  rmSync(home, { recursive: true, force: true });
}
