import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Cluster, Redis } from 'ioredis';
import type { IssuerConfig } from '../config/schema.js';
import { redactUrl } from '../log.js';
import { FileKeyRingStore, LEGACY_RING_FILE, ringFileName } from './file-ring-store.js';
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
 * The key ring file of `config`'s issuer: `keys.dir/keyring-<namespace>.json`, the namespace
 * being the one Redis uses (a hash of the issuer URL unless `redis.namespace` is set), so two
 * configs in one folder never share, or wait on, each other's ring.
 */
export function ringFilePath(config: IssuerConfig): string {
  return resolve(config.keys.dir, ringFileName(config.redis.namespace));
}

/**
 * The key ring store for `config`, the same for the server and the `keys` commands: Redis when a
 * client is given (`redis.url` is set), else `ringFilePath(config)`, or memory when `ephemeral`
 * (tests and the in-process API). `where` says which, for people; `notice` is set when the
 * folder holds a ring file of an earlier version (one `keyring.json` for every issuer), which is
 * no longer read.
 */
export function openRingStore(
  config: IssuerConfig,
  client: Redis | Cluster | undefined,
  { ephemeral = false } = {},
): { store: KeyRingStore; where: string; notice?: string } {
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
  const path = ringFilePath(config);
  const legacy = join(config.keys.dir, LEGACY_RING_FILE);
  return {
    store: new FileKeyRingStore(path, codec),
    where: `file ${path}`,
    ...(existsSync(legacy)
      ? {
          notice: `${legacy} is the key ring of an earlier version, shared by every issuer; it is no longer read. This issuer (${config.issuer}) keeps its ring in ${path}. To keep the old keys for it, stop the issuer and run: mv ${legacy} ${path}; otherwise delete ${legacy}`,
        }
      : {}),
  };
}

/**
 * Rewrites the stored ring as it is, so it is sealed with the configured secret (used once when
 * `keys.acceptPlaintextRing` lets a plaintext ring be read). Returns whether a ring was written.
 */
export async function resealRing(store: KeyRingStore): Promise<boolean> {
  const { changed } = await store.update((current) => (current ? { ...current } : undefined));
  return changed;
}
