/** Job types and job groups (HyperSpot's catalog), under both spellings HyperSpot uses. */
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { NotFoundError } from '../../core/errors.js';
import type { Docket } from '../../docket.js';
import { jobTypeOut } from '../present.js';
import { JobGroup, JobType, NameParams, problemResponses } from '../schemas.js';

/** One catalog collection: its paths (the first documented, the others hidden aliases) and items. */
interface Collection<T extends { name: string }> {
  paths: string[];
  /** The list's key in the response, e.g. `job_types`. */
  key: string;
  /** What one item is called in messages, e.g. `job type`. */
  noun: string;
  schema: TSchema;
  summaries: { list: string; one: string };
  load: () => Promise<T[]>;
  out: (item: T) => unknown;
}

export function registerCatalogRoutes(api: FastifyInstance, docket: Docket): void {
  registerCollection(api, {
    paths: ['/job-types', '/job_types'],
    key: 'job_types',
    noun: 'job type',
    schema: JobType,
    summaries: { list: 'Job types with their params schema and defaults', one: 'One job type' },
    load: () => docket.jobTypes(),
    out: jobTypeOut,
  });
  registerCollection(api, {
    paths: ['/job-groups', '/job_groups'],
    key: 'job_groups',
    noun: 'job group',
    schema: JobGroup,
    summaries: { list: 'Job groups and the queue each maps to', one: 'One job group' },
    load: () => docket.jobGroups(),
    out: groupOut,
  });
}

function registerCollection<T extends { name: string }>(api: FastifyInstance, collection: Collection<T>): void {
  for (const [index, base] of collection.paths.entries()) {
    const hide = index > 0;
    api.get(
      base,
      {
        config: { access: 'viewer' },
        schema: {
          hide,
          tags: ['catalog'],
          summary: collection.summaries.list,
          response: {
            200: Type.Object({ [collection.key]: Type.Array(collection.schema) }),
            ...problemResponses(401),
          },
        },
      },
      async () => ({ [collection.key]: (await collection.load()).map(collection.out) }),
    );
    api.get<{ Params: Static<typeof NameParams> }>(
      `${base}/:id`,
      {
        config: { access: 'viewer' },
        schema: {
          hide,
          tags: ['catalog'],
          summary: collection.summaries.one,
          params: NameParams,
          response: { 200: collection.schema, ...problemResponses(400, 401, 404) },
        },
      },
      async (request) => {
        const item = (await collection.load()).find((candidate) => candidate.name === request.params.id);
        if (!item) throw new NotFoundError(`${collection.noun} ${request.params.id} does not exist`);
        return collection.out(item);
      },
    );
  }
}

function groupOut(group: { name: string; queue: string; description?: string }) {
  return { id: group.name, name: group.name, queue: group.queue, description: group.description ?? null };
}
