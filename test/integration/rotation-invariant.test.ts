import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  type JSONWebKeySet,
  jwtVerify,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fleet, spawnFleet } from '../support/issuer.js';
import { startRedis, type TestRedis, uniqueNamespace } from '../support/redis.js';

/**
 * The promise of the key ring, end to end: three instances share Redis, tokens are issued from
 * all three while the ring rotates by policy several times, and two verifiers with very
 * different caching check every token.
 *
 * jose's createRemoteJWKSet (defaults: 10 min cache, refetch on an unknown kid at most every
 * 30 s) refetches when it first meets a kid it lacks; each fetch holds the signer and the key
 * after it (minted half a lead ahead), so it refetches every second rotation, and keeps up as
 * long as two rotation periods, less the delay before its first fetch, cover its 30 s cooldown:
 * hence a 20 s period here (production periods are days).
 */
const PERIOD_S = 20;
const LEAD_S = 4;
const TOKEN_TTL_S = 5;
const RUN_MS = 3 * PERIOD_S * 1000 + 4000;
const API = 'http://localhost:4000/api';

let redis: TestRedis;
let fleet: Fleet;
let issuerUrl: string;

beforeAll(async () => {
  redis = await startRedis();
  const dir = mkdtempSync(join(tmpdir(), 'rotation-'));
  const configFile = join(dir, 'issuer.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      clockTolerance: '1s',
      ttl: {
        accessToken: `${TOKEN_TTL_S}s`,
        idToken: `${TOKEN_TTL_S}s`,
        clientCredentials: `${TOKEN_TTL_S}s`,
      },
      keys: {
        rotationPeriod: `${PERIOD_S}s`,
        prePublication: `${LEAD_S}s`,
        retention: '7s',
        refreshInterval: '1s',
      },
      resourceServers: [{ audience: API, scopes: ['api:read'], accessTokenTtl: `${TOKEN_TTL_S}s` }],
      clients: [
        {
          id: 'svc',
          secret: 'svc-secret',
          grantTypes: ['client_credentials'],
          scopes: ['api:read'],
          resources: [API],
        },
      ],
    }),
  );
  fleet = await spawnFleet(3, {
    REDIS_URL: redis.url,
    REDIS_NAMESPACE: uniqueNamespace('rot'),
    OIDC_CONFIG: configFile,
    LOG_LEVEL: 'warn',
  });
  issuerUrl = fleet.issuerUrl;
}, 60_000);

afterAll(async () => {
  await fleet?.stop();
  await redis?.stop();
});

const base = (i: number) => fleet.base(i);

describe('rotation by policy across three instances', () => {
  it(
    'never fails a verification, and every token is signed by a kid published well before it',
    async () => {
      const firstSeen = new Map<string, number>();
      const kidsSeenByInstance = [new Set<string>(), new Set<string>(), new Set<string>()];
      let stop = false;

      // Watches every instance's JWKS to learn when each kid was first published.
      const watcher = (async () => {
        while (!stop) {
          await Promise.all(
            [0, 1, 2].map(async (i) => {
              const at = Date.now();
              const body = (await (await fetch(`${base(i)}/jwks`)).json()) as JSONWebKeySet;
              for (const key of body.keys) {
                if (!firstSeen.has(key.kid!)) firstSeen.set(key.kid!, at);
                kidsSeenByInstance[i]!.add(key.kid!);
              }
            }),
          );
          await new Promise((r) => setTimeout(r, 100));
        }
      })();

      // Verifier 1: jose's remote JWK set, default caching.
      const remote = createRemoteJWKSet(new URL(`${base(1)}/jwks`));
      // Verifier 2: re-reads the JWKS on a fixed interval shorter than the lead, never on an unknown kid.
      let intervalSet = createLocalJWKSet(
        (await (await fetch(`${base(2)}/jwks`)).json()) as JSONWebKeySet,
      );
      const poller = setInterval(
        async () => {
          try {
            intervalSet = createLocalJWKSet(
              (await (await fetch(`${base(2)}/jwks`)).json()) as JSONWebKeySet,
            );
          } catch {
            // keep the previous set, as a cache would
          }
        },
        (LEAD_S * 1000) / 2,
      );

      const failures: string[] = [];
      const issued: { token: string; kid: string; requestedAt: number }[] = [];
      const started = Date.now();
      let n = 0;
      while (Date.now() - started < RUN_MS) {
        const instance = n % 3;
        n += 1;
        const requestedAt = Date.now();
        const res = await fetch(`${base(instance)}/token`, {
          method: 'POST',
          headers: {
            authorization: `Basic ${Buffer.from('svc:svc-secret').toString('base64')}`,
            'content-type': 'application/x-www-form-urlencoded',
          },
          body: 'grant_type=client_credentials&scope=api:read',
        });
        expect(res.status).toBe(200);
        const { access_token: token } = (await res.json()) as { access_token: string };
        const kid = decodeProtectedHeader(token).kid!;
        issued.push({ token, kid, requestedAt });
        for (const [name, keys] of [
          ['jose remote (default caching)', remote],
          ['interval poller', intervalSet],
        ] as const) {
          try {
            await jwtVerify(token, keys, { issuer: issuerUrl, audience: API, typ: 'at+jwt' });
          } catch (err) {
            failures.push(
              `${name}: kid ${kid} from instance ${instance}: ${(err as Error).message}`,
            );
          }
        }
        await new Promise((r) => setTimeout(r, 40));
      }
      stop = true;
      clearInterval(poller);
      await watcher;

      expect(failures).toEqual([]);
      const kids = [...new Set(issued.map((t) => t.kid))];
      // Several rotations happened (the first key plus at least three successors signed).
      expect(kids.length).toBeGreaterThanOrEqual(4);
      const initial = issued[0]!.kid;
      for (const { kid, requestedAt } of issued) {
        const seen = firstSeen.get(kid);
        expect(seen, `kid ${kid} was never seen in a JWKS`).toBeDefined();
        expect(seen!).toBeLessThan(requestedAt);
        if (kid !== initial) {
          // Published at least the lead (less the watcher's polling slack) before it signed.
          const firstUse = issued.find((t) => t.kid === kid)!.requestedAt;
          expect(firstUse - seen!).toBeGreaterThanOrEqual(LEAD_S * 1000 - 1500);
        }
      }
      // Every instance published every kid that signed.
      for (const seen of kidsSeenByInstance)
        for (const kid of kids) expect(seen.has(kid)).toBe(true);

      // A token signed by a removed key fails: the first key retired one period in and was
      // removed 7 s later.
      const old = issued.find((t) => t.kid === initial)!;
      const fresh = createLocalJWKSet(
        (await (await fetch(`${base(0)}/jwks`)).json()) as JSONWebKeySet,
      );
      expect(fresh).toBeDefined();
      await expect(
        jwtVerify(old.token, fresh, {
          issuer: issuerUrl,
          audience: API,
          currentDate: new Date(decodeJwt(old.token).iat! * 1000),
        }),
      ).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
    },
    RUN_MS + 30_000,
  );
});
