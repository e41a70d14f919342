import { join } from 'node:path';
import type { Cluster, Redis } from 'ioredis';
import type { IssuerConfig } from '../config/schema.js';
import { redactUrl } from '../store/redis.js';
import { FileKeyRingStore } from './file-ring-store.js';
import { MemoryKeyRingStore } from './memory-ring-store.js';
import { RedisKeyRingStore } from './redis-ring-store.js';
import type { KeyRingStore, RotationPolicy } from './types.js';

/** The rotation policy a configuration asks for. */
export function rotationPolicyOf(config: IssuerConfig): RotationPolicy {
  return {
    algorithms: [...config.keys.algorithms],
    rotationPeriod: config.keys.rotationPeriod,
    prePublication: config.keys.prePublication,
    retention: config.keys.retention,
  };
}

/**
 * The key ring store for `config`, the same for the server and the `keys` commands: Redis when a
 * client is given (`redis.url` is set), else `keys.dir/keyring.json`, or memory when
 * `ephemeral` (tests and the in-process API). `where` says which, for people.
 */
export function openRingStore(
  config: IssuerConfig,
  client: Redis | Cluster | undefined,
  { ephemeral = false } = {},
): { store: KeyRingStore; where: string } {
  const codec = config.keys.secret
    ? { secret: config.keys.secret, acceptPlaintext: config.keys.acceptPlaintextRing }
    : {};
  if (client) {
    return {
      store: new RedisKeyRingStore(client, config.redis.namespace, codec),
      where: `redis (${redactUrl(config.redis.url ?? '')}, namespace ${config.redis.namespace})`,
    };
  }
  if (ephemeral) return { store: new MemoryKeyRingStore(), where: 'memory' };
  const path = join(config.keys.dir, 'keyring.json');
  return { store: new FileKeyRingStore(path, codec), where: `file ${path}` };
}

/**
 * Rewrites the stored ring as it is, so it is sealed with the configured secret (used once when
 * `keys.acceptPlaintextRing` lets a plaintext ring be read). Returns whether a ring was written.
 */
export async function resealRing(store: KeyRingStore): Promise<boolean> {
  const { changed } = await store.update((current) => (current ? { ...current } : undefined));
  return changed;
}
