/** How the API shows records: the CLI's snake_case JSON, plus what listings and pages need. */
import { attemptJson, inventoryJson, jobJson } from '../cli/format.js';
import type { StoredJobType } from '../core/job-types.js';
import type { Job } from '../core/words.js';
import type { JobDetail, QueueOverview, WorkerOverview } from '../job-service.js';
import type { ApiToken } from '../storage/engine.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function jobOut(job: Job, now = Date.now()): Record<string, unknown> {
  return {
    ...jobJson(job),
    delayed: job.status === 'pending' && job.blockedBy === 0 && job.runAt > now,
    updated_at: iso(job.updatedAt),
  };
}

export function jobDetailOut(job: JobDetail): Record<string, unknown> {
  return {
    ...jobOut(job),
    executions: job.executions.map(attemptJson),
    dependents: job.dependents,
    state_reason: job.stateReason,
  };
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

export function workerOut(worker: WorkerOverview): Record<string, unknown> {
  return {
    id: worker.id,
    host: worker.host,
    pid: worker.pid,
    queues: worker.queues,
    concurrency: worker.concurrency,
    alive: worker.alive,
    running_jobs: worker.runningJobs,
    started_at: iso(worker.startedAt),
    last_heartbeat_at: iso(worker.heartbeatAt),
    inventory: worker.inventory ? inventoryJson(worker.inventory) : null, // local resources
  };
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
