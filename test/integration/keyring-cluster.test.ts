import type { Cluster } from 'ioredis';
import { RedisKeyRingStore } from '../../src/keystore/redis-ring-store.js';
import { keyNames } from '../../src/store/keys.js';
import { createRedisClient } from '../../src/store/redis.js';
import { keyRingStoreSuite } from '../suites/keyring-store.suite.js';
import { uniqueNamespace } from '../support/redis.js';
import { startRedisCluster } from '../support/redis-cluster.js';

function waitReady(client: Cluster): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => client.once('ready', () => resolve()));
}

keyRingStoreSuite(
  'RedisKeyRingStore (cluster, 3 masters)',
  { concurrentHandles: true, announces: true, sealed: true },
  async () => {
    const cluster = await startRedisCluster();
    // Two clients, used in turn, stand for two issuer instances.
    const clients = [0, 1].map(() => createRedisClient(cluster.url) as Cluster);
    await Promise.all(clients.map(waitReady));
    let turn = 0;
    return {
      space: () => {
        const ns = uniqueNamespace('ring-suite');
        const key = keyNames(ns).keyRing;
        return {
          open: (options) => new RedisKeyRingStore(clients[turn++ % clients.length]!, ns, options),
          raw: async () => (await clients[0]!.get(key)) ?? undefined,
          wipe: async () => {
            await clients[0]!.del(key);
          },
        };
      },
      close: async () => {
        for (const c of clients) c.disconnect();
        await cluster.stop();
      },
    };
  },
);
