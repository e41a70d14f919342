import type { Cluster, Redis } from 'ioredis';
import { StoreVersionError } from '../errors.js';
import { ioredis } from './ioredis.js';

/** The oldest Redis whose scripts' flags (`#!lua`, `no-writes`, see lua/) it understands. */
const OLDEST_MAJOR = 7;

/** `redis_version` of an `INFO server` reply, e.g. `7.0.15`; undefined when it has none. */
export function redisVersionOf(info: string): string | undefined {
  return /^redis_version:([^\r\n]+)/m.exec(info)?.[1]?.trim();
}

/**
 * Returns the refusal to start when a node runs a Redis older than 7: the adapter's scripts
 * would be refused there and every store write would fail, which no wait heals. Undefined when
 * every node is new enough or cannot be asked (a managed Redis may refuse INFO). On a Cluster
 * every master is asked.
 */
export async function checkRedisVersion(
  client: Redis | Cluster,
): Promise<StoreVersionError | undefined> {
  const nodes = client instanceof ioredis().Cluster ? client.nodes('master') : [client];
  const versions: string[] = [];
  for (const node of nodes) {
    try {
      const version = redisVersionOf(await node.info('server'));
      if (version) versions.push(version);
    } catch {
      // INFO refused or node unreachable: nothing can be said about this node.
    }
  }
  return versionRefusal(versions);
}

/** The refusal {@link checkRedisVersion} returns for these `redis_version`s, if any is too old. */
export function versionRefusal(versions: readonly string[]): StoreVersionError | undefined {
  const old = [...new Set(versions.filter((v) => Number.parseInt(v, 10) < OLDEST_MAJOR))];
  if (old.length === 0) return undefined;
  return new StoreVersionError(
    `Redis ${old.join(', ')} is older than ${OLDEST_MAJOR}: oidc-issuer's scripts need ` +
      `Redis ${OLDEST_MAJOR} or later (they use script flags), so it cannot store sessions, ` +
      'codes or tokens there; point REDIS_URL at Redis 7 or later (or Valkey)',
  );
}
