import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * A getter for the CommonJS module `id`, loaded on its first call, so a process that never
 * needs it (memory mode without Redis; a JSON config) does not pay for loading it at start.
 */
export function lazyModule<T>(id: string): () => T {
  let loaded: T | undefined;
  return () => {
    loaded ??= require(id) as T;
    return loaded;
  };
}
