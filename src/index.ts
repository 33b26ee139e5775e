/** docket's library entry point. */

export { type DocketConfig, resolveConfig } from './config/config.js';
export * from './core/errors.js';
export { parseDuration, parseSize } from './core/units.js';
export * from './core/words.js';
export { Docket, type OpenOptions, type WaitOptions } from './docket.js';
export type { Worker, WorkerOptions } from './worker/worker.js';
