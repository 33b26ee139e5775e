/**
 * Daemonless bookkeeping, run before every CLI call shows anything: a running job whose worker
 * is gone is settled (its stray processes stopped first), and dead worker registrations are
 * removed. On one machine a worker is alive exactly when its pid *and* start time still match;
 * across machines, when its lease has not lapsed.
 *
 * Cheap when all is well: it reads the registrations and only the jobs of workers that are not
 * alive (none, usually), never every running job.
 */

import { isSameProcessAlive } from '../core/processes.js';
import type { WorkerInfo } from '../core/words.js';
import type { ProcessControl } from '../executors/executor.js';
import type { AttemptEndOf, StorageEngine, SuspectAttempt } from '../storage/engine.js';
import { onThisMachine } from './machine.js';

export interface ReconcileResult {
  lost: AttemptEndOf<'lost'>[];
  /** Workers that are alive and what they serve. */
  liveWorkers: WorkerInfo[];
}

export function workerAlive(worker: WorkerInfo, leaseMs: number, now = Date.now()): boolean {
  if (onThisMachine(worker)) return isSameProcessAlive(worker.pid, worker.pidStart);
  return worker.heartbeatAt + leaseMs > now;
}

/** Settles the attempts of dead workers, stopping their processes here through `processes`. */
export async function reconcile(
  engine: StorageEngine,
  leaseMs: number,
  graceMs: number,
  processes: ProcessControl,
): Promise<ReconcileResult> {
  const now = Date.now();
  const workers = await engine.listWorkers();
  const liveWorkers = workers.filter((worker) => workerAlive(worker, leaseMs, now));
  const lost: AttemptEndOf<'lost'>[] = [];
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
    if (onThisMachine(job) && job.pid !== null) {
      await processes.stop(job, graceMs);
    } else if (processGone || onThisMachine(job)) {
      // The worker may have died after spawning the command but before recording its pid: its
      // tagged processes would otherwise run on beside the retry.
      await processes.stop({ ...job, pid: null }, graceMs);
    }
    lost.push({ how: 'lost', jobId: job.id, runNo: job.runNo, reason: lostReason(job, owner), processGone });
  }
  if (lost.length > 0) await engine.endAttempts(lost);
  for (const worker of workers) if (!liveWorkers.includes(worker)) await engine.removeWorker(worker.id);
  return { lost, liveWorkers };
}

function lostReason(job: SuspectAttempt, owner: WorkerInfo | undefined): string {
  const who = owner ? `worker ${owner.id} (host ${owner.host}, pid ${owner.pid})` : `worker ${job.workerId}`;
  return `${who} died while the job was ${job.status}`;
}
