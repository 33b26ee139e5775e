/**
 * PostgreSQL only: docket's tables are always its own — schema names that are SQL keywords, an
 * application's tables of the same names on the caller's search path, transactional submits given
 * something that is not a transaction — and the password in a URL is never printed.
 * Each test file gets a database of its own, so fixed schema names cannot collide with other runs.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../src/core/errors.js';
import { Docket } from '../../src/docket.js';
import { BIN, runProcess } from '../helpers/cli.js';
import { testPgUrl } from '../helpers/engines.js';

const database = `docket_t_${randomBytes(5).toString('hex')}`;
let databaseUrl: string;
let home: string;

function urlWith(schema: string, password?: string): string {
  const url = new URL(databaseUrl);
  url.searchParams.set('schema', schema);
  if (password) url.password = password;
  return url.toString();
}

async function admin<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  await admin(testPgUrl(), (client) => client.query(`CREATE DATABASE ${database}`));
  const url = new URL(testPgUrl());
  url.pathname = `/${database}`;
  databaseUrl = url.toString();
  home = mkdtempSync(join(tmpdir(), 'docket-pg-schemas-'));
});

afterAll(async () => {
  await admin(testPgUrl(), (client) => client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
  rmSync(home, { recursive: true, force: true });
});

const cli = (args: string[]) =>
  runProcess(process.execPath, [BIN, ...args], { env: { ...process.env, DOCKET_HOME: home }, cwd: home });

describe('schema names that are SQL keywords (item 8)', () => {
  // Eighteen CLI processes in a row: generous on a loaded machine.
  it('work for every command: ?schema=select, order and user', { timeout: 240_000 }, async () => {
    for (const schema of ['select', 'order', 'user']) {
      const db = urlWith(schema);
      const run = await cli(['--db', db, 'run', '--', 'echo', `hello from ${schema}`]);
      expect(run, run.stderr).toMatchObject({ code: 0, stdout: `hello from ${schema}\n` });
      const listed = await cli(['--json', '--db', db, 'list', '--all']);
      expect(listed.code, listed.stderr).toBe(0);
      expect(JSON.parse(listed.stdout)).toHaveLength(1);
      for (const args of [
        ['progress'],
        ['queue', 'list'],
        ['clear', '--status', 'completed'],
        ['config', 'reset-db', '--yes'],
      ]) {
        const result = await cli(['--db', db, ...args]);
        expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
      }
    }
    const tables = await admin(databaseUrl, (client) =>
      client.query("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'select' AND tablename = 'jobs'"),
    );
    expect(tables.rows[0].n).toBe(1);
  });
});

describe('the password of a URL (item 23)', () => {
  it('db migrate and errors hide it, in text and JSON', async () => {
    const db = urlWith('pw_check', 's3cret-pw');
    const text = await cli(['--db', db, 'db', 'migrate']);
    const json = await cli(['--json', '--db', db, 'db', 'migrate']);
    expect(text.code, text.stderr).toBe(0);
    expect(json.code, json.stderr).toBe(0);
    for (const result of [text, json]) {
      expect(result.stdout + result.stderr).not.toContain('s3cret-pw');
      expect(result.stdout).toContain('***');
    }
    expect(JSON.parse(json.stdout).schema_version).toBeGreaterThan(0);
  });
});

describe('transactional submits (item 7)', () => {
  let docket: Docket;
  const schema = 'app_jobs_check';
  beforeAll(async () => {
    // The application has tables named like docket's, on its own search path.
    await admin(databaseUrl, async (client) => {
      await client.query('CREATE TABLE public.jobs (id serial PRIMARY KEY, title text NOT NULL)');
      await client.query('CREATE TABLE public.job_deps (note text)');
    });
    docket = await Docket.open({ home, db: urlWith(schema), manageWorkers: false });
  });
  afterAll(() => docket.close());

  async function docketJobs(): Promise<number> {
    return (await docket.list({ limit: 1000 })).length;
  }

  it('writes into docket schema inside the caller transaction, never into an app table named jobs', async () => {
    await admin(databaseUrl, async (client) => {
      await client.query('SET search_path TO public');
      // A temporary table comes first on every search path: the strongest decoy.
      await client.query('CREATE TEMP TABLE jobs (id serial, name text, type text)');
      await client.query('BEGIN');
      await client.query("INSERT INTO jobs (name) VALUES ('app row')");
      const job = await docket.submit({ command: 'true', dependsOn: [] }, { connection: client });
      const many = await docket.submitMany([{ command: 'true' }, { command: 'true', dependsOn: [job.id] }], {
        connection: client,
      });
      await client.query('COMMIT');
      expect(many).toHaveLength(2);
      const temp = await client.query('SELECT count(*)::int AS n FROM pg_temp.jobs');
      expect(temp.rows[0].n).toBe(1);
      const path = await client.query('SHOW search_path');
      expect(path.rows[0].search_path).toBe('public');
    });
    const app = await admin(databaseUrl, (client) => client.query('SELECT count(*)::int AS n FROM public.jobs'));
    expect(app.rows[0].n).toBe(0);
    expect(await docketJobs()).toBe(3);
  });

  it('vanishes with a rollback', async () => {
    const before = await docketJobs();
    await admin(databaseUrl, async (client) => {
      await client.query('BEGIN');
      await docket.submit({ command: 'true' }, { connection: client });
      await client.query('ROLLBACK');
    });
    expect(await docketJobs()).toBe(before);
  });

  it('refuses a pool and a client that is not inside a transaction, with a clear error, writing nothing', async () => {
    const before = await docketJobs();
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
    try {
      const fromPool = docket.submit({ command: 'true' }, { connection: pool });
      await expect(fromPool).rejects.toThrow(InvalidInputError);
      await expect(fromPool).rejects.toThrow(/connection: .*pool.*BEGIN/);
    } finally {
      await pool.end();
    }
    await admin(databaseUrl, async (client) => {
      const autocommit = docket.submitMany([{ command: 'true' }, { command: 'true' }], { connection: client });
      await expect(autocommit).rejects.toThrow(InvalidInputError);
      await expect(autocommit).rejects.toThrow(/connection: .*not inside a transaction.*BEGIN/);
      // After a transaction ended, the same client is outside one again.
      await client.query('BEGIN');
      await client.query('COMMIT');
      await expect(docket.submit({ command: 'true' }, { connection: client })).rejects.toThrow(
        /not inside a transaction/,
      );
    });
    expect(await docketJobs()).toBe(before);
  });
});
