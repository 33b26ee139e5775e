/**
 * Loads a dependency the first time it is needed. Every CLI call pays for what it imports at start
 * (ajv, pino, croner and cli-progress together cost about 190 ms here), while most calls use none
 * of them; these packages ship CommonJS, so a synchronous require keeps the callers synchronous.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export function lazy<T>(name: string): () => T {
  let loaded: T | undefined;
  return () => {
    loaded ??= require(name) as T;
    return loaded;
  };
}
