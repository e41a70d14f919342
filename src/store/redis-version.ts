import type { Cluster, Redis } from 'ioredis';
import { ioredis } from './ioredis.js';

/** The oldest Redis whose scripts' flags (`#!lua`, `no-writes`, see lua/) it understands. */
const OLDEST_MAJOR = 7;

/** `redis_version` of an `INFO server` reply, e.g. `7.0.15`; undefined when it has none. */
export function redisVersionOf(info: string): string | undefined {
  return /^redis_version:([^\r\n]+)/m.exec(info)?.[1]?.trim();
}

/**
 * Returns a warning when a node runs a Redis older than 7: the adapter's scripts would be
 * refused there and every store write would fail. Undefined when every node is new enough or
 * cannot be asked (a managed Redis may refuse INFO). On a Cluster every master is asked.
 */
export async function checkRedisVersion(client: Redis | Cluster): Promise<string | undefined> {
  const nodes = client instanceof ioredis().Cluster ? client.nodes('master') : [client];
  const old = new Set<string>();
  for (const node of nodes) {
    try {
      const version = redisVersionOf(await node.info('server'));
      if (version && Number.parseInt(version, 10) < OLDEST_MAJOR) old.add(version);
    } catch {
      // INFO refused or node unreachable: nothing can be said about this node.
    }
  }
  if (old.size === 0) return undefined;
  return (
    `Redis ${[...old].join(', ')} is older than ${OLDEST_MAJOR}: oidc-issuer's scripts need ` +
    `Redis ${OLDEST_MAJOR} or later, so storing sessions, codes and tokens will fail`
  );
}
