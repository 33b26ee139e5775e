/** JsonRows (job pages read as one JSON text, objects built by a compiled function) gives what better-sqlite3 gives. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { JsonRows } from '../../src/storage/sqlite/api.js';
import { SqliteConnection } from '../../src/storage/sqlite/connection.js';

describe('JsonRows', () => {
  it('returns the same objects, in the same order, as better-sqlite3', () => {
    const db = new Database(':memory:');
    db.exec(`CREATE TABLE jobs (id INTEGER PRIMARY KEY, name TEXT, "odd ""name""" TEXT, n REAL, big INTEGER, doc TEXT);
      INSERT INTO jobs (name, "odd ""name""", n, big, doc) VALUES
        ('a', 'x', 1.5, 1796083166819, '{"k":[1,2]}'),
        ('b "quoted"\\n', NULL, 0.0, -9007199254740991, NULL),
        ('ünïcødé 🚀	tab', '', 1e300, 0, '"text"'),
        ('d', 'y', -0.25, 42, '[]')`);
    const rows = new JsonRows((text) => db.prepare(text));
    for (const order of ['ORDER BY id DESC', 'ORDER BY name ASC, id ASC', 'ORDER BY n IS NULL, n DESC, id DESC']) {
      const expected = db.prepare(`SELECT * FROM jobs WHERE id >= ? ${order} LIMIT ? OFFSET ?`).all(1, 3, 1);
      expect(rows.read({ where: 'WHERE id >= ?', order, args: [1], limit: 3, offset: 1 })).toEqual(expected);
    }
    expect(rows.read({ where: 'WHERE id > ?', order: 'ORDER BY id', args: [100], limit: 5, offset: 0 })).toEqual([]);
    expect(rows.read({ where: '', order: 'ORDER BY name DESC, id DESC', args: [], limit: 2, offset: 0 })).toEqual(
      db.prepare('SELECT * FROM jobs ORDER BY name DESC, id DESC LIMIT 2').all(),
    );
    db.close();
  });

  it('SqliteConnection.jobRows gives the rows better-sqlite3 gives for SELECT *', () => {
    const dir = mkdtempSync(join(tmpdir(), 'docket-json-rows-'));
    const conn = new SqliteConnection(join(dir, 'rows.db'));
    try {
      conn.db.exec(`CREATE TABLE jobs (id INTEGER PRIMARY KEY, name TEXT, "odd ""name""" TEXT, n REAL, big INTEGER, doc TEXT);
        INSERT INTO jobs (name, "odd ""name""", n, big, doc) VALUES
          ('a', 'x', 1.5, 1796083166819, '{"k":[1,2]}'),
          ('b "quoted"\n', NULL, 0.0, -9007199254740991, NULL),
          ('ünïcødé 🚀	tab \\ back', '', 1e300, 0, '"text"'),
          ('d', 'y', -0.25, 42, '[]')`);
      const byId = (rows: { id: number }[]) => [...rows].sort((a, b) => a.id - b.id);
      const tail = 'WHERE id IN (SELECT value FROM json_each(?))';
      expect(byId(conn.jobRows(tail).all('[1,2,3,4]'))).toEqual(conn.db.prepare('SELECT * FROM jobs').all());
      expect(conn.jobRows('WHERE id = ?').all(3)).toEqual([conn.db.prepare('SELECT * FROM jobs WHERE id = 3').get()]);
      expect(conn.jobRows('WHERE id = ?').all(99)).toEqual([]);
    } finally {
      conn.db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
