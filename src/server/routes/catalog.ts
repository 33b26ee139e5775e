/** Job types and job groups (HyperSpot's catalog), under both spellings HyperSpot uses. */
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { NotFoundError } from '../../core/errors.js';
import type { Docket } from '../../docket.js';
import { jobTypeOut } from '../present.js';
import { JobGroup, JobType, NameParams, problemResponses } from '../schemas.js';

export function registerCatalogRoutes(api: FastifyInstance, docket: Docket): void {
  for (const base of ['/job-types', '/job_types']) {
    const hide = base === '/job_types';
    api.get(
      base,
      {
        config: { access: 'viewer' },
        schema: {
          hide,
          tags: ['catalog'],
          summary: 'Job types with their params schema and defaults',
          response: { 200: Type.Object({ job_types: Type.Array(JobType) }), ...problemResponses(401) },
        },
      },
      async () => ({ job_types: (await docket.jobTypes()).map(jobTypeOut) }),
    );
    api.get<{ Params: Static<typeof NameParams> }>(
      `${base}/:id`,
      {
        config: { access: 'viewer' },
        schema: {
          hide,
          tags: ['catalog'],
          summary: 'One job type',
          params: NameParams,
          response: { 200: JobType, ...problemResponses(400, 401, 404) },
        },
      },
      async (request) => {
        const type = (await docket.jobTypes()).find((candidate) => candidate.name === request.params.id);
        if (!type) throw new NotFoundError(`job type ${request.params.id} does not exist`);
        return jobTypeOut(type);
      },
    );
  }
  for (const base of ['/job-groups', '/job_groups']) {
    const hide = base === '/job_groups';
    api.get(
      base,
      {
        config: { access: 'viewer' },
        schema: {
          hide,
          tags: ['catalog'],
          summary: 'Job groups and the queue each maps to',
          response: { 200: Type.Object({ job_groups: Type.Array(JobGroup) }), ...problemResponses(401) },
        },
      },
      async () => ({ job_groups: (await docket.jobGroups()).map(groupOut) }),
    );
    api.get<{ Params: Static<typeof NameParams> }>(
      `${base}/:id`,
      {
        config: { access: 'viewer' },
        schema: {
          hide,
          tags: ['catalog'],
          summary: 'One job group',
          params: NameParams,
          response: { 200: JobGroup, ...problemResponses(400, 401, 404) },
        },
      },
      async (request) => {
        const group = (await docket.jobGroups()).find((candidate) => candidate.name === request.params.id);
        if (!group) throw new NotFoundError(`job group ${request.params.id} does not exist`);
        return groupOut(group);
      },
    );
  }
}

function groupOut(group: { name: string; queue: string; description?: string }) {
  return { id: group.name, name: group.name, queue: group.queue, description: group.description ?? null };
}
