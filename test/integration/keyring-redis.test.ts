import { type Cluster, Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { activeKid, stateAt } from '../../src/keystore/lifecycle.js';
import { RedisKeyRingStore } from '../../src/keystore/redis-ring-store.js';
import type { KeyRing, RotationPolicy } from '../../src/keystore/types.js';
import { KeyRingWatcher } from '../../src/keystore/watcher.js';
import { keyNames } from '../../src/store/keys.js';
import { createRedisClient } from '../../src/store/redis.js';
import { keyRingStoreSuite, redisRingHarness } from '../suites/keyring-store.suite.js';
import { redisForTests, startRedis, type TestRedis, uniqueNamespace } from '../support/redis.js';

const S = 1000;
const policy: RotationPolicy = {
  algorithms: ['ES256'],
  rotationPeriod: 3600 * S,
  prePublication: 60 * S,
  retention: 600 * S,
};
const SECRET = 'integration-test-secret-0123456789';

let redis: TestRedis;
let inspector: Redis;
const cleanup: (() => Promise<unknown> | unknown)[] = [];

beforeAll(async () => {
  redis = await startRedis();
  inspector = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  inspector.on('error', () => {});
});
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});
afterAll(async () => {
  inspector.disconnect();
  await redis?.stop();
});

async function ready(c: Redis | Cluster): Promise<void> {
  if (c.status !== 'ready') await new Promise((r) => c.once('ready', r));
}

/** A client configured as the issuer configures it (no offline queue, bounded commands). */
async function client(): Promise<Redis | Cluster> {
  const c = createRedisClient(redis.url, { commandTimeoutMs: 1000, connectTimeoutMs: 1000 });
  cleanup.push(() => c.disconnect());
  await ready(c);
  return c;
}

interface Instance {
  manager: KeyRingWatcher;
  store: RedisKeyRingStore;
}

async function instance(
  namespace: string,
  opts: { clock?: () => number; refreshIntervalMs?: number; secret?: string } = {},
): Promise<Instance> {
  const store = new RedisKeyRingStore(await client(), namespace, {
    ...(opts.secret ? { secret: opts.secret } : {}),
  });
  const manager = new KeyRingWatcher({
    store,
    policy,
    clock: opts.clock ?? Date.now,
    refreshIntervalMs: opts.refreshIntervalMs ?? 60_000,
    retryIntervalMs: 100,
  });
  cleanup.push(async () => {
    await manager.stop();
    await store.close();
  });
  return { manager, store };
}

const kids = (ring: KeyRing | undefined) => (ring?.keys ?? []).map((k) => k.kid).sort();

