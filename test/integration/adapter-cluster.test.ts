import type { Cluster } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedisClient, pingStore } from '../../src/store/redis.js';
import { createRedisAdapter } from '../../src/store/redis-adapter.js';
import { adapterSuite } from '../suites/adapter-suite.js';
import { startRedisCluster, type TestRedisCluster } from '../support/redis-cluster.js';

// One cluster for the whole file: starting and joining three nodes is the slow part.
let started: Promise<TestRedisCluster> | undefined;
const cluster = () => {
  started ??= startRedisCluster();
  return started;
};
afterAll(async () => {
  await (await started)?.stop();
});

function waitReady(client: Cluster): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => client.once('ready', () => resolve()));
}

adapterSuite('redis cluster (3 masters)', async () => {
  const { url } = await cluster();
  // Two clients, used in turn, stand for two issuer instances.
  const clients = [0, 1].map(() => createRedisClient(url) as Cluster);
  await Promise.all(clients.map(waitReady));
  const raw = clients[0]!;
  let turn = 0;
  return {
    adapter: (namespace, clockTolerance, clock) =>
      createRedisAdapter(clients[turn++ % clients.length]!, namespace, { clockTolerance, clock }),
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
    },
  };
});

describe('redis cluster client', () => {
  it('connects from a redis+cluster:// URL; namespaces on different masters all work', async () => {
    const client = createRedisClient((await cluster()).url) as Cluster;
    try {
      await waitReady(client);
      expect(await pingStore(client)).toBe(true);
      expect(client.nodes('master')).toHaveLength(3);
      const slotOwners = new Set<string>();
      for (const ns of ['a', 'b', 'c', 'd', 'e', 'f']) {
        const at = createRedisAdapter(client, ns, { clockTolerance: 0 })('AccessToken');
        await at.upsert('t', { jti: 't', grantId: 'g' }, 60);
        const slot = (await client.cluster('KEYSLOT', `oidc:{${ns}}:x`)) as number;
        slotOwners.add(client.slots[slot]?.[0] ?? 'none');
        await at.revokeByGrantId('g');
        expect(await at.find('t')).toBeUndefined();
      }
      expect(slotOwners.size).toBeGreaterThan(1);
    } finally {
      client.disconnect();
    }
  });
});
