/**
 * Vitest global setup of the `postgres` project: finds a PostgreSQL for the tests or starts a
 * throwaway one, and hands its URL to every test (and the CLI processes they start) as
 * DOCKET_TEST_PG. Each test then works in a schema of its own.
 *
 * 1. DOCKET_TEST_PG set: use it.
 * 2. Something answers on 127.0.0.1:5432 as user postgres: use it.
 * 3. Otherwise: initdb a cluster in a temporary folder with the machine's PostgreSQL binaries,
 *    start it on a free port, and remove it afterwards. Without binaries: fail, naming the package.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

const LOCAL_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

function binDir(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  for (const version of versions)
    if (existsSync(join(root, version, 'bin', 'initdb'))) return join(root, version, 'bin');
  return null;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.once('error', reject);
  });
}

/** initdb refuses to run as root: run the server's commands as the postgres user then. */
function asServerUser(command: string, args: string[]): string[] {
  return process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--', command, ...args] : [command, ...args];
}

function run(argv: string[]): void {
  const [command, ...args] = argv as [string, ...string[]];
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(`${argv.join(' ')} failed (${result.status}): ${result.stderr || result.stdout}`);
  }
}

export default async function setup(): Promise<() => Promise<void>> {
  if (process.env.DOCKET_TEST_PG) {
    if (!(await answers(process.env.DOCKET_TEST_PG))) {
      throw new Error(`DOCKET_TEST_PG=${process.env.DOCKET_TEST_PG} does not answer; start it or unset DOCKET_TEST_PG`);
    }
    return async () => {};
  }
  if (process.env.DOCKET_TEST_PG_THROWAWAY !== '1' && (await answers(LOCAL_URL))) {
    process.env.DOCKET_TEST_PG = LOCAL_URL;
    return async () => {};
  }
  const bin = binDir();
  if (!bin) {
    throw new Error(
      'the PostgreSQL tests need a database: DOCKET_TEST_PG is unset, nothing answers on 127.0.0.1:5432, ' +
        "and no PostgreSQL binaries were found under /usr/lib/postgresql (install Debian's postgresql package)",
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'docket-pg-'));
  chmodSync(dir, 0o777);
  const data = join(dir, 'data');
  if (process.getuid?.() === 0) execFileSync('chown', ['postgres:postgres', dir]);
  const port = await freePort();
  run(asServerUser(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']));
  run(
    asServerUser(join(bin, 'pg_ctl'), [
      '-D',
      data,
      '-l',
      join(dir, 'server.log'),
      '-w',
      '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300`,
      'start',
    ]),
  );
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  process.env.DOCKET_TEST_PG = url;
  return async () => {
    const [command, ...args] = asServerUser(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', 'stop']);
    spawnSync(command as string, args);
    rmSync(dir, { recursive: true, force: true });
  };
}
