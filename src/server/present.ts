/** How the API shows records: the CLI's snake_case JSON, plus what listings and pages need. */
import { attemptJson, inventoryJson, jobJson, workerJson } from '../cli/format.js';
import { isoTimeOrNull } from '../core/iso-time.js';
import type { StoredJobType } from '../core/job-types.js';
import type { Job } from '../core/words.js';
import type { ApiToken } from '../docket-types.js';
import type { JobDetail, QueueOverview, WorkerOverview } from '../job-service.js';

const iso = isoTimeOrNull;

// Fields are added to the CLI's object rather than spread into a new one: copying some forty
// fields per job was a tenth of the time of a job page.
export function jobOut(job: Job, now = Date.now()): Record<string, unknown> {
  const out = jobJson(job);
  out.delayed = job.status === 'pending' && job.blockedBy === 0 && job.runAt > now;
  out.updated_at = iso(job.updatedAt);
  return out;
}

export function jobDetailOut(job: JobDetail): Record<string, unknown> {
  const out = jobOut(job);
  out.executions = job.executions.map(attemptJson);
  out.dependents = job.dependents;
  out.state_reason = job.stateReason;
  return out;
}

export function queueOut(queue: QueueOverview, now = Date.now()): Record<string, unknown> {
  return {
    name: queue.name,
    capacity: queue.capacity,
    paused: queue.paused,
    counts: queue.counts,
    running: queue.counts.running,
    oldest_pending_at: iso(queue.oldestPendingAt),
    oldest_pending_age_s: queue.oldestPendingAt === null ? null : Math.max(0, (now - queue.oldestPendingAt) / 1000),
  };
}

/** The CLI's worker JSON, its heartbeat named as the API's schema names it, with what the worker hands out. */
export function workerOut(worker: WorkerOverview): Record<string, unknown> {
  const { heartbeat_at: lastHeartbeatAt, ...out } = workerJson(worker);
  out.last_heartbeat_at = lastHeartbeatAt;
  out.inventory = worker.inventory ? inventoryJson(worker.inventory) : null; // local resources
  return out;
}

export function jobTypeOut(type: StoredJobType): Record<string, unknown> {
  return {
    id: type.name,
    name: type.name,
    queue: type.queue ?? null,
    group: type.group ?? null,
    params_schema: type.paramsSchema ?? null,
    defaults: {
      priority: type.priority ?? null,
      timeout_sec: type.timeoutSeconds ?? null,
      max_attempts: type.maxAttempts ?? null,
      retry_delay_sec: type.retry?.delaySeconds ?? null,
      backoff: type.retry?.backoff ?? null,
    },
    suspendable: type.suspendable === true,
    cron: type.cron ?? null,
  };
}

export function tokenOut(token: ApiToken): Record<string, unknown> {
  return {
    id: token.id,
    name: token.name,
    tenant: token.tenant,
    user: token.user,
    role: token.role,
    prefix: token.prefix,
    created_at: iso(token.createdAt),
    expires_at: iso(token.expiresAt),
    revoked_at: iso(token.revokedAt),
  };
}

export { iso };
