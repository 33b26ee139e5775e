import type { JobStatus, WorkerInfo } from '../../core/words.js';
import type { HeldJob, WorkerRegistration } from '../engine.js';
import { registerWorkerSql, workerValues } from '../inserts.js';
import { servingNotJudgedDead } from '../registrations.js';
import { type WorkerRow, workerFromRow } from '../rows.js';
import type { PostgresConnection, Queryable } from './connection.js';
import { claimFilter, LIVE, Params, prepared } from './sql.js';

const REGISTER_WORKER = registerWorkerSql((index) => `$${index + 1}`, 'greatest');

export class PostgresWorkers {
  constructor(private readonly conn: PostgresConnection) {}

  async heartbeat(workerId: string, leaseMs: number): Promise<HeldJob[] | null> {
    const now = Date.now();
    const rows = await this.conn.rows<{
      id: number | null;
      run_no: number;
      status: JobStatus;
      started_at: number | null;
    }>(
      this.conn.pool,
      // Rows are locked in id order, as every statement that locks several jobs does, so a renewal
      // and another worker's completion never wait on each other in a cycle (40P01).
      `WITH mine AS MATERIALIZED (
         SELECT id FROM jobs WHERE worker_id = $2 AND status IN ${LIVE} ORDER BY id FOR UPDATE
       ), leases AS (
         UPDATE jobs SET lease_expires_at = $1 FROM mine
         WHERE jobs.id = mine.id AND jobs.worker_id = $2 AND jobs.status IN ${LIVE}
         RETURNING jobs.id, jobs.run_no, jobs.status, jobs.started_at
       ), me AS (UPDATE workers SET heartbeat_at = $3 WHERE id = $2 RETURNING id)
       SELECT leases.* FROM me LEFT JOIN leases ON true ORDER BY leases.id`,
      [now + leaseMs, workerId, now],
    );
    if (rows.length === 0) return null; // no registration: `me` was empty
    return rows
      .filter((row) => row.id !== null)
      .map((row) => ({ id: row.id as number, runNo: row.run_no, status: row.status, startedAt: row.started_at }));
  }

  async registerWorker(worker: WorkerInfo): Promise<void> {
    await this.insertWorker(this.conn.pool, worker);
  }

  private async insertWorker(db: Queryable, worker: WorkerInfo): Promise<void> {
    await db.query(prepared(REGISTER_WORKER, workerValues(worker)));
  }

  async registerWorkerIfNone(
    candidate: WorkerInfo,
    queue: string,
    dead: readonly WorkerInfo[],
  ): Promise<WorkerRegistration> {
    return this.conn.transaction(async (db) => {
      await db.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`docket:workers:${this.conn.schema}`]);
      const workers = (await this.conn.rows<WorkerRow>(db, 'SELECT * FROM workers')).map(workerFromRow);
      const serving = servingNotJudgedDead(workers, queue, dead);
      if (serving.length > 0) return { registered: false, serving };
      await this.insertWorker(db, candidate);
      return { registered: true };
    });
  }

  async removeWorker(id: string): Promise<void> {
    await this.conn.pool.query(prepared('DELETE FROM workers WHERE id = $1', [id]));
  }

  async listWorkers(): Promise<WorkerInfo[]> {
    return (await this.conn.rows<WorkerRow>(this.conn.pool, 'SELECT * FROM workers ORDER BY started_at')).map(
      workerFromRow,
    );
  }

  /**
   * Without locking the jobs table (which would stall every worker's writes): the registration is
   * removed first, in its own commit, and only then is the work looked for. A submit commits its job
   * and then reads the registrations; if it still saw this worker, its job committed before the
   * removal and so before the look, which finds it, and the worker registers again and stays.
   * Otherwise the submit saw no worker and started one.
   */
  async retireIfIdle(
    workerId: string,
    queues: readonly string[],
    types: readonly string[],
    dueBefore: number,
  ): Promise<boolean> {
    const [registration] = await this.conn.rows<WorkerRow>(
      this.conn.pool,
      'DELETE FROM workers WHERE id = $1 RETURNING *',
      [workerId],
    );
    const params = new Params();
    const filter = claimFilter(params, { queues, types }, []);
    const [row] = await this.conn.rows<{ busy: boolean }>(
      this.conn.pool,
      `SELECT EXISTS (SELECT 1 FROM jobs WHERE scheduler = 'local' ${filter} AND (status = 'running'
         OR (status = 'suspended' AND worker_id = ${params.add(workerId)})
         OR (status = 'pending' AND blocked_by = 0 AND run_at < ${params.add(dueBefore)}
             AND NOT EXISTS (SELECT 1 FROM queues WHERE queues.name = jobs.queue AND paused = 1)))) AS busy`,
      params.values,
    );
    if (!row?.busy) return true;
    if (registration) await this.insertWorker(this.conn.pool, workerFromRow(registration));
    return false;
  }
}
