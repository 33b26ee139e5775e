/**
 * The OpenAPI document: the one `docket serve` serves is the checked-in openapi.json (regenerate it
 * with `npm run openapi` when a route changes), and a real OpenAPI validator accepts it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validate } from '@readme/openapi-parser';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { call, serveForTests } from '../helpers/server.js';
import { openSse } from './sse.js';

const t = serveForTests();

describe('openapi.json', () => {
  it('is what the server serves (no drift between the route schemas and the checked-in document)', async () => {
    const served = (await call(t.server, null, 'GET', '/openapi.json')).body;
    const checkedIn = JSON.parse(readFileSync(join(ROOT, 'openapi.json'), 'utf8'));
    expect(served, 'openapi.json is stale: run npm run openapi').toEqual(checkedIn);
  });

  it('is a valid OpenAPI 3.1 document with every endpoint of the issue', async () => {
    const document = JSON.parse(readFileSync(join(ROOT, 'openapi.json'), 'utf8'));
    const result = await validate(structuredClone(document));
    expect(result.valid, JSON.stringify(result)).toBe(true);
    expect(document.openapi).toBe('3.1.0');
    for (const path of [
      '/jobs',
      '/jobs/batch',
      '/jobs/{id}',
      '/jobs/{id}/cancel',
      '/jobs/{id}/suspend',
      '/jobs/{id}/resume',
      '/jobs/{id}/retry',
      '/jobs/{id}/logs',
      '/jobs/actions',
      '/job-types',
      '/job-types/{id}',
      '/job-groups',
      '/job-groups/{id}',
      '/queues',
      '/queues/{name}',
      '/progress',
      '/workers',
      '/events',
      '/metrics',
      '/healthz',
      '/me',
      '/stats',
    ]) {
      expect(document.paths[path], path).toBeDefined();
    }
    // The validator is not a rubber stamp: a broken document is refused.
    const broken = structuredClone(document);
    broken.paths['/jobs'].get.responses = 'none';
    expect((await validate(broken)).valid).toBe(false);
  });

  it('comes from a server that shuts down gracefully on SIGTERM: streams end, exit code 0', async () => {
    const stream = await openSse(`${t.server.url}/events`, { authorization: `Bearer ${t.server.adminToken}` });
    expect(stream.status).toBe(200);
    expect(await t.server.stop()).toBe(0);
    await stream.ended;
    expect(t.server.output()).toMatch(/^docket serving http:\/\/127\.0\.0\.1:\d+ \((sqlite|postgres)\)$/m);
  });
});
