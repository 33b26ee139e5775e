/**
 * Daemonless bookkeeping, run before every CLI call shows anything: a running job whose worker
 * is gone is settled (its stray processes stopped first), and dead worker registrations are
 * removed. On one machine a worker is alive exactly when its pid *and* start time still match;
 * across machines, when its lease has not lapsed.
 */
import { hostname } from 'node:os';
import type { Job, WorkerInfo } from '../core/words.js';
import { attemptTag, isSameProcessAlive, stopTree } from '../executors/local/processes.js';
import type { LostAttempt, StorageEngine } from '../storage/engine.js';

export interface ReconcileResult {
  lost: LostAttempt[];
  /** Running and suspended local jobs whose worker is alive. */
  live: Job[];
  /** Workers that are alive and what they serve. */
  liveWorkers: WorkerInfo[];
}

export function workerAlive(worker: WorkerInfo, leaseMs: number, now = Date.now()): boolean {
  if (worker.host === hostname()) return isSameProcessAlive(worker.pid, worker.pidStart);
  return worker.heartbeatAt + leaseMs > now;
}

export async function reconcile(engine: StorageEngine, leaseMs: number, graceMs: number): Promise<ReconcileResult> {
  const now = Date.now();
  const workers = await engine.listWorkers();
  const liveWorkers = workers.filter((worker) => workerAlive(worker, leaseMs, now));
  const liveIds = new Set(liveWorkers.map((worker) => worker.id));
  const lost: LostAttempt[] = [];
  const live: Job[] = [];
  for (const job of await engine.listLive('local')) {
    // A suspended job that no worker holds (suspended before it started, or a parked handler) is
    // held, not lost: nothing runs it until it is resumed.
    if (job.workerId === null) continue;
    if (liveIds.has(job.workerId)) {
      live.push(job);
      continue;
    }
    const owner = workers.find((worker) => worker.id === job.workerId);
    // Another machine's job without a registered owner is judged by its lease alone.
    if (!owner && job.host !== hostname() && (job.leaseExpiresAt ?? 0) > now) continue;
    if (job.host === hostname() && job.pid !== null) {
      await stopTree(
        { pid: job.pid, pidStart: job.pidStart, tag: attemptTag(job.id, job.runNo, job.workerId) },
        graceMs,
      );
    }
    const who = owner ? `worker ${owner.id} (host ${owner.host}, pid ${owner.pid})` : `worker ${job.workerId ?? '?'}`;
    lost.push({ jobId: job.id, attempt: job.runNo, reason: `${who} died while the job was ${job.status}` });
  }
  if (lost.length > 0) await engine.settleLost(lost);
  for (const worker of workers) if (!liveIds.has(worker.id)) await engine.removeWorker(worker.id);
  return { lost, live, liveWorkers };
}
