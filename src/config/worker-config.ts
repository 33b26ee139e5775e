/**
 * The worker config file: `docket.config.ts` (or `.mts`, `.js`, `.mjs`, `.json`) in the working
 * directory, or `--config PATH`. It declares queues, groups and job types with their handler
 * modules; TypeScript loads without a build step (through tsx).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InvalidInputError } from '../core/errors.js';
import type { Handler, JobGroupDefinition, JobTypeDefinition } from '../core/job-types.js';

export const CONFIG_NAMES = [
  'docket.config.ts',
  'docket.config.mts',
  'docket.config.js',
  'docket.config.mjs',
  'docket.config.json',
];

/** A type as the file declares it: the handler may be a function or a module path. */
export type ConfiguredType = Omit<JobTypeDefinition, 'handler'> & { handler?: Handler | string };

/** What a worker config file exports (as `default`); see `defineConfig`. */
export interface WorkerConfigFile {
  /** Queue settings, stored in the database: they hold for every worker. */
  queues?: { name: string; capacity?: number | null; paused?: boolean }[];
  groups?: JobGroupDefinition[];
  /** Job types; a `handler` given as a path is a module (relative to this file) exporting the function. */
  types?: ConfiguredType[];
  /** Defaults for `docket worker` (its flags win). */
  worker?: { queues?: string[]; concurrency?: number };
}

/**
 * Types a worker config file: `export default defineConfig({ … })` in `docket.config.ts` makes a
 * misspelt field a compile error instead of a worker that refuses to start. Returns its argument.
 */
export function defineConfig(config: WorkerConfigFile): WorkerConfigFile {
  return config;
}

export interface LoadedWorkerConfig {
  path: string;
  queues: NonNullable<WorkerConfigFile['queues']>;
  groups: JobGroupDefinition[];
  types: JobTypeDefinition[];
  worker: NonNullable<WorkerConfigFile['worker']>;
}

/** Finds the config file: the given path, else the first of CONFIG_NAMES in `cwd`, else null. */
export function findWorkerConfig(path: string | undefined, cwd = process.cwd()): string | null {
  if (path !== undefined) {
    const full = resolve(cwd, path);
    if (!existsSync(full)) throw new InvalidInputError('--config', `${full} does not exist`);
    return full;
  }
  return CONFIG_NAMES.map((name) => resolve(cwd, name)).find((full) => existsSync(full)) ?? null;
}

/**
 * Loads a module of the project's, TypeScript included, and returns its exports. A TypeScript file
 * outside an ESM package is compiled as CommonJS, whose exports arrive as `default`: unwrap them.
 */
async function importModule(path: string): Promise<Record<string, unknown>> {
  let module: Record<string, unknown>;
  if (/\.[cm]?ts$/.test(path)) {
    const { tsImport } = await import('tsx/esm/api');
    module = await tsImport(pathToFileURL(path).href, import.meta.url);
  } else module = await import(pathToFileURL(path).href);
  const inner = module.default as Record<string, unknown> | undefined;
  const isCommonJsWrapper =
    inner !== null && typeof inner === 'object' && 'default' in inner && Object.keys(module).length === 1;
  return isCommonJsWrapper ? inner : module;
}

export async function loadWorkerConfig(path: string): Promise<LoadedWorkerConfig> {
  let file: WorkerConfigFile;
  try {
    if (extname(path) === '.json') file = JSON.parse(readFileSync(path, 'utf8'));
    else {
      const module = await importModule(path);
      file = (module.default ?? module) as WorkerConfigFile;
    }
  } catch (error) {
    throw new InvalidInputError('config', `cannot load ${path}: ${(error as Error).message}`);
  }
  if (file === null || typeof file !== 'object') throw new InvalidInputError('config', `${path} must export an object`);
  const types = await Promise.all((file.types ?? []).map((type) => resolveHandler(type, dirname(path))));
  return { path, queues: file.queues ?? [], groups: file.groups ?? [], types, worker: file.worker ?? {} };
}

/** Turns `handler: './handlers/send.ts'` into the function that module exports (default or `handler`). */
async function resolveHandler(type: ConfiguredType, base: string): Promise<JobTypeDefinition> {
  if (typeof type.handler !== 'string') return type as JobTypeDefinition;
  const modulePath = resolve(base, type.handler);
  const module = await importModule(modulePath).catch((error: Error) => {
    throw new InvalidInputError(`${type.name}.handler`, `cannot load ${modulePath}: ${error.message}`);
  });
  const handler = module.default ?? module.handler;
  if (typeof handler !== 'function') {
    throw new InvalidInputError(`${type.name}.handler`, `${modulePath} must export a function (default or "handler")`);
  }
  return { ...type, handler: handler as Handler };
}
