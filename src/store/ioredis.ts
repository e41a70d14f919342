import type * as IORedis from 'ioredis';
import { lazyModule } from '../lazy-module.js';

/**
 * The ioredis module. Without `REDIS_URL` nothing calls this, so the memory-mode issuer and
 * the CLI do not pay for loading it at start (~90 ms).
 */
export const ioredis = lazyModule<typeof IORedis>('ioredis');
