/**
 * Daemonless bookkeeping, run before every CLI call shows anything: a running job whose worker
 * is gone is settled (its stray processes stopped first), and dead worker registrations are
 * removed. On one machine a worker is alive exactly when its pid *and* start time still match;
 * across machines, when its lease has not lapsed.
 *
 * Cheap when all is well: it reads the registrations and only the jobs of workers that are not
 * alive (none, usually), never every running job.
 */
import type { WorkerInfo } from '../core/words.js';
import { attemptTag, isSameProcessAlive, stopTagged, stopTree } from '../executors/local/processes.js';
import type { LostAttempt, StorageEngine, SuspectAttempt } from '../storage/engine.js';
import { onThisMachine } from './machine.js';

export interface ReconcileResult {
  lost: LostAttempt[];
  /** Workers that are alive and what they serve. */
  liveWorkers: WorkerInfo[];
}

export function workerAlive(worker: WorkerInfo, leaseMs: number, now = Date.now()): boolean {
  if (onThisMachine(worker)) return isSameProcessAlive(worker.pid, worker.pidStart);
  return worker.heartbeatAt + leaseMs > now;
}

export async function reconcile(engine: StorageEngine, leaseMs: number, graceMs: number): Promise<ReconcileResult> {
  const now = Date.now();
  const workers = await engine.listWorkers();
  const liveWorkers = workers.filter((worker) => workerAlive(worker, leaseMs, now));
  const lost: LostAttempt[] = [];
  for (const job of await engine.listSuspect(
    'local',
    liveWorkers.map((worker) => worker.id),
  )) {
    const owner = workers.find((worker) => worker.id === job.workerId);
    // Proof of death is a registered owner of this machine whose process is gone. Anything else —
    // an owner on another machine, or one whose registration vanished (reset-db) while it may
    // still be working — is judged by the job's lease alone.
    const processGone = owner !== undefined && onThisMachine(owner);
    if (!processGone && (job.leaseExpiresAt ?? 0) > now) continue;
    const tag = attemptTag(job.id, job.runNo, job.workerId);
    if (onThisMachine(job) && job.pid !== null) {
      await stopTree({ pid: job.pid, pidStart: job.pidStart, tag }, graceMs);
    } else if (processGone || onThisMachine(job)) {
      // The worker may have died after spawning the command but before recording its pid: its
      // tagged processes would otherwise run on beside the retry.
      await stopTagged(tag, graceMs);
    }
    lost.push({ jobId: job.id, attempt: job.runNo, reason: lostReason(job, owner), processGone });
  }
  if (lost.length > 0) await engine.settleLost(lost);
  for (const worker of workers) if (!liveWorkers.includes(worker)) await engine.removeWorker(worker.id);
  return { lost, liveWorkers };
}

function lostReason(job: SuspectAttempt, owner: WorkerInfo | undefined): string {
  const who = owner ? `worker ${owner.id} (host ${owner.host}, pid ${owner.pid})` : `worker ${job.workerId}`;
  return `${who} died while the job was ${job.status}`;
}
