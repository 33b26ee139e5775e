/**
 * Job types: named templates with defaults, and — for TypeScript jobs — the handler that runs them.
 * The built-in type `command` runs shell commands; every other type is defined by a program or a
 * worker config file.
 */
import type { Job, RetryPolicy } from './words.js';

/** Why a handler's AbortSignal fired. */
export type StopReason = 'cancel' | 'timeout' | 'shutdown' | 'suspend' | 'lost';

const STOP_MESSAGES: Record<StopReason, string> = {
  cancel: 'cancelled',
  timeout: 'timed out',
  suspend: 'suspended',
  shutdown: 'stopped: worker shutting down',
  lost: 'stopped: its worker could not renew its lease, so another worker may run it',
};

/** The `reason` of an aborted handler's signal: says why, so a handler can save a checkpoint on suspend. */
export class JobAbortedError extends Error {
  override name = 'JobAbortedError';
  constructor(readonly reason: StopReason) {
    super(`job ${STOP_MESSAGES[reason]}`);
  }
}

/** What a handler receives. */
export interface HandlerContext<Params = unknown> {
  params: Params;
  job: Job;
  /** Number of this execution (1, 2, …). */
  attempt: number;
  /** Fires on cancel, timeout, suspend and worker shutdown; `signal.reason` is a JobAbortedError. */
  signal: AbortSignal;
  /** Reports progress, 0..1, with an optional message. */
  progress(value: number, message?: string): Promise<void>;
  /** Renews the job's lease (for long stretches of synchronous work). */
  heartbeat(): Promise<void>;
  /** What a previous attempt saved before it was suspended, or null. */
  checkpoint: unknown;
  /** Saves state for the next attempt (typically when `signal.reason.reason === 'suspend'`). */
  saveCheckpoint(state: unknown): Promise<void>;
  /** Results of the jobs this one depends on, by id (when the type sets `passParentResults`). */
  parentResults: Record<number, unknown>;
}

export type Handler<Params = unknown, Result = unknown> = (context: HandlerContext<Params>) => Result | Promise<Result>;

/** Everything a job type can declare. Only `name` is required; `handler` is needed to run it. */
// biome-ignore lint/suspicious/noExplicitAny: a registry holds types of every params shape; callers get theirs inferred
export interface JobTypeDefinition<Params = any, Result = any> {
  name: string;
  handler?: Handler<Params, Result>;
  /** JSON Schema for params, checked before a job is stored. */
  paramsSchema?: object;
  queue?: string;
  group?: string;
  priority?: number;
  timeoutSeconds?: number;
  maxAttempts?: number;
  retry?: Partial<RetryPolicy>;
  /** Whether jobs of this type may be suspended (their handler is aborted and may save a checkpoint). */
  suspendable?: boolean;
  /** Makes the type recurring: one job per tick of this cron expression. */
  cron?: string;
  /** Hand the handler its dependencies' results (GigQ's pass_parent_results). */
  passParentResults?: boolean;
}

/** A job group (HyperSpot): a named set of job types mapped to one queue. */
export interface JobGroupDefinition {
  name: string;
  queue: string;
  description?: string;
}

/** The stored, code-free part of a type: what any process needs to submit jobs of it. */
export type StoredJobType = Omit<JobTypeDefinition, 'handler'>;

export function storedPart(definition: JobTypeDefinition): StoredJobType {
  const { handler: _handler, ...stored } = definition;
  return stored;
}