async function until(what: string, check: () => Promise<boolean> | boolean, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

keyRingStoreSuite(
  'RedisKeyRingStore (standalone)',
  { concurrentHandles: true, announces: true, sealed: true },
  async () => {
    const server = await redisForTests();
    // Three clients, used in turn, stand for three issuer instances.
    const clients = [0, 1, 2].map(() => createRedisClient(server.url));
    await Promise.all(clients.map(ready));
    return redisRingHarness(clients, () => server.stop());
  },
);

describe('key ring on a shared Redis', () => {
  it('three instances starting at once on an empty Redis create exactly one ring', async () => {
    const ns = uniqueNamespace('ring');
    const all = await Promise.all([instance(ns), instance(ns), instance(ns)]);
    await Promise.all(all.map((i) => i.manager.start()));
    const stored = await all[0]!.store.load();
    expect(stored!.version).toBe(1);
    expect(stored!.keys).toHaveLength(2);
    for (const { manager } of all) expect(kids(manager.current())).toEqual(kids(stored));
  });

  it('three rotations at once give exactly one new signing key', async () => {
    const ns = uniqueNamespace('rotate');
    let now = Date.now();
    const clock = () => now;
    const all = await Promise.all([1, 2, 3].map(() => instance(ns, { clock })));
    await Promise.all(all.map((i) => i.manager.start()));
    const before = await all[0]!.store.load();
    const oldSigner = activeKid(before, 'ES256', now)!;
    now += policy.prePublication;

    const results = await Promise.allSettled(all.map((i) => i.manager.rotate()));
    expect(
      results.filter((r) => r.status === 'fulfilled' || r.reason?.code === 'ROTATION_TOO_EARLY'),
    ).toHaveLength(3);
    for (const r of results) {
      if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'ROTATION_TOO_EARLY' });
    }
    expect(results.some((r) => r.status === 'fulfilled')).toBe(true);

    const after = (await all[0]!.store.load())!;
    const newSigner = activeKid(after, 'ES256', now)!;
    expect(newSigner).not.toBe(oldSigner);
    expect(before!.keys.map((k) => k.kid)).toContain(newSigner);
    // Old signer retiring, new signer, one fresh next: exactly one kid was minted.
    expect(after.keys).toHaveLength(3);
    expect(after.version).toBe(before!.version + 1);
    expect(after.keys.map((k) => stateAt(k, now)).sort()).toEqual(['active', 'next', 'retiring']);
    await Promise.all(all.map((i) => i.manager.refresh()));
    for (const { manager } of all) expect(manager.signingKeys()[0]!.kid).toBe(newSigner);
    // Whatever each caller was told is what every instance now holds.
    for (const r of results) {
      if (r.status === 'fulfilled')
        expect(r.value.keys.map((k) => k.kid).sort()).toEqual(kids(after));
    }
  });

  it('announces a change to the other instances within a second (pub/sub only)', async () => {
    const ns = uniqueNamespace('pubsub');
    let now = Date.now();
    const clock = () => now;
    const a = await instance(ns, { clock });
    const b = await instance(ns, { clock });
    await a.manager.start();
    await b.manager.start();
    now += policy.prePublication;
    const seen = new Promise<number>((resolve) =>
      b.manager.onChange((ring) => {
        if (ring.keys.length === 3) resolve(Date.now());
      }),
    );
    const sent = Date.now();
    await a.manager.rotate();
    const latency = (await seen) - sent;
    expect(latency).toBeLessThan(1000);
    expect(b.manager.signingKeys()[0]!.kid).toBe(a.manager.signingKeys()[0]!.kid);
  });

  it('stores private keys encrypted and refuses to read them with another secret', async () => {
    const ns = uniqueNamespace('sealed');
    const a = await instance(ns, { secret: SECRET });
    await a.manager.start();
    const raw = (await inspector.get(keyNames(ns).keyRing))!;
    expect(raw).not.toContain('"d"');
    expect(raw).not.toContain(a.manager.current()!.keys[0]!.privateJwk.d);
    expect(JSON.parse(raw).sealed.enc).toBe('A256GCM');

    const wrong = await instance(ns, { secret: `${SECRET}-other` });
    await expect(wrong.store.load()).rejects.toMatchObject({ code: 'KEYRING_SECRET_MISMATCH' });
    await wrong.manager.start();
    expect(wrong.manager.current()).toBeUndefined();
    expect(wrong.manager.lastError).toMatchObject({ code: 'KEYRING_SECRET_MISMATCH' });
    expect(await inspector.get(keyNames(ns).keyRing)).toBe(raw);
  });
});

describe('key ring across a Redis restart without persistence', () => {
  it('writes the held ring back with the same kids, and pub/sub resumes', async () => {
    const ns = uniqueNamespace('restart');
    const a = await instance(ns, { refreshIntervalMs: 200, secret: SECRET });
    const b = await instance(ns, { refreshIntervalMs: 60_000, secret: SECRET });
    await a.manager.start();
    await b.manager.start();
    const held = kids(a.manager.current());

    await redis.stop();
    // Restarted empty; a new ring would have other kids, so equal kids prove the write-back.
    await redis.start();

    await until('the ring is back in Redis', async () => {
      const raw = await inspector.get(keyNames(ns).keyRing).catch(() => null);
      return raw !== null;
    });
    const restored = await a.store.load();
    expect(kids(restored)).toEqual(held);
    expect(kids(b.manager.current())).toEqual(held);

    // The subscriber reconnected and re-subscribed: a revocation reaches b through a notice.
    const signer = a.manager.signingKeys()[0]!.kid;
    const seen = new Promise<void>((resolve) =>
      b.manager.onChange((ring) => {
        if (!ring.keys.some((k) => k.kid === signer)) resolve();
      }),
    );
    await until('b is subscribed again', () => a.manager.isInSync(1000));
    await a.manager.revoke(signer);
    await seen;
  }, 20_000);

  it('an instance started while Redis is down invents no keys and catches up', async () => {
    const ns = uniqueNamespace('down');
    const c = createRedisClient(redis.url, { commandTimeoutMs: 500, connectTimeoutMs: 500 });
    cleanup.push(() => c.disconnect());
    await redis.stop();
    const store = new RedisKeyRingStore(c, ns);
    const manager = new KeyRingWatcher({ store, policy, retryIntervalMs: 100 });
    cleanup.push(async () => {
      await manager.stop();
      await store.close();
    });
    const started = Date.now();
    await manager.start();
    expect(Date.now() - started).toBeLessThan(5000);
    expect(manager.current()).toBeUndefined();
    expect(manager.isInSync(60_000)).toBe(false);
    await redis.start();
    await until('the ring is created', () => manager.current() !== undefined);
    expect(kids(await store.load())).toEqual(kids(manager.current()));
  }, 20_000);
});
