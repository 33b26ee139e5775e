/** Health, metrics and the OpenAPI document. */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Docket } from '../../docket.js';
import type { MetricsCollector } from '../metrics.js';
import { problem, sendProblem } from '../problems.js';
import { problemResponses } from '../schemas.js';

export function registerMetaRoutes(api: FastifyInstance, docket: Docket, metrics: MetricsCollector): void {
  api.get(
    '/healthz',
    {
      config: { access: 'public' },
      schema: {
        tags: ['meta'],
        summary: 'Health: 200 when the store answers, 503 when it does not (no token needed)',
        security: [],
        response: { 200: Type.Object({ status: Type.Literal('ok'), engine: Type.String() }), ...problemResponses(503) },
      },
    },
    async (_request, reply) => {
      try {
        await docket.service.ping();
        return { status: 'ok', engine: docket.engineName };
      } catch (error) {
        return sendProblem(reply, problem(503, `the store does not answer: ${(error as Error).message}`));
      }
    },
  );

  api.get(
    '/metrics',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['meta'],
        summary: 'Prometheus text format: jobs by queue and state, attempts, run and wait times, workers (admins)',
        produces: ['text/plain'],
        response: { 200: Type.String(), ...problemResponses(401, 403) },
      },
    },
    async (_request, reply) => reply.type(metrics.contentType).send(await metrics.text()),
  );

  api.get(
    '/openapi.json',
    {
      config: { access: 'public' },
      schema: { hide: true },
    },
    async () => api.swagger(),
  );
}
