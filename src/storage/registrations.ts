/**
 * Starting one on-demand worker, the engine-neutral half: which registered workers keep a
 * candidate from registering (WorkerRegistry.registerWorkerIfNone). Whether a worker is alive is
 * the caller's to judge (its pid on this machine, its lease), outside the engine's transaction;
 * the engine only compares, under its lock, what it reads with what the caller judged.
 */
import type { WorkerInfo } from '../core/words.js';

/** True when the worker serves `queue` (`*` serves every queue). */
export function serves(worker: WorkerInfo, queue: string): boolean {
  return worker.queues.includes('*') || worker.queues.includes(queue);
}

/**
 * True when two reads of a registration agree on everything its liveness is judged on: a worker
 * judged dead stays dead only while its registration is unchanged (a heartbeat, or the placeholder
 * of an on-demand start taking its child's pid, makes it a registration to judge again).
 */
function sameRegistration(a: WorkerInfo, b: WorkerInfo): boolean {
  return (
    a.id === b.id &&
    a.host === b.host &&
    (a.machine ?? null) === (b.machine ?? null) &&
    a.pid === b.pid &&
    a.pidStart === b.pidStart &&
    a.heartbeatAt === b.heartbeatAt
  );
}

/** The registered workers serving `queue` that the caller has not judged dead as they are now. */
export function servingNotJudgedDead(
  registered: readonly WorkerInfo[],
  queue: string,
  dead: readonly WorkerInfo[],
): WorkerInfo[] {
  return registered.filter(
    (worker) => serves(worker, queue) && !dead.some((judged) => sameRegistration(judged, worker)),
  );
}
