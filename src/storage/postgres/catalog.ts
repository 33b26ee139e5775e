/** The PostgreSQL engine's catalog: queue settings, job types and job groups. */
import type { Pool } from 'pg';
import type { JobGroupDefinition, StoredJobType } from '../../core/job-types.js';
import type { JobStatus } from '../../core/words.js';
import type { QueueInfo, QueueSettings } from '../engine.js';
import { type JobTypeRow, jobTypeFromRow, jobTypeValues, type QueueRow, queueInfos } from '../records.js';
import type { Queryable } from './connection.js';
import { prepared } from './sql.js';

export class PostgresCatalog {
  constructor(
    private readonly pool: Pool,
    private readonly transaction: <T>(work: (db: Queryable) => Promise<T>) => Promise<T>,
    private readonly channel: string,
  ) {}

  async setQueue(name: string, settings: QueueSettings): Promise<QueueInfo> {
    const now = Date.now();
    await this.transaction(async (db) => {
      await db.query(
        prepared('INSERT INTO queues (name, updated_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [name, now]),
      );
      if (settings.capacity !== undefined) {
        await db.query(
          prepared('UPDATE queues SET capacity = $1, updated_at = $2 WHERE name = $3', [settings.capacity, now, name]),
        );
      }
      if (settings.paused !== undefined) {
        await db.query(
          prepared('UPDATE queues SET paused = $1, updated_at = $2 WHERE name = $3', [
            settings.paused ? 1 : 0,
            now,
            name,
          ]),
        );
      }
      // Unpausing or widening a queue may make its jobs runnable.
      await db.query(prepared("SELECT pg_notify($1, 'w:' || $2)", [this.channel, name]));
    });
    return (await this.listQueues()).find((queue) => queue.name === name) as QueueInfo;
  }

  async removeQueue(name: string): Promise<boolean> {
    const removed = await this.pool.query(
      prepared('DELETE FROM queues WHERE name = $1 AND NOT EXISTS (SELECT 1 FROM jobs WHERE queue = $1)', [name]),
    );
    return (removed.rowCount ?? 0) > 0 || !(await this.listQueues()).some((queue) => queue.name === name);
  }

  /** Every queue that has settings or jobs, with a count for every state. */
  async listQueues(): Promise<QueueInfo[]> {
    const settings = await this.pool.query(prepared('SELECT name, capacity, paused FROM queues', []));
    const counts = await this.pool.query(
      prepared('SELECT queue, status, count(*)::int AS n FROM jobs GROUP BY queue, status', []),
    );
    return queueInfos(settings.rows as QueueRow[], counts.rows as { queue: string; status: JobStatus; n: number }[]);
  }

  async saveJobTypes(types: StoredJobType[]): Promise<void> {
    if (types.length === 0) return;
    const now = Date.now();
    const rows = types.map(jobTypeValues);
    const column = (index: number) => rows.map((row) => row[index]);
    await this.pool.query(
      prepared(
        `INSERT INTO job_types (name, queue, job_group, params_schema, defaults, suspendable, cron, updated_at)
         SELECT *, $8 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int2[], $7::text[])
         ON CONFLICT (name) DO UPDATE SET queue = excluded.queue, job_group = excluded.job_group,
           params_schema = excluded.params_schema, defaults = excluded.defaults, suspendable = excluded.suspendable,
           cron = excluded.cron, updated_at = excluded.updated_at`,
        [column(0), column(1), column(2), column(3), column(4), column(5), column(6), now],
      ),
    );
  }

  async listJobTypes(): Promise<StoredJobType[]> {
    const { rows } = await this.pool.query(prepared('SELECT * FROM job_types ORDER BY name', []));
    return (rows as JobTypeRow[]).map(jobTypeFromRow);
  }

  async saveJobGroups(groups: JobGroupDefinition[]): Promise<void> {
    if (groups.length === 0) return;
    await this.pool.query(
      prepared(
        `INSERT INTO job_groups (name, queue, description, updated_at)
         SELECT *, $4 FROM unnest($1::text[], $2::text[], $3::text[])
         ON CONFLICT (name) DO UPDATE SET queue = excluded.queue, description = excluded.description,
           updated_at = excluded.updated_at`,
        [
          groups.map((group) => group.name),
          groups.map((group) => group.queue),
          groups.map((group) => group.description ?? null),
          Date.now(),
        ],
      ),
    );
  }

  async listJobGroups(): Promise<JobGroupDefinition[]> {
    const { rows } = await this.pool.query(
      prepared('SELECT name, queue, description FROM job_groups ORDER BY name', []),
    );
    return (rows as { name: string; queue: string; description: string | null }[]).map((row) => ({
      name: row.name,
      queue: row.queue,
      ...(row.description !== null && { description: row.description }),
    }));
  }
}
