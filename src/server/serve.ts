/**
 * Running the server: listen (loopback unless told), say where, make sure a token exists (a first
 * run creates an admin token and prints a login URL, as Jupyter does), keep daemonless bookkeeping
 * going, optionally run an in-process worker, and shut down gracefully on SIGTERM/SIGINT.
 */
import { userInfo } from 'node:os';
import type { Docket } from '../docket.js';
import { findUp } from '../paths.js';
import { buildServer, type DocketServer } from './app.js';

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 7070;
/** How often the server settles jobs of dead workers and syncs SLURM (what each CLI call does first). */
const RECONCILE_EVERY_MS = 2_000;

export interface ServeOptions {
  host: string;
  port: number;
  basePath: string;
  /** Run an in-process worker with this concurrency (0: none). */
  workers: number;
  /** Where messages for people go (the URL, the first token). */
  say: (line: string) => void;
}

export interface RunningServer {
  server: DocketServer;
  url: string;
  /** Resolves when the server has shut down. */
  closed: Promise<void>;
  shutdown(): Promise<void>;
}

/** Starts serving; resolves once listening. */
export async function serve(docket: Docket, options: ServeOptions): Promise<RunningServer> {
  const server = await buildServer(docket, { basePath: options.basePath, webDir: findWebDir() });
  const address = await server.app.listen({ host: options.host, port: options.port });
  const url = `${address.replace('[::1]', '[::1]')}${options.basePath}`;
  options.say(`docket serving ${url} (${docket.engineName})`);
  const login = await firstToken(docket);
  if (login) options.say(`first start: created an admin token for ${login.user}. Open ${url}/?token=${login.token}`);

  const worker = options.workers > 0 ? docket.worker({ concurrency: options.workers }) : null;
  const working = worker?.run();
  const reconcile = setInterval(() => {
    docket.reconcile().catch((error: Error) => docket.log.warn(`reconcile failed: ${error.message}`));
  }, RECONCILE_EVERY_MS);
  reconcile.unref();

  let resolveClosed: () => void = () => {};
  const closed = new Promise<void>((resolve) => {
    resolveClosed = resolve;
  });
  let shuttingDown: Promise<void> | null = null;
  const shutdown = () => {
    shuttingDown ??= (async () => {
      clearInterval(reconcile);
      await server.close();
      worker?.stop();
      await working;
      resolveClosed();
    })();
    return shuttingDown;
  };
  return { server, url, closed, shutdown };
}

/** On a store without tokens, creates an admin token for the local user; returns it to print once. */
async function firstToken(docket: Docket): Promise<{ token: string; user: string } | null> {
  if ((await docket.service.tokens.list()).length > 0) return null;
  const user = safeUser();
  const { token } = await docket.service.tokens.create({
    tenant: 'default',
    user,
    role: 'admin',
    name: 'created by the first docket serve',
  });
  return { token, user };
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'local';
  }
}

/** The built dashboard (`web/dist` of the package), if there is one. */
function findWebDir(): string | null {
  try {
    return findUp(import.meta.url, 'web/dist');
  } catch {
    return null;
  }
}
