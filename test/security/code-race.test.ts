/**
 * Checklist item 13 with real processes: three issuer processes share one redis-server, and 20
 * redemptions of one code are spread over them at once → exactly one 200. Also item 18's "no
 * store pattern lookup": hostile kids and token values sent to every lookup endpoint never turn
 * into a KEYS/SCAN pattern or an oversized key name (checked with MONITOR on the real server).
 */
import { Redis } from 'ioredis';
import { generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyNames } from '../../src/store/keys.js';
import {
  Browser,
  basic,
  pkcePair,
  redeem,
  submitPassword,
  WEB,
  WEB_CALLBACK,
} from '../support/flows.js';
import { type Fleet, spawnFleet } from '../support/issuer.js';
import { startRedis, type TestRedis, uniqueNamespace } from '../support/redis.js';

let redis: TestRedis;
let fleet: Fleet;
let issuer: string;
const namespace = uniqueNamespace('race');
const base = (i: number) => fleet.base(i % fleet.instances.length);

beforeAll(async () => {
  redis = await startRedis();
  fleet = await spawnFleet(3, {
    REDIS_URL: redis.url,
    REDIS_NAMESPACE: namespace,
    LOG_LEVEL: 'warn',
  });
  issuer = fleet.issuerUrl;
}, 60_000);
afterAll(async () => {
  await fleet?.stop();
  await redis?.stop();
});

async function codeFrom(instance: number) {
  const { verifier, challenge } = pkcePair();
  const browser = new Browser();
  const url = `${base(instance)}/auth?${new URLSearchParams({
    client_id: WEB.id,
    response_type: 'code',
    redirect_uri: WEB_CALLBACK,
    scope: 'openid offline_access',
    code_challenge: challenge,
    code_challenge_method: 'S256',
  })}`;
  const login = await browser.follow(url, {}, WEB_CALLBACK);
  const consent = await submitPassword(browser, login);
  const done = await browser.submit(consent, /\/confirm$/, {}, WEB_CALLBACK);
  const code = new URL(done.url).searchParams.get('code');
  expect(code).toBeTruthy();
  return { code: code!, verifier };
}

describe('13. parallel redemptions of one code over three instances', () => {
  it.each([1, 2, 3])('exactly one 200 out of 20 (round %i)', async () => {
    const { code, verifier } = await codeFrom(0);
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => redeem(base(i), code, verifier)),
    );
    const statuses = answers.map((a) => a.status);
    expect(
      statuses.filter((s) => s === 200),
      String(statuses),
    ).toHaveLength(1);
    for (const a of answers.filter((x) => x.status !== 200)) {
      expect(a.status).toBe(400);
      expect(a.body.error).toBe('invalid_grant');
    }
    // The code was replayed, so what it bought is revoked too (item 12), on every instance.
    const winner = answers.find((a) => a.status === 200)!;
    await new Promise((r) => setTimeout(r, 100));
    for (let i = 0; i < 3; i += 1) {
      const me = await fetch(`${base(i)}/me`, {
        headers: { authorization: `Bearer ${winner.body.access_token}` },
      });
      await me.arrayBuffer();
      expect(me.status, `userinfo on instance ${i}`).toBe(401);
    }
  });
});

describe('a code record evicted from Redis (maxmemory-policy other than noeviction)', () => {
  // The consumed flag lives in the code's own record, so losing the record loses the code:
  // it fails closed, it is never redeemed twice. (SECURITY.md says so; keep them in step.)
  const evict = async (code: string) => {
    const client = new Redis(redis.url);
    try {
      const key = keyNames(namespace).model('AuthorizationCode', code);
      expect(await client.exists(key), 'the code record is where we look').toBe(1);
      await client.del(key);
    } finally {
      client.disconnect();
    }
  };

  it('before the first redemption: the code is refused', async () => {
    const { code, verifier } = await codeFrom(0);
    await evict(code);
    expect(await redeem(base(1), code, verifier)).toMatchObject({
      status: 400,
      body: { error: 'invalid_grant' },
    });
  });

  it('after it was redeemed: a replay is refused, not served twice', async () => {
    const { code, verifier } = await codeFrom(0);
    expect((await redeem(base(0), code, verifier)).status).toBe(200);
    await evict(code);
    expect(await redeem(base(1), code, verifier)).toMatchObject({
      status: 400,
      body: { error: 'invalid_grant' },
    });
  });
});

describe('18. hostile kids and token values never become store patterns', () => {
  it('no KEYS/SCAN and no oversized key names reach Redis', async () => {
    const monitor = new Redis(redis.url);
    const commands: string[][] = [];
    const m = await monitor.monitor();
    m.on('monitor', (_time: string, args: string[]) => commands.push(args));
    try {
      const { privateKey } = await generateKeyPair('RS256');
      const hostile = ['*', '../x', '{a}', '?*[a-z]', 'k'.repeat(10 * 1024)];
      for (const value of hostile) {
        const hint = await new SignJWT({ sub: 'alice', aud: WEB.id })
          .setProtectedHeader({ alg: 'RS256', kid: value })
          .setIssuer(issuer)
          .setIssuedAt()
          .setExpirationTime('1h')
          .sign(privateKey);
        const requests: [string, RequestInit][] = [
          [`/session/end?id_token_hint=${hint}`, {}],
          [`/me`, { headers: { authorization: `Bearer ${value}` } }],
          ['/token/introspection', { method: 'POST', body: new URLSearchParams({ token: value }) }],
          ['/token/revocation', { method: 'POST', body: new URLSearchParams({ token: value }) }],
          [
            '/token',
            {
              method: 'POST',
              body: new URLSearchParams({
                grant_type: 'authorization_code',
                code: value,
                code_verifier: 'a'.repeat(43),
                redirect_uri: WEB_CALLBACK,
              }),
            },
          ],
          [
            '/token',
            {
              method: 'POST',
              body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: value }),
            },
          ],
          [`/interaction/${encodeURIComponent(value)}`, {}],
          [`/device?user_code=${encodeURIComponent(value)}`, {}],
        ];
        for (const [path, init] of requests) {
          const headers = new Headers(init.headers);
          if (init.method === 'POST') {
            headers.set('content-type', 'application/x-www-form-urlencoded');
            if (!path.startsWith('/token?') && !headers.has('authorization')) {
              headers.set('authorization', basic(WEB.id, WEB.secret));
            }
          }
          const res = await fetch(`${base(1)}${path}`, { ...init, headers });
          await res.arrayBuffer();
          expect(res.status, path).toBeLessThan(500);
        }
      }
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      monitor.disconnect();
    }
    expect(commands.length).toBeGreaterThan(0);
    const patterns = commands.filter(([cmd]) =>
      /^(keys|scan|sscan|hscan|zscan|psubscribe)$/i.test(cmd ?? ''),
    );
    expect(patterns).toEqual([]);
    const keyNames = commands.flatMap((args) => {
      const cmd = args[0]?.toLowerCase();
      if (cmd === 'evalsha' || cmd === 'eval') return args.slice(3, 3 + Number(args[2]));
      return args[1] === undefined ? [] : [args[1]];
    });
    const longest = Math.max(...keyNames.map((k) => k.length));
    expect(longest, 'a key name built from request input').toBeLessThan(512);
    // Exact lookups such as GET …:AccessToken:* are harmless (GET takes no pattern); what
    // matters is that no pattern command runs and no huge input becomes a key name.
    expect(keyNames.filter((k) => k.includes('k'.repeat(64))).map((k) => k.slice(0, 100))).toEqual(
      [],
    );
  });
});
