/**
 * Pages: the dashboard (`/` and `/assets/*`, from `web/dist` when it is built) and the API docs
 * (`/docs`, a self-contained page that renders /openapi.json: no CDN, works offline). Pages hold
 * no data, so they need no token; the dashboard calls the API with one.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { registerDashboardAssets } from '../static.js';
import { DOCS_HTML, DOCS_SCRIPT } from './docs-page.js';

export async function registerPages(api: FastifyInstance, webDir: string | null): Promise<void> {
  const index = webDir === null ? null : join(webDir, 'index.html');
  const built = index !== null && existsSync(index);
  const basePath = api.prefix; // '' at the root
  api.get('/', { config: { access: 'public' }, schema: { hide: true } }, async (request, reply) => {
    // The page's asset paths are relative, so under a base path it must be loaded from `{base}/`.
    const [path, query] = splitOnce(request.url, '?');
    if (basePath !== '' && path === basePath) {
      return reply.redirect(`${basePath}/${query === undefined ? '' : `?${query}`}`, 308);
    }
    if (!built) {
      return reply
        .type('text/plain; charset=utf-8')
        .send('docket is running. The dashboard is not built (npm run build:web); the API is here: see /docs.\n');
    }
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(readFileSync(index));
  });
  if (built && webDir !== null && existsSync(join(webDir, 'assets'))) {
    await registerDashboardAssets(api, join(webDir, 'assets'));
  } else {
    api.get('/assets/*', { config: { access: 'public' }, schema: { hide: true } }, async (_request, reply) =>
      reply.code(404).type('text/plain; charset=utf-8').send('the dashboard is not built\n'),
    );
  }
  api.get('/docs', { config: { access: 'public' }, schema: { hide: true } }, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').send(DOCS_HTML),
  );
  api.get('/docs/app.js', { config: { access: 'public' }, schema: { hide: true } }, async (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').send(DOCS_SCRIPT),
  );
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const at = text.indexOf(separator);
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
}
