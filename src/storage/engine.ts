/**
 * The storage port: what docket asks of a store, in queue operations rather than SQL
 * (Oban's engine contract). Engines only store; events, wake-ups and process control live above.
 * Every operation that changes a job goes through core/states.ts' transition rules.
 *
 * The port is small interfaces by concern, one file each in ports/: the queue operations
 * (queue.ts), the worker registry (workers.ts), the catalog of queues, types and groups
 * (catalog.ts), external-scheduler tracking (external.ts), administration (admin.ts), what the
 * HTTP API reads (api.ts), and what an engine can do (capabilities.ts). A caller that needs one
 * concern takes that interface; StorageEngine is all of them.
 */
import type { StoreAdmin } from './ports/admin.js';
import type { ApiReads } from './ports/api.js';
import type { JobCatalog } from './ports/catalog.js';
import type { ExternalTracking } from './ports/external.js';
import type { QueueOperations } from './ports/queue.js';
import type { WorkerRegistry } from './ports/workers.js';

export * from './ports/admin.js';
export * from './ports/api.js';
export * from './ports/capabilities.js';
export * from './ports/catalog.js';
export * from './ports/external.js';
export * from './ports/queue.js';
export * from './ports/workers.js';

/** The storage port: what every engine implements. */
export interface StorageEngine
  extends StoreAdmin,
    QueueOperations,
    WorkerRegistry,
    JobCatalog,
    ExternalTracking,
    ApiReads {}
