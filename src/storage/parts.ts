/**
 * The parts every engine is made of, and which part answers each operation of the port. Both
 * engine folders hold one file per part, under the same name (`schema.ts`, `jobs.ts`, …); an
 * engine's `engine.ts` only builds its parts, and RoutedEngine routes the port's operations to
 * them — once, for every engine.
 */
import { type AttemptEnding, endAttempts } from './attempt-ends.js';
import type { AttemptEnd, ClaimRequest, EndedAttempts, StorageEngine } from './engine.js';

/** Which part answers each operation of the port (the part's file is named after it). */
export const ROUTES = {
  schema: ['migrate', 'schemaVersion', 'reset', 'identity', 'vanished'],
  jobs: ['submit', 'get', 'list', 'counts', 'listLive', 'listSuspect', 'runnableQueues', 'nextRunAt'],
  claims: ['claim'],
  outcomes: ['recordProcess', 'setProgress', 'saveCheckpoint'],
  commands: ['cancel', 'suspend', 'resume', 'requeue', 'clear', 'refresh', 'ignore'],
  workers: ['heartbeat', 'registerWorker', 'registerWorkerIfNone', 'removeWorker', 'listWorkers', 'retireIfIdle'],
  catalog: ['setQueue', 'removeQueue', 'listQueues', 'saveJobTypes', 'listJobTypes', 'saveJobGroups', 'listJobGroups'],
  external: ['listTracked', 'recordSubmitted', 'applyObserved', 'discard'],
  api: [
    'search',
    'countJobs',
    'queueSettings',
    'dependents',
    'jobDetail',
    'changeStamp',
    'remove',
    'queueOverview',
    'finishedHistograms',
    'finishedSummary',
    'attemptCounts',
    'createToken',
    'tokenByHash',
    'listTokens',
    'revokeToken',
    'eventsAfter',
    'lastEventId',
    'watchEvents',
  ],
} as const satisfies Record<string, readonly (keyof StorageEngine)[]>;

/** The operations the parts answer. */
export type RoutedOperation = (typeof ROUTES)[keyof typeof ROUTES][number];

/** A part answers its operations with the port's arguments, at once (SQLite) or as a promise. */
type PartOf<K extends RoutedOperation> = {
  [M in K]: StorageEngine[M] extends (...args: infer A) => infer R ? (...args: A) => R | Awaited<R> : never;
};

/**
 * The parts of an engine, each answering the operations ROUTES gives it; the outcomes part also
 * ends attempts (endAttempts routes the port's one way to end one to it: attempt-ends.ts).
 */
export type EngineParts = { [P in keyof typeof ROUTES]: PartOf<(typeof ROUTES)[P][number]> } & {
  outcomes: AttemptEnding;
};

/**
 * The port's routed operations, each an async call of its part: a part's synchronous throw becomes
 * a rejected promise, as from any async method; endAttempts routes each way of ending an attempt
 * to the outcomes part. Engines extend it and add what is theirs alone
 * (capabilities, close, allocations; PostgreSQL's listen and maintain).
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the routed methods are installed below, one per ROUTES entry
export abstract class RoutedEngine {
  constructor(protected readonly parts: EngineParts) {}

  endAttempts(ends: readonly AttemptEnd[], claim?: ClaimRequest): Promise<EndedAttempts> {
    return endAttempts(this.parts.outcomes, ends, claim);
  }
}

export interface RoutedEngine extends Pick<StorageEngine, RoutedOperation> {}

for (const [part, operations] of Object.entries(ROUTES)) {
  for (const operation of operations) {
    Object.defineProperty(RoutedEngine.prototype, operation, {
      async value(this: RoutedEngine, ...args: unknown[]) {
        const target = this.parts[part as keyof EngineParts] as unknown as Record<string, (...a: unknown[]) => unknown>;
        return (target[operation] as (...a: unknown[]) => unknown)(...args);
      },
      writable: true,
      configurable: true,
    });
  }
}
