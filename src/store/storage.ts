/**
 * Where the process keeps issuer state: one Redis connection (REDIS_URL) or one bounded memory
 * store, shared by every issuer the process serves, each in its own namespace.
 */
import type { Cluster, Redis } from 'ioredis';
import type { AdapterFactory } from 'oidc-provider';
import type { Logger } from 'pino';
import type { IssuerConfig } from '../config/schema.js';
import type { AdapterOptions } from './adapter-rules.js';
import { createMemoryAdapter } from './memory-adapter.js';
import { MemoryStore } from './memory-store.js';
import {
  checkEvictionPolicy,
  createRedisClient,
  pingStore,
  storeAuthError,
  whenReady,
} from './redis.js';
import { createRedisAdapter } from './redis-adapter.js';
import { checkRedisVersion } from './redis-version.js';

/** The process's store, opened by {@link openStorage}. */
export interface Storage {
  /** The Redis client, when `redis.url` is set. */
  readonly client: Redis | Cluster | undefined;
  /** The memory store, when it is not. */
  readonly memoryStore: MemoryStore | undefined;
  /** The oidc-provider adapter of one issuer, its records under `namespace`. */
  adapterFor(namespace: string, options: AdapterOptions): AdapterFactory;
  /** True when the store answers (always for memory); `observe` gets the round trip in seconds. */
  reachable(observe?: (seconds: number) => void): Promise<boolean>;
  close(): void;
}

/** How long the start waits for a first Redis connection before going on not-ready. */
const STORE_CONNECT_WAIT_MS = 3000;

/**
 * Opens the store `config` names (the memory store's record expiry on `clock`). With Redis it waits (bounded) for the first connection and
 * goes on when Redis is down, the process then starting not-ready.
 * @throws StoreAuthError when Redis refuses the credentials, StoreVersionError when it is older
 *   than 7: waiting will not heal either.
 */
export async function openStorage(
  config: IssuerConfig,
  logger: Logger,
  clock: () => number,
): Promise<Storage> {
  const url = config.redis.url;
  if (!url) {
    const memoryStore = new MemoryStore({
      now: clock,
      maxEntries: config.memoryStore.maxEntries,
      maxBytes: Math.round(config.memoryStore.maxMegabytes * 1024 * 1024),
    });
    return {
      client: undefined,
      memoryStore,
      adapterFor: (namespace, options) =>
        createMemoryAdapter({ ...options, namespace, store: memoryStore }),
      reachable: async () => true,
      close: () => memoryStore.close(),
    };
  }
  const client = createRedisClient(url, {
    tls: config.redis.tls,
    sentinel: config.redis.sentinel,
    logger: (msg, err) => logger.warn({ err }, msg),
  });
  // Commands fail at once while disconnected, so let the first connection come up.
  const late = await whenReady(client, { timeoutMs: STORE_CONNECT_WAIT_MS });
  const refused = storeAuthError(url, late);
  if (refused) {
    client.disconnect();
    throw refused;
  }
  if (late) logger.warn({ reason: late }, 'Redis is not reachable yet; not ready until it is');
  const tooOld = await checkRedisVersion(client).catch(() => undefined);
  if (tooOld) {
    client.disconnect();
    throw tooOld;
  }
  const warning = await checkEvictionPolicy(client).catch(() => undefined);
  if (warning) logger.warn(warning);
  return {
    client,
    memoryStore: undefined,
    adapterFor: (namespace, options) => createRedisAdapter(client, namespace, options),
    async reachable(observe) {
      const started = process.hrtime.bigint();
      const ok = await pingStore(client);
      observe?.(Number(process.hrtime.bigint() - started) / 1e9);
      return ok;
    },
    close: () => client.disconnect(),
  };
}
