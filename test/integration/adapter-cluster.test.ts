import type { Cluster } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createRedisClient, pingStore } from '../../src/store/redis.js';
import { createRedisAdapter } from '../../src/store/redis-adapter.js';
import { adapterSuite } from '../suites/adapter-suite.js';
import { startRedisCluster } from '../support/redis-cluster.js';

function waitReady(client: Cluster): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => client.once('ready', () => resolve()));
}

adapterSuite('redis cluster (3 masters)', async () => {
  const cluster = await startRedisCluster();
  const clients = [0, 1].map(() => createRedisClient(cluster.url) as Cluster);
  await Promise.all(clients.map(waitReady));
  const raw = clients[0]!;
  let turn = 0;
  return {
    adapter: (namespace, clockTolerance) =>
      createRedisAdapter(clients[turn++ % clients.length]!, namespace, { clockTolerance }),
    raw: {
      get: async (key) => (await raw.get(key)) ?? undefined,
      set: async (key, value) => {
        await raw.set(key, value);
      },
      del: async (key) => {
        await raw.del(key);
      },
      members: (key) => raw.smembers(key),
      pttl: (key) => raw.pttl(key),
    },
    close: async () => {
      for (const c of clients) c.disconnect();
      await cluster.stop();
    },
  };
});

describe('redis cluster client', () => {
  it('connects from a redis+cluster:// URL and spreads namespaces over the masters', async () => {
    const cluster = await startRedisCluster();
    const client = createRedisClient(cluster.url) as Cluster;
    try {
      await waitReady(client);
      expect(await pingStore(client)).toBe(true);
      expect(client.nodes('master')).toHaveLength(3);
      // Different issuers land on different slots, each adapter still works on its own slot.
      for (const ns of ['a', 'b', 'c', 'd']) {
        const at = createRedisAdapter(client, ns, { clockTolerance: 0 })('AccessToken');
        await at.upsert('t', { jti: 't', grantId: 'g' }, 60);
        await at.revokeByGrantId('g');
        expect(await at.find('t')).toBeUndefined();
      }
    } finally {
      client.disconnect();
      await cluster.stop();
    }
  });
});
