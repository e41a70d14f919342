import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import type { AdapterPayload } from 'oidc-provider';
import Provider from 'oidc-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERRORS, StoreUnavailableError, StoreVersionError } from '../../src/errors.js';
import { keyNames } from '../../src/store/keys.js';
import { checkEvictionPolicy, createRedisClient, pingStore } from '../../src/store/redis.js';
import { createRedisAdapter } from '../../src/store/redis-adapter.js';
import {
  checkRedisVersion,
  redisVersionOf,
  versionRefusal,
} from '../../src/store/redis-version.js';
import { inUnitOfWork } from '../../src/store/request-scope.js';
import { adapterSuite } from '../suites/adapter-suite.js';
import { basic, tokenRequest } from '../support/flows.js';
import { redisForTests, startRedis, type TestRedis, uniqueNamespace } from '../support/redis.js';

adapterSuite('standalone redis', async () => {
  const server = await redisForTests();
  // Three clients, used in turn, stand for three issuer instances.
  const clients = [0, 1, 2].map(() => createRedisClient(server.url) as Redis);
  await Promise.all(clients.map((c) => waitReady(c)));
  const rawClient = clients[0]!;
  let turn = 0;
  return {
    adapter: (namespace, clockTolerance, clock) =>
      createRedisAdapter(clients[turn++ % clients.length]!, namespace, { clockTolerance, clock }),
    raw: {
      get: async (key) => (await rawClient.get(key)) ?? undefined,
      set: async (key, value) => {
        await rawClient.set(key, value);
      },
      del: async (key) => {
        await rawClient.del(key);
      },
      members: (key) => rawClient.smembers(key),
      pttl: (key) => rawClient.pttl(key),
    },
    close: async () => {
      for (const c of clients) c.disconnect();
      await server.stop();
    },
  };
});

function waitReady(client: Redis): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => client.once('ready', () => resolve()));
}

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('condition not met in time');
}

describe('redis client: bounded failures', () => {
  let server: TestRedis;
  let client: Redis;
  const logged: string[] = [];

  beforeAll(async () => {
    server = await startRedis();
    client = createRedisClient(server.url, {
      logger: (msg) => logged.push(msg),
    }) as Redis;
    await waitReady(client);
  });
  afterAll(async () => {
    client?.disconnect();
    await server?.stop();
  });

  it('rejects every adapter call with StoreUnavailableError at once while redis is down, and recovers on the same client', async () => {
    const make = createRedisAdapter(client, uniqueNamespace(), { clockTolerance: 0 });
    const at = make('AccessToken');
    await at.upsert('before', { jti: 'before', grantId: 'g' }, 60);

    await server.stop();
    await until(async () => client.status !== 'ready', 3000);
    const calls: Array<() => Promise<unknown>> = [
      () => at.find('x'),
      () => at.upsert('x', { jti: 'x', grantId: 'g' }, 60),
      () => at.consume('x'),
      () => at.destroy('x'),
      () => at.revokeByGrantId('g'),
      () => make('Session').findByUid('u'),
      () => make('DeviceCode').findByUserCode('c'),
      () => make('ReplayDetection').upsert('r', { jti: 'r' }, 60),
    ];
    for (const op of calls) {
      const started = Date.now();
      const err = await op().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect((err as StoreUnavailableError).code).toBe('STORE_UNAVAILABLE');
      expect(Date.now() - started).toBeLessThan(3000);
    }
    expect(await pingStore(client)).toBe(false);
    expect(logged).toContain('redis connection lost');

    await server.start();
    await until(() => pingStore(client), 5000);
    // The restarted server is empty (no persistence) and has no scripts cached: they reload.
    expect(await at.find('before')).toBeUndefined();
    await at.upsert('after', { jti: 'after', grantId: 'g' }, 60);
    await at.consume('after');
    expect(await at.find('after')).toMatchObject({ jti: 'after' });
    expect(logged).toContain('redis connection restored');
  });

  it("holds a unit of work's writes until it ends, then writes them in one step; a flush Redis refuses writes none of them", async () => {
    const namespace = uniqueNamespace();
    const names = keyNames(namespace);
    const make = createRedisAdapter(client, namespace, { clockTolerance: 0 });
    const [i1, i2, s1, s2, uid] = ['i1', 'i2', 's1', 's2', 'u'];
    await make('Interaction').upsert(i1, { jti: i1 }, 60);
    await inUnitOfWork(
      () => [],
      async () => {
        await make('Interaction').destroy(i1);
        await make('Session').upsert(s1, { jti: s1, uid } as AdapterPayload, 60);
        expect(await client.exists(names.model('Interaction', i1))).toBe(1);
        expect(await client.exists(names.model('Session', s1), names.uid(uid))).toBe(0);
      },
    );
    expect(await client.exists(names.model('Interaction', i1))).toBe(0);
    expect(await client.get(names.uid(uid))).toBe(s1);

    await make('Interaction').upsert(i2, { jti: i2 }, 60);
    const before = await client.get(names.model('Interaction', i2));
    // Out of memory (noeviction): Redis refuses writing scripts; reading ones still run.
    await client.config('SET', 'maxmemory', '1');
    try {
      const failed = await inUnitOfWork(
        () => [{ model: 'Interaction', id: i2 }],
        async () => {
          expect(await make('Interaction').find(i2)).toEqual({ jti: i2 });
          await make('Session').destroy(s1);
          await make('Interaction').upsert(
            i2,
            { jti: i2, result: { login: { accountId: 'a' } } },
            60,
          );
          await make('Session').upsert(s2, { jti: s2, uid } as AdapterPayload, 60);
        },
      ).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(failed).toBeInstanceOf(StoreUnavailableError);
    } finally {
      await client.config('SET', 'maxmemory', '0');
    }
    expect(await client.get(names.model('Interaction', i2))).toBe(before);
    expect(await client.exists(names.model('Session', s1))).toBe(1);
    expect(await client.exists(names.model('Session', s2))).toBe(0);
    expect(await client.get(names.uid(uid))).toBe(s1);
  });

  it('times a hung redis out within the command timeout', async () => {
    const at = createRedisAdapter(client, uniqueNamespace(), { clockTolerance: 0 })('AccessToken');
    await at.find('warm');
    server.pause();
    try {
      const started = Date.now();
      await expect(at.find('x')).rejects.toBeInstanceOf(StoreUnavailableError);
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      server.resume();
    }
    await until(() => pingStore(client), 5000);
  });

  it('with oidc-provider: a store outage answers 503 temporarily_unavailable, not 500', async () => {
    const provider = new Provider('http://127.0.0.1', {
      adapter: createRedisAdapter(client, uniqueNamespace(), { clockTolerance: 5 }),
      clients: [
        {
          client_id: 'rp',
          client_secret: 'rp-secret-rp-secret-rp-secret-01',
          redirect_uris: ['https://rp.example/cb'],
        },
      ],
    });
    const serverErrors: unknown[] = [];
    provider.on('server_error', (_ctx, err) => serverErrors.push(err));
    const http: Server = createServer(provider.callback());
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    await server.stop();
    try {
      const res = await tokenRequest(
        base,
        {
          grant_type: 'authorization_code',
          code: 'x'.repeat(43),
          redirect_uri: 'https://rp.example/cb',
        },
        basic('rp', 'rp-secret-rp-secret-rp-secret-01'),
      );
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ error: 'temporarily_unavailable' });
      expect(serverErrors).toEqual([]);
    } finally {
      await new Promise((r) => http.close(r));
      await server.start();
      await until(() => pingStore(client), 5000);
    }
  });
});

