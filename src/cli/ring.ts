/** Opens the configured key ring store the way the server does, for the `keys` commands. */
import type { Cluster, Redis } from 'ioredis';
import type { IssuerConfig } from '../config/schema.js';
import { StoreUnavailableError } from '../errors.js';
import { openRingStore, rotationPolicyOf } from '../keystore/configured.js';
import { KeyRotation } from '../keystore/rotation.js';
import type { KeyRingStore } from '../keystore/types.js';
import { redactUrl } from '../log.js';
import { createRedisClient, storeAuthError, whenReady } from '../store/redis.js';

/** A store and the key ring's operations on it; `close` releases connections so the process can exit. */
export interface OpenRing {
  store: KeyRingStore;
  rotation: KeyRotation;
  /** `redis (redis://host:port, namespace ns)` or `file keys/keyring-<namespace>.json`. */
  where: string;
  close(): Promise<void>;
}

const CONNECT_WAIT_MS = 5000;

/**
 * The ring store `startIssuer` would use for `config`: Redis when `redis.url` is set, else the
 * issuer's file `keys.dir/keyring-<namespace>.json`. A change written through `rotation` is announced to running
 * instances (Redis pub/sub; a file is re-read by the server every `keys.refreshInterval`).
 * @throws StoreUnavailableError when Redis does not answer within 5 s.
 */
export async function openKeyRing(config: IssuerConfig): Promise<OpenRing> {
  let client: Redis | Cluster | undefined;
  if (config.redis.url) {
    const { tls, sentinel } = config.redis;
    client = createRedisClient(config.redis.url, { tls, sentinel });
    await waitReady(client, config.redis.url);
  }
  const { store, where, notice } = openRingStore(config, client);
  if (notice) process.stderr.write(`oidc-issuer: note: ${notice}\n`);
  const rotation = new KeyRotation({ store, policy: rotationPolicyOf(config) });
  return {
    store,
    rotation,
    where,
    async close() {
      await store.close();
      client?.disconnect();
    },
  };
}

async function waitReady(client: Redis | Cluster, url: string): Promise<void> {
  const failure = await whenReady(client, { timeoutMs: CONNECT_WAIT_MS, failFast: true });
  if (failure !== undefined) {
    client.disconnect();
    throw (
      storeAuthError(url, failure) ?? new StoreUnavailableError(`${redactUrl(url)}: ${failure}`)
    );
  }
}
