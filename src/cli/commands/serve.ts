/** `docket serve`: the HTTP API (and the dashboard) over this docket's store. */
import type { Command } from 'commander';
import { findWorkerConfig } from '../../config/worker-config.js';
import { InvalidInputError } from '../../core/errors.js';
import { lazy } from '../../core/lazy.js';
import { parseCount } from '../../core/units.js';
import { Docket } from '../../docket.js';
import { action, globals, loadTypes } from '../context.js';

const loadPino = lazy<typeof import('pino')>('pino');

interface ServeFlags {
  host: string;
  port: string;
  basePath?: string;
  workers?: string;
  config?: string;
}

export function register(program: Command): void {
  program
    .command('serve')
    .description('serve the HTTP API and dashboard (binds 127.0.0.1:7070 unless told otherwise)')
    .option('--host <host>', 'address to bind; 0.0.0.0 exposes it to the network', '127.0.0.1')
    .option('--port <port>', 'port (0 picks a free one; the URL is printed)', '7070')
    .option('--base-path <path>', 'serve under this path, e.g. /docket behind a reverse proxy')
    .option('--workers <n>', 'also run an in-process worker running n jobs at once')
    .option('--config <path>', 'worker config file with job types (default: docket.config.* here)')
    .action(
      action(async (flags: ServeFlags, command: Command) => {
        const options = globals(command);
        const port = parseCount(flags.port, '--port', { min: 0 });
        if (port > 65535) throw new InvalidInputError('--port', `${port} is not a port; use 0–65535`);
        const workers = flags.workers === undefined ? 0 : parseCount(flags.workers, '--workers', { min: 0 });
        const basePath = normalizeBasePath(flags.basePath);
        const logger = loadPino()({ level: process.env.DOCKET_LOG_LEVEL ?? 'info' }, loadPino().destination(2));
        // Daemonless like the CLI: a submit starts an on-demand worker (with the worker config found here).
        const docket = await Docket.open({
          db: options.db,
          home: options.home,
          logger,
          onDemandWorkers: true,
          workerConfig: findWorkerConfig(flags.config) ?? undefined,
        });
        try {
          await loadTypes(docket, { path: flags.config, queues: true });
          const { serve } = await import('../../server/serve.js');
          const running = await serve(docket, {
            host: flags.host,
            port,
            basePath,
            workers,
            say: (line) => process.stdout.write(`${line}\n`),
          });
          const onSignal = (signal: NodeJS.Signals) => {
            logger.info({ signal }, 'shutting down: finishing requests, closing streams');
            void running.shutdown();
          };
          process.once('SIGTERM', onSignal);
          process.once('SIGINT', onSignal);
          await running.closed;
          return 0;
        } finally {
          await docket.close();
        }
      }),
    );
}

function normalizeBasePath(path: string | undefined): string {
  if (path === undefined || path === '' || path === '/') return '';
  if (!/^\/[A-Za-z0-9._~\-/]*$/.test(path) || path.includes('//') || path.includes('/..')) {
    throw new InvalidInputError('--base-path', `"${path}" is not a path like /docket`);
  }
  return path.replace(/\/+$/, '');
}
