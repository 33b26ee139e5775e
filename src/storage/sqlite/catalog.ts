/** The embedded engine's catalog: queue settings, job types and job groups. */
import type Database from 'better-sqlite3';
import type { JobGroupDefinition, StoredJobType } from '../../core/job-types.js';
import type { JobStatus } from '../../core/words.js';
import type { QueueInfo, QueueSettings } from '../engine.js';
import { type JobTypeRow, jobTypeFromRow, jobTypeValues, type QueueRow, queueInfos } from '../records.js';

type Statement = Database.Statement<unknown[], unknown>;

export class SqliteCatalog {
  constructor(
    private readonly sql: (text: string) => Statement,
    private readonly write: <T>(work: () => T) => T,
  ) {}

  setQueue(name: string, settings: QueueSettings): QueueInfo {
    const now = Date.now();
    this.write(() => {
      this.sql('INSERT INTO queues (name, updated_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING').run(name, now);
      if (settings.capacity !== undefined) {
        this.sql('UPDATE queues SET capacity = ?, updated_at = ? WHERE name = ?').run(settings.capacity, now, name);
      }
      if (settings.paused !== undefined) {
        this.sql('UPDATE queues SET paused = ?, updated_at = ? WHERE name = ?').run(settings.paused ? 1 : 0, now, name);
      }
    });
    return this.listQueues().find((queue) => queue.name === name) as QueueInfo;
  }

  removeQueue(name: string): boolean {
    const removed = this.write(() =>
      this.sql('DELETE FROM queues WHERE name = ? AND NOT EXISTS (SELECT 1 FROM jobs WHERE queue = ?)').run(name, name),
    );
    return removed.changes > 0 || !this.listQueues().some((queue) => queue.name === name);
  }

  /** Every queue that has settings or jobs, with a count for every state. */
  listQueues(): QueueInfo[] {
    return queueInfos(
      this.sql('SELECT name, capacity, paused FROM queues').all() as QueueRow[],
      this.sql('SELECT queue, status, count(*) AS n FROM jobs GROUP BY queue, status').all() as {
        queue: string;
        status: JobStatus;
        n: number;
      }[],
    );
  }

  saveJobTypes(types: StoredJobType[]): void {
    const now = Date.now();
    const upsert = this.sql(
      `INSERT INTO job_types (name, queue, job_group, params_schema, defaults, suspendable, cron, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET queue = excluded.queue, job_group = excluded.job_group,
         params_schema = excluded.params_schema, defaults = excluded.defaults, suspendable = excluded.suspendable,
         cron = excluded.cron, updated_at = excluded.updated_at`,
    );
    this.write(() => {
      for (const type of types) upsert.run(...jobTypeValues(type), now);
    });
  }

  listJobTypes(): StoredJobType[] {
    return (this.sql('SELECT * FROM job_types ORDER BY name').all() as JobTypeRow[]).map(jobTypeFromRow);
  }

  saveJobGroups(groups: JobGroupDefinition[]): void {
    const now = Date.now();
    const upsert = this.sql(
      `INSERT INTO job_groups (name, queue, description, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET queue = excluded.queue, description = excluded.description,
         updated_at = excluded.updated_at`,
    );
    this.write(() => {
      for (const group of groups) upsert.run(group.name, group.queue, group.description ?? null, now);
    });
  }

  listJobGroups(): JobGroupDefinition[] {
    return (
      this.sql('SELECT name, queue, description FROM job_groups ORDER BY name').all() as {
        name: string;
        queue: string;
        description: string | null;
      }[]
    ).map((row) => ({
      name: row.name,
      queue: row.queue,
      ...(row.description !== null && { description: row.description }),
    }));
  }
}
