/**
 * The options and events of the library's facade (`Docket`): the types a program names when it
 * opens a store, submits jobs and listens to them, and how a worker's events become job events.
 */
import type { Logger } from 'pino';
import type { ConfigInput } from './config/config.js';
import type { Job } from './core/words.js';
import type { WorkerEvent } from './worker/options.js';

/** How `Docket.open` opens a store, and which processes it may start (none by default). */
export interface OpenOptions extends ConfigInput {
  /** Reconcile: settle the jobs of workers that died (the CLI's daemonless mode). Default: true. */
  manageWorkers?: boolean;
  /**
   * Start a worker process in the background when a job is submitted and no live worker serves
   * its queue (the CLI does; engine and `on_demand` settings still apply). Default: false — a
   * library starts no process its program did not ask for.
   */
  onDemandWorkers?: boolean;
  /**
   * The worker config file such an on-demand worker loads (default: none; it runs commands only).
   * A submit naming a type that only this file declares (no worker stored it yet) loads it first.
   */
  workerConfig?: string;
  /** Where docket logs (a pino logger). Default: warnings on stderr (`DOCKET_LOG_LEVEL`). */
  logger?: Logger;
}

/** What subscribers of `docket.on('job', …)` receive. */
export interface JobEvent {
  event:
    | 'submitted'
    | 'started'
    | 'progress'
    | 'completed'
    | 'failed'
    | 'timeout'
    | 'retrying'
    | 'cancelled'
    | 'suspended'
    | 'resumed'
    | 'requeued';
  job: Job;
}

/** The job event a worker's event is to subscribers (a job back in pending after a failure is `retrying`). */
export function jobEventOf(event: WorkerEvent): JobEvent | null {
  if (event.kind === 'started') return { event: 'started', job: event.job };
  if (event.kind === 'progress') {
    return { event: 'progress', job: { ...event.job, progress: event.progress, progressMessage: event.message } };
  }
  if (!event.recorded) return null;
  const status = event.recorded.status;
  return { event: status === 'pending' ? 'retrying' : (status as JobEvent['event']), job: event.recorded };
}

/** How `submit` and `submitMany` store jobs. */
export interface SubmitOptions {
  /** Start an on-demand worker if none serves the queue (default: as configured). */
  startWorkers?: boolean;
  /**
   * PostgreSQL only: your own `pg` client, inside a transaction you opened. The jobs are inserted
   * in that transaction, so they exist exactly when it commits (and vanish if it rolls back).
   */
  connection?: unknown;
}

/** How `refresh` makes the jobs of new keys. */
export interface RefreshOptions {
  priority?: number;
  /** Seconds from now before the new jobs may start. */
  delaySeconds?: number;
  /** Remove pending jobs of the type whose key left the set. */
  removeMissing?: boolean;
  tenant?: string;
}

// The store's records and words that the facade's callers (the CLI, the HTTP server) see: they
// import them from here, never from the storage port.
export type {
  ApiToken,
  FinishedHistogram,
  JobEventRecord,
  JobSearch,
  QueueInfo,
  SearchOrder,
  StoreNotice,
  SubmitResult,
  TokenRole,
} from './storage/engine.js';
export { SEARCH_ORDERS, TOKEN_ROLES } from './storage/engine.js';
