/**
 * A job page and a job's own page read dependencies, attempts and dependents in fewer statements
 * than one per kind (the page's rows carry their dependencies; `GET /jobs/{id}` is one read):
 * what they show must agree with each other, dependency order included.
 */
import { expect, it } from 'vitest';
import { call, serveForTests } from '../helpers/server.js';

const t = serveForTests();

it('shows the same dependencies and dependents on a page as on each job', async () => {
  const submit = async (body: Record<string, unknown>) =>
    (await call(t.server, t.server.adminToken, 'POST', '/jobs', { delay_sec: 3600, ...body })).body as { id: number };
  const parents = [await submit({ cmd: 'true' }), await submit({ cmd: 'true' }), await submit({ cmd: 'true' })];
  const ids = parents.map((parent) => parent.id);
  const child = await submit({ cmd: 'true', depends_on: [ids[2], ids[0], ids[1]] });
  const lone = await submit({ cmd: 'true', depends_on: [ids[1]] });
  const page = (await call(t.server, t.server.adminToken, 'GET', '/jobs?limit=10&order=created_at')).body as {
    jobs: { id: number; depends_on: number[] }[];
  };
  expect(page.jobs.map((job) => job.id)).toEqual([...ids, child.id, lone.id]);
  expect(page.jobs.map((job) => job.depends_on)).toEqual([[], [], [], [...ids].sort((a, b) => a - b), [ids[1]]]);
  for (const listed of page.jobs) {
    const shown = (await call(t.server, t.server.adminToken, 'GET', `/jobs/${listed.id}`)).body;
    expect(shown.depends_on).toEqual(listed.depends_on);
  }
  const middle = (await call(t.server, t.server.adminToken, 'GET', `/jobs/${ids[1]}`)).body;
  expect(middle.dependents).toEqual([child.id, lone.id]);
  expect(middle.executions).toEqual([]);
});
