/**
 * What an engine can and cannot do, declared in one object (as kysely's dialects declare theirs):
 * the facade and the worker read these instead of engine names. A capability that comes with
 * operations (notices, caller transactions) is a small port of its own, present or null.
 */
import type { NewJob } from '../../core/spec.js';
import type { SubmitResult } from './queue.js';

/** What an engine can and cannot do; the facade and worker read these instead of engine names. */
export interface EngineCapabilities {
  readonly name: string;
  /** True when every process using the store runs on this machine (SQLite), so pid checks are enough. */
  readonly singleHost: boolean;
  /** True when submits should start a worker on demand by default. */
  readonly onDemandWorkers: boolean;
  /**
   * The store's own notices of new work and job changes (PostgreSQL's LISTEN/NOTIFY, sent inside
   * the writing transaction), or null: then the facade pokes workers itself.
   */
  readonly pushesChanges: ChangeNotices | null;
  /**
   * True when storing many submits in one call costs about what one costs (SQLite: one transaction
   * either way; PostgreSQL: one statement either way, when no job has dependencies), so the API
   * stores concurrent submits together.
   */
  readonly groupCommit: boolean;
  /**
   * Storing jobs inside a transaction the application opened on a connection of its own
   * (PostgreSQL), so they exist exactly when it commits; null when the engine cannot.
   */
  readonly callerTransactions: CallerTransactions | null;
}

/** What a store that pushes changes tells its listeners. */
export type StoreNotice =
  /** Jobs became runnable in this queue (submitted, retried, unblocked, resumed, unpaused). */
  | { kind: 'work'; queue: string }
  /** A job this worker runs was cancelled, suspended or resumed by someone else. */
  | { kind: 'control'; workerId: string }
  /**
   * A token was revoked (`listening: true`), or the notices stopped (`false`: the connection that
   * receives them dropped) or resumed (`true`): whoever keeps verified tokens must forget them.
   */
  | { kind: 'tokens'; listening: boolean };

/** A store that tells its listeners about changes itself (`capabilities.pushesChanges`). */
export interface ChangeNotices {
  /** Calls `onNotice` for every notice of the store until the returned function is called. */
  listen(onNotice: (notice: StoreNotice) => void): Promise<() => Promise<void>>;
}

/**
 * A transaction the application opened on a connection of its own and hands to a submit (on
 * PostgreSQL, a `pg` client after BEGIN). Opaque to docket: the engine that declares
 * `callerTransactions` checks it and refuses anything else.
 */
export type CallerTransaction = object;

/** A store whose writes can join a transaction of the caller's (`capabilities.callerTransactions`). */
export interface CallerTransactions {
  /**
   * Stores jobs inside the caller's open transaction (as QueueOperations.submit does in one of
   * its own), so they exist exactly when it commits and vanish if it rolls back.
   */
  submitWithin(transaction: CallerTransaction, jobs: NewJob[]): Promise<SubmitResult[]>;
}
