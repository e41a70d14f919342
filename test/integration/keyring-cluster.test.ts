import type { Cluster } from 'ioredis';
import { createRedisClient } from '../../src/store/redis.js';
import { keyRingStoreSuite, redisRingHarness } from '../suites/keyring-store.suite.js';
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
    return redisRingHarness(clients, () => cluster.stop());
  },
);
