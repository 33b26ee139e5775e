/** docket's library entry point: everything a program names when it uses docket. */

export { type DocketConfig, resolveConfig } from './config/config.js';
export { type ConfiguredType, defineConfig, type WorkerConfigFile } from './config/worker-config.js';
export * from './core/errors.js';
export {
  type Handler,
  type HandlerContext,
  JobAbortedError,
  type JobGroupDefinition,
  type JobTypeDefinition,
  type StopReason,
  type StoredJobType,
} from './core/job-types.js';
export { parseDuration, parseSize } from './core/units.js';
export * from './core/words.js';
export { Docket } from './docket.js';
export type { JobEvent, OpenOptions, RefreshOptions, SubmitOptions } from './docket-types.js';
export { DEFAULT_PAGE_SIZE, type IterateFilter, type WaitOptions } from './job-reads.js';
export type { QueueInfo, QueueSettings, RefreshResult, SubmitResult } from './storage/engine.js';
export type { WorkerOptions } from './worker/options.js';
export type { Worker } from './worker/worker.js';
