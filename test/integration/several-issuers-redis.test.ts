import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningIssuer } from '../../src/issuer.js';
import { openRingStore } from '../../src/keystore/configured.js';
import { keyNames } from '../../src/store/keys.js';
import { createRedisClient, whenReady } from '../../src/store/redis.js';
import { startTestIssuer } from '../support/issuer.js';
import { startRedis, type TestRedis } from '../support/redis.js';

let redis: TestRedis;
let issuer: RunningIssuer;

beforeAll(async () => {
  redis = await startRedis();
  issuer = await startTestIssuer({
    redis: { url: redis.url, namespace: 'several' },
    issuers: [{ path: '/azure', extends: 'demo' }],
  });
});
afterAll(async () => {
  await issuer?.close();
  await redis?.stop();
});

describe('several issuers on one Redis', () => {
  it('keeps each issuer’s key ring in its own namespace', async () => {
    const azure = issuer.config.issuers[0]!;
    expect([issuer.config.redis.namespace, azure.redis.namespace]).toEqual([
      'several',
      'several-azure',
    ]);
    const client = createRedisClient(redis.url);
    expect(await whenReady(client, { timeoutMs: 5000 })).toBeUndefined();
    try {
      for (const [cfg, path] of [
        [issuer.config, ''],
        [azure, '/azure'],
      ] as const) {
        const { store } = openRingStore(cfg, client);
        const stored = (await store.load())?.keys.map((k) => k.kid) ?? [];
        const served = (
          (await (await fetch(`${issuer.url}${path}/jwks`)).json()) as { keys: { kid: string }[] }
        ).keys.map((k) => k.kid);
        expect(served.length).toBeGreaterThan(0);
        for (const kid of served) expect(stored).toContain(kid);
        await store.close();
      }
      const [top, hosted] = await Promise.all(
        ['several', 'several-azure'].map(
          async (ns) => (await client.keys(`${keyNames(ns).prefix}*`)).length,
        ),
      );
      expect(top).toBeGreaterThan(0);
      expect(hosted).toBeGreaterThan(0);
    } finally {
      client.disconnect();
    }
  });
});
