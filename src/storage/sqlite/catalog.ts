/** The embedded engine's catalog: queue settings, job types and job groups. */
import type Database from 'better-sqlite3';
import type { JobGroupDefinition, StoredJobType } from '../../core/job-types.js';
import { emptyCounts, type JobStatus } from '../../core/words.js';
import type { QueueInfo, QueueSettings } from '../engine.js';

type Statement = Database.Statement<unknown[], unknown>;

interface TypeRow {
  name: string;
  queue: string | null;
  job_group: string | null;
  params_schema: string | null;
  defaults: string;
  suspendable: number;
  cron: string | null;
}

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

  /** Every queue that has settings or jobs, with a count for every state. */
  listQueues(): QueueInfo[] {
    const queues = new Map<string, QueueInfo>();
    const entry = (name: string) => {
      let queue = queues.get(name);
      if (!queue) {
        queue = { name, capacity: null, paused: false, counts: emptyCounts() };
        queues.set(name, queue);
      }
      return queue;
    };
    for (const row of this.sql('SELECT name, capacity, paused FROM queues').all() as {
      name: string;
      capacity: number | null;
      paused: number;
    }[]) {
      Object.assign(entry(row.name), { capacity: row.capacity, paused: row.paused === 1 });
    }
    for (const row of this.sql('SELECT queue, status, count(*) AS n FROM jobs GROUP BY queue, status').all() as {
      queue: string;
      status: JobStatus;
      n: number;
    }[]) {
      const counts = entry(row.queue).counts;
      counts[row.status] = row.n;
      counts.total += row.n;
    }
    return [...queues.values()].sort((a, b) => a.name.localeCompare(b.name));
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
      for (const type of types) {
        const { name, queue, group, paramsSchema, suspendable, cron, ...defaults } = type;
        upsert.run(
          name,
          queue ?? null,
          group ?? null,
          paramsSchema ? JSON.stringify(paramsSchema) : null,
          JSON.stringify(defaults),
          suspendable ? 1 : 0,
          cron ?? null,
          now,
        );
      }
    });
  }

  listJobTypes(): StoredJobType[] {
    return (this.sql('SELECT * FROM job_types ORDER BY name').all() as TypeRow[]).map((row) => ({
      ...JSON.parse(row.defaults),
      name: row.name,
      ...(row.queue !== null && { queue: row.queue }),
      ...(row.job_group !== null && { group: row.job_group }),
      ...(row.params_schema !== null && { paramsSchema: JSON.parse(row.params_schema) }),
      suspendable: row.suspendable === 1,
      ...(row.cron !== null && { cron: row.cron }),
    }));
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
