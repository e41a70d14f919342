/**
 * A client that ioredis ends on its own connects again (store/redis.ts,
 * reconnectAfterUnaskedEnd). ioredis's failover detector does it to a Sentinel client when a
 * `+switch-master` arrives while a reconnect is still asking the Sentinels: its connector is
 * closed under the connect, which rejects "Connection is closed." and ends the client. Here the
 * connector is closed under a connect the same way, on a real redis-server, so the timing is not
 * left to a failover; sentinel-failover and sentinel-secured run the real thing.
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisClient } from '../../src/store/redis.js';
import { waitFor } from '../support/issuer.js';
import { startRedis, type TestRedis } from '../support/redis.js';

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
}, 20_000);
afterAll(async () => {
  await redis?.stop();
});

/** What the failover detector calls: the connector's disconnect, not the client's. */
const closeConnectorUnder = (client: Redis) =>
  (client as unknown as { connector: { disconnect(): void } }).connector.disconnect();

describe('a Redis client ended under a connect', () => {
  it('is ended by ioredis itself (the failure this guards against)', async () => {
    const { Redis: Plain } = await import('ioredis');
    const plain = new Plain(redis.url, { lazyConnect: true, enableOfflineQueue: false });
    plain.on('error', () => {});
    const connecting = plain.connect();
    closeConnectorUnder(plain);
    await expect(connecting).rejects.toThrow('Connection is closed.');
    await new Promise((r) => setTimeout(r, 500));
    expect(plain.status).toBe('end');
  });

  it('connects again and answers commands', async () => {
    const client = createRedisClient(redis.url) as Redis;
    try {
      await waitFor(async () => client.status === 'ready', 5_000, 'first ready');
      const ended = new Promise((r) => client.once('end', r));
      // A reconnect, as after a lost master, with the connector closed under it.
      client.once('connecting', () => closeConnectorUnder(client));
      client.disconnect(true);
      await ended;
      await waitFor(async () => client.status === 'ready', 5_000, 'ready again');
      expect(await client.ping()).toBe('PONG');
    } finally {
      client.disconnect();
    }
  });

  it('stays closed after disconnect() or quit()', async () => {
    for (const close of [(c: Redis) => c.disconnect(), (c: Redis) => void c.quit()]) {
      const client = createRedisClient(redis.url) as Redis;
      await waitFor(async () => client.status === 'ready', 5_000, 'ready');
      close(client);
      await waitFor(async () => client.status === 'end', 5_000, 'end');
      await new Promise((r) => setTimeout(r, 600));
      expect(client.status).toBe('end');
    }
  });
});