describe('redis helpers', () => {
  it('warns about an eviction policy other than noeviction', async () => {
    const evicting = await startRedis(['--maxmemory-policy', 'allkeys-lru']);
    const a = createRedisClient(evicting.url) as Redis;
    try {
      await waitReady(a);
      expect(await checkEvictionPolicy(a)).toMatch(/allkeys-lru.*noeviction/);
    } finally {
      a.disconnect();
      await evicting.stop();
    }
  });

  it('says nothing when the policy is noeviction or CONFIG is refused', async () => {
    const safe = await startRedis(['--rename-command', 'CONFIG', '""']);
    const a = createRedisClient(safe.url) as Redis;
    try {
      await waitReady(a);
      expect(await checkEvictionPolicy(a)).toBeUndefined();
      await expect(a.config('GET', 'maxmemory-policy')).rejects.toThrow();
    } finally {
      a.disconnect();
      await safe.stop();
    }
  });

  it('accepts a Redis 7, and refuses to start on an older one (exit 2, naming REDIS_URL)', async () => {
    const own = await startRedis();
    const client = createRedisClient(own.url) as Redis;
    try {
      await waitReady(client);
      const version = redisVersionOf(await client.info('server'));
      expect(Number.parseInt(version ?? '', 10)).toBeGreaterThanOrEqual(7);
      expect(await checkRedisVersion(client)).toBeUndefined();
      expect(redisVersionOf('# Server\r\nredis_version:6.2.14\r\nredis_git_sha1:0\r\n')).toBe(
        '6.2.14',
      );
      // No Redis 6 can run here; the decision the start makes on one is checked directly.
      const refusal = versionRefusal(['7.2.4', '6.2.14', '6.2.14']);
      expect(refusal).toBeInstanceOf(StoreVersionError);
      expect(refusal?.code).toBe('STORE_TOO_OLD');
      expect(ERRORS.STORE_TOO_OLD.exit).toBe(2);
      expect(refusal?.message).toMatch(/^Redis 6\.2\.14 is older than 7: .*REDIS_URL/);
      expect(versionRefusal(['7.0.15', '8.0.2'])).toBeUndefined();
    } finally {
      client.disconnect();
      await own.stop();
    }
  });

  it('rejects URLs it cannot use', () => {
    expect(() => createRedisClient('http://localhost:6379')).toThrow(/REDIS_URL/);
    expect(() => createRedisClient('redis+cluster://nohost')).toThrow(/host:port/);
  });
});
