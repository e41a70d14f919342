import { createRequire } from 'node:module';
import type * as IORedis from 'ioredis';

const require = createRequire(import.meta.url);
let loaded: typeof IORedis | undefined;

/**
 * The ioredis module, loaded on first use. Without `REDIS_URL` nothing calls this, so the
 * memory-mode issuer and the CLI do not pay for loading it at start (~90 ms).
 */
export function ioredis(): typeof IORedis {
  loaded ??= require('ioredis') as typeof IORedis;
  return loaded;
}
