/** How PostgreSQL statements name docket's tables: always with the quoted schema (pure text checks). */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DOCKET_TABLES, schemaQualifier } from '../../src/storage/postgres/connection.js';
import { ROOT } from '../helpers/cli.js';

const qualify = schemaQualifier('select');

describe('schema qualification of PostgreSQL statements (item 7)', () => {
  it('qualifies table references after FROM, JOIN, INTO, UPDATE, TABLE, ON and REFERENCES', () => {
    expect(qualify('SELECT * FROM jobs AS j JOIN job_deps AS d ON d.job_id = j.id WHERE j.id = $1')).toBe(
      'SELECT * FROM "select".jobs AS j JOIN "select".job_deps AS d ON d.job_id = j.id WHERE j.id = $1',
    );
    expect(qualify('INSERT INTO executions (job_id) VALUES ($1) ON CONFLICT (job_id) DO UPDATE SET x = 1')).toBe(
      'INSERT INTO "select".executions (job_id) VALUES ($1) ON CONFLICT (job_id) DO UPDATE SET x = 1',
    );
    expect(qualify('UPDATE jobs SET status = $1 WHERE id IN (SELECT id FROM jobs FOR UPDATE SKIP LOCKED)')).toBe(
      'UPDATE "select".jobs SET status = $1 WHERE id IN (SELECT id FROM "select".jobs FOR UPDATE SKIP LOCKED)',
    );
    expect(qualify('LOCK TABLE jobs IN SHARE ROW EXCLUSIVE MODE')).toBe(
      'LOCK TABLE "select".jobs IN SHARE ROW EXCLUSIVE MODE',
    );
  });

  it('leaves columns, qualified names, CTEs and lower-case words alone', () => {
    for (const text of [
      'SELECT queues, workers.id FROM unnest($1::text[]) AS queues',
      'SELECT * FROM "docket".jobs',
      'WITH done AS (SELECT 1) SELECT * FROM done',
      "SELECT 'rows from jobs' AS note",
    ]) {
      expect(qualify(text)).toBe(text);
    }
  });

  it('knows every table a migration creates', () => {
    const dir = join(ROOT, 'src', 'storage', 'postgres', 'migrations');
    const created = readdirSync(dir)
      .filter((file) => file.endsWith('.sql'))
      .flatMap((file) => [...readFileSync(join(dir, file), 'utf8').matchAll(/CREATE TABLE (?:IF NOT EXISTS )?(\w+)/g)])
      .map((match) => match[1]);
    expect(created.length).toBeGreaterThan(5);
    for (const table of created) expect(DOCKET_TABLES).toContain(table);
  });
});
