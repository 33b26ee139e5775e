/**
 * The dashboard's built assets (`web/dist/assets`, content-hashed file names) served under
 * `/assets/`. They hold no data, so every route here is public (the auth hook reads
 * `config.access`, which @fastify/static cannot set: an `onRoute` hook in this scope sets it).
 */
import type { FastifyInstance } from 'fastify';

export async function registerDashboardAssets(api: FastifyInstance, assetsDir: string): Promise<void> {
  const { default: serveStatic } = await import('@fastify/static');
  await api.register(async (scope) => {
    scope.addHook('onRoute', (route) => {
      route.config = { ...(route.config as object), access: 'public' } as typeof route.config;
    });
    await scope.register(serveStatic, {
      root: assetsDir,
      prefix: '/assets/',
      decorateReply: false,
      index: false,
      dotfiles: 'deny',
      // File names change with their content, so a browser may keep them for good.
      immutable: true,
      maxAge: '365d',
    });
  });
}
