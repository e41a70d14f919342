import { createHash } from 'node:crypto';
import { createLocalJWKSet, importJWK, jwtVerify, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SigningAlg } from '../../src/algorithms.js';
import { buildJwksDocument, cacheControlFor } from '../../src/keystore/jwks.js';
import { providerKeys } from '../../src/keystore/lifecycle.js';
import { generateSigningKey } from '../../src/keystore/material.js';
import { planRing } from '../../src/keystore/plan.js';
import { deserializeRing, serializeRing } from '../../src/keystore/serialize.js';
import type { KeyRing, RotationPolicy, SigningJwk } from '../../src/keystore/types.js';

const S = 1000;
const T0 = 1_700_000_000_000;
const policy: RotationPolicy = {
  algorithms: ['RS256', 'ES256', 'EdDSA'],
  rotationPeriod: 100 * S,
  prePublication: 80 * S,
  retention: 50 * S,
};

let ring: KeyRing;

beforeAll(async () => {
  const pool = new Map<SigningAlg, SigningJwk[]>();
  for (const alg of policy.algorithms) {
    pool.set(alg, await Promise.all([1, 2, 3].map(() => generateSigningKey(alg))));
  }
  const fresh = (alg: SigningAlg) => pool.get(alg)!.shift()!;
  // Three states at T0 + 100 s: retiring, active and next for every algorithm.
  ring = planRing(planRing(undefined, policy, T0, fresh)!, policy, T0 + 100 * S, fresh)!;
});

describe('buildJwksDocument', () => {
  it('publishes next, active and retiring keys with public members only', () => {
    const doc = buildJwksDocument(ring, T0 + 100 * S, policy);
    const text = doc.body.toString('utf8');
    const { keys } = JSON.parse(text) as { keys: Record<string, unknown>[] };
    expect(keys).toHaveLength(9);
    for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) {
      expect(text).not.toContain(`"${member}":`);
    }
    for (const k of keys) {
      expect(Object.keys(k).slice(0, 4)).toEqual(['kid', 'kty', 'alg', 'use']);
      expect(k.use).toBe('sig');
    }
    expect(doc.contentType).toBe('application/jwk-set+json');
  });

  it('orders keys by algorithm, then activation time, then kid', () => {
    const { keys } = JSON.parse(buildJwksDocument(ring, T0 + 100 * S, policy).body.toString());
    const order = (keys as { kid: string; alg: string }[]).map((k) => {
      const e = ring.keys.find((x) => x.kid === k.kid)!;
      return [k.alg, e.activateAt];
    });
    expect(order).toEqual(
      ['RS256', 'ES256', 'EdDSA'].flatMap((alg) => [
        [alg, T0],
        [alg, T0 + 100 * S],
        [alg, T0 + 200 * S],
      ]),
    );
  });

  it('gives the same bytes and ETag for the same ring, whatever its stored key order', () => {
    const now = T0 + 100 * S;
    const a = buildJwksDocument(ring, now, policy);
    const shuffled = { ...ring, keys: [...ring.keys].reverse() };
    // As another instance would see it: read back from the stored form.
    const reread = deserializeRing(serializeRing(shuffled));
    const b = buildJwksDocument(reread, now + 10 * S, policy);
    expect(b.body.equals(a.body)).toBe(true);
    expect(b.etag).toBe(a.etag);
    expect(a.etag).toBe(`"${createHash('sha256').update(a.body).digest('base64url')}"`);
  });

  it('drops a key once it is removed, which changes the ETag', () => {
    const removedAt = ring.keys[0]!.removeAt;
    const before = buildJwksDocument(ring, removedAt - 1, policy);
    const after = buildJwksDocument(ring, removedAt, policy);
    expect(JSON.parse(after.body.toString()).keys).toHaveLength(6);
    expect(after.etag).not.toBe(before.etag);
  });

  it('verifies a token signed by what oidc-provider would sign with', async () => {
    const now = T0 + 100 * S;
    const signer = providerKeys(ring, now)[0]!;
    const jwt = await new SignJWT({ sub: 'alice' })
      .setProtectedHeader({ alg: signer.alg, kid: signer.kid })
      .sign(await importJWK(signer, signer.alg));
    const jwks = JSON.parse(buildJwksDocument(ring, now, policy).body.toString());
    const { protectedHeader } = await jwtVerify(jwt, createLocalJWKSet(jwks));
    expect(protectedHeader.kid).toBe(signer.kid);
  });
});

describe('cacheControlFor', () => {
  it('derives every directive from the pre-publication lead', () => {
    expect(cacheControlFor({ prePublication: 80 * S })).toBe(
      'public, max-age=10, stale-while-revalidate=10, stale-if-error=20',
    );
  });

  it('keeps the stalest cached body well inside the lead', () => {
    for (const lead of [8 * S, 60 * S, 3_600 * S, 86_400 * S, 172_800 * S]) {
      const cc = cacheControlFor({ prePublication: lead });
      const n = (name: string) => Number(new RegExp(`${name}=(\\d+)`).exec(cc)![1]) * 1000;
      const stalest = n('max-age') + Math.max(n('stale-while-revalidate'), n('stale-if-error'));
      expect(stalest).toBeLessThanOrEqual((lead * 3) / 8);
      expect(n('max-age')).toBeGreaterThan(0);
      expect(n('max-age')).toBeLessThanOrEqual(3_600_000);
    }
  });

  it('allows no caching for leads under 8 s', () => {
    expect(cacheControlFor({ prePublication: 5 * S })).toBe(
      'public, max-age=0, stale-while-revalidate=0, stale-if-error=0',
    );
  });
});
