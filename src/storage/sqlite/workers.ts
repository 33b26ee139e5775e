import type { JobStatus, WorkerInfo } from '../../core/words.js';
import type { HeldJob, WorkerRegistration } from '../engine.js';
import { registerWorkerSql, workerValues } from '../inserts.js';
import { servingNotJudgedDead } from '../registrations.js';
import { type WorkerRow, workerFromRow } from '../rows.js';
import type { SqliteConnection } from './connection.js';
import { claimFilter } from './sql.js';

const REGISTER_WORKER = registerWorkerSql(() => '?', 'max');

export class SqliteWorkers {
  constructor(private readonly conn: SqliteConnection) {}

  async heartbeat(workerId: string, leaseMs: number): Promise<HeldJob[] | null> {
    const now = Date.now();
    return this.conn.write(() => {
      const held = this.conn
        .sql(
          `UPDATE jobs SET lease_expires_at = ? WHERE worker_id = ? AND status IN ('running', 'suspended')
         RETURNING id, run_no, status, started_at`,
        )
        .all(now + leaseMs, workerId) as { id: number; run_no: number; status: JobStatus; started_at: number | null }[];
      if (this.conn.sql('UPDATE workers SET heartbeat_at = ? WHERE id = ?').run(now, workerId).changes === 0)
        return null;
      return held
        .map((row) => ({ id: row.id, runNo: row.run_no, status: row.status, startedAt: row.started_at }))
        .sort((a, b) => a.id - b.id);
    });
  }

  async registerWorker(worker: WorkerInfo): Promise<void> {
    this.conn.write(() => this.insertWorker(worker));
  }

  private insertWorker(worker: WorkerInfo): void {
    this.conn.sql(REGISTER_WORKER).run(...workerValues(worker));
  }

  async registerWorkerIfNone(
    candidate: WorkerInfo,
    queue: string,
    dead: readonly WorkerInfo[],
  ): Promise<WorkerRegistration> {
    return this.conn.write(() => {
      const workers = (this.conn.sql('SELECT * FROM workers').all() as WorkerRow[]).map(workerFromRow);
      const serving = servingNotJudgedDead(workers, queue, dead);
      if (serving.length > 0) return { registered: false, serving };
      this.insertWorker(candidate);
      return { registered: true };
    });
  }

  async removeWorker(id: string): Promise<void> {
    this.conn.write(() => this.conn.sql('DELETE FROM workers WHERE id = ?').run(id));
  }

  async listWorkers(): Promise<WorkerInfo[]> {
    return (this.conn.sql('SELECT * FROM workers ORDER BY started_at').all() as WorkerRow[]).map(workerFromRow);
  }

  async retireIfIdle(
    workerId: string,
    queues: readonly string[],
    types: readonly string[],
    dueBefore: number,
  ): Promise<boolean> {
    const { clause, args } = claimFilter({ queues, types }, new Set());
    return this.conn.write(() => {
      const busy = this.conn
        .sql(
          `SELECT EXISTS (SELECT 1 FROM jobs WHERE scheduler = 'local' ${clause} AND (status = 'running'
           OR (status = 'suspended' AND worker_id = ?)
           OR (status = 'pending' AND blocked_by = 0 AND run_at < ? AND queue NOT IN (SELECT name FROM queues WHERE paused = 1))))`,
        )
        .pluck()
        .get(...args, workerId, dueBefore) as number;
      if (busy) return false;
      this.conn.sql('DELETE FROM workers WHERE id = ?').run(workerId);
      return true;
    });
  }
}
