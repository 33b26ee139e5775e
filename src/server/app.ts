/**
 * The HTTP server (`docket serve`): Fastify with JSON Schema validation from TypeBox, OpenAPI 3.1
 * from the same schemas, bearer-token authentication, and RFC 9457 errors. A client of the facade
 * (Docket and its JobService) only.
 */
import { Ajv } from 'ajv';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Docket } from '../docket.js';
import type { TokenRole } from '../docket-types.js';
import { authenticate, type Principal } from './auth.js';
import { EventHub } from './events.js';
import { MetricsCollector } from './metrics.js';
import { problem, sendProblem, toProblem } from './problems.js';
import { registerCatalogRoutes } from './routes/catalog.js';
import { registerEventRoutes } from './routes/events.js';
import { registerJobRoutes } from './routes/jobs.js';
import { registerMetaRoutes } from './routes/meta.js';
import { registerOverviewRoutes } from './routes/overview.js';
import { registerPages } from './routes/pages.js';
import * as schemas from './schemas.js';
import { TokenCache } from './token-cache.js';

/** Requests larger than this are refused with 413. */
export const BODY_LIMIT = 1024 * 1024;

export interface ServerOptions {
  /** Serve everything under this path (`/docket`), for a reverse proxy that does not strip it. */
  basePath?: string;
  /** Where the built dashboard is (`web/dist`); null or missing: `/` says it is not built. */
  webDir?: string | null;
  logger?: boolean;
}

/** Who may call a route: anyone, or a token with at least this role. */
export type Access = 'public' | TokenRole;

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
    /** Event streams may take the token as `?access_token=` (EventSource cannot set headers). */
    tokenInQuery?: boolean;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export interface DocketServer {
  app: FastifyInstance;
  hub: EventHub;
  /** Closes event streams, then the server (in-flight requests finish). */
  close(): Promise<void>;
}

/** The content security policy of HTML pages: nothing but docket's own scripts, styles and calls. */
const PAGE_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/** Shared schemas, referenced by `$ref` from routes and emitted as OpenAPI components. */
const SHARED = [schemas.Problem, schemas.Job, schemas.JobDetail, schemas.NewJob, schemas.Counts];

export async function buildServer(docket: Docket, options: ServerOptions = {}): Promise<DocketServer> {
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: BODY_LIMIT,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { maxParamLength: 256, ignoreTrailingSlash: true },
  });
  app.decorateRequest('principal', null);
  useStrictValidation(app);
  for (const schema of SHARED) app.addSchema(schema);

  const { default: swagger } = await import('@fastify/swagger');
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'docket',
        version: '1',
        description:
          'Run, queue and track jobs. Every route but /healthz needs `Authorization: Bearer <token>` (docket token create).',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });

  const hub = new EventHub(docket.service, app.log);
  const metrics = new MetricsCollector(docket.service);
  const tokens = new TokenCache(docket.service.tokens);
  await tokens.start();

  app.setErrorHandler((error, request, reply) => sendProblem(reply, toProblem(error as Error, request)));
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, problem(404, `no route ${request.method} ${request.url.split('?')[0]}`)),
  );
  // One hook per request (each hook is a step of every request): security headers, then the token.
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    const config = request.routeOptions.config;
    // Unknown routes answer 404 to anyone (they hold nothing); known ones default to admin only.
    const access = request.is404 ? 'public' : (config?.access ?? 'admin');
    if (access === 'public') return;
    request.principal = await authenticate(tokens, request, access, config?.tokenInQuery === true);
  });

  await app.register(
    async (api) => {
      registerMetaRoutes(api, docket, metrics);
      registerJobRoutes(api, docket.service, docket.service.groupCommit);
      registerCatalogRoutes(api, docket);
      registerOverviewRoutes(api, docket);
      registerEventRoutes(api, docket.service, hub);
      // The pages' policy hook runs for the pages only, not on every API response.
      await api.register(async (pages) => {
        pages.addHook('onSend', async (_request, reply, payload) => {
          if (String(reply.getHeader('content-type') ?? '').startsWith('text/html')) {
            reply.header('content-security-policy', PAGE_POLICY);
          }
          return payload;
        });
        await registerPages(pages, options.webDir ?? null);
      });
    },
    { prefix: options.basePath ?? '' },
  );
  await app.ready();
  return {
    app,
    hub,
    async close() {
      await hub.close();
      await app.close();
      await tokens.stop();
    },
  };
}

/**
 * Request validation without surprises: bodies are never coerced or stripped (an unknown field
 * or a string where a number belongs is a 400), while query strings and path parameters — text
 * by nature — are coerced to the declared types.
 */
function useStrictValidation(app: FastifyInstance): void {
  const base = { allErrors: false, strict: false, useDefaults: true, removeAdditional: false } as const;
  const bodies = new Ajv({ ...base, coerceTypes: false });
  const texts = new Ajv({ ...base, coerceTypes: 'array' });
  for (const schema of SHARED) {
    bodies.addSchema(schema);
    texts.addSchema(schema);
  }
  app.setValidatorCompiler(({ schema, httpPart }) =>
    httpPart === 'body' ? bodies.compile(schema) : texts.compile(schema),
  );
}
