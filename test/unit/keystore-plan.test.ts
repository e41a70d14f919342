import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SigningAlg } from '../../src/algorithms.js';
import type { KeyError } from '../../src/errors.js';
import { importKey, revokeKid, rotateNow } from '../../src/keystore/commands.js';
import {
  activeKid,
  mintAhead,
  nextTransitionAt,
  providerKeys,
  publishedKeys,
  stateAt,
} from '../../src/keystore/lifecycle.js';
import { planRing, reassertRing } from '../../src/keystore/plan.js';
import { rotationReport } from '../../src/keystore/rotation-report.js';
import type { FreshKey, SigningJwk } from '../../src/keystore/types.js';
import { byKid, counter, first, policy, S, states, T0 } from '../support/rings.js';

describe('planRing', () => {
  it('creates, on an empty ring, an active key signing at once and a next key per algorithm', () => {
    const ring = first({ ...policy, algorithms: ['RS256', 'ES256'] });
    expect(ring.keys).toHaveLength(4);
    expect(ring.cookieKeys).toEqual(['cookie']);
    for (const alg of ['RS256', 'ES256'] as const) {
      const [active, next] = ring.keys.filter((k) => k.alg === alg);
      expect(active).toMatchObject({
        createdAt: T0,
        activateAt: T0,
        retireAt: T0 + 100 * S,
        removeAt: T0 + 150 * S,
        origin: 'generated',
      });
      expect(next).toMatchObject({
        createdAt: T0,
        activateAt: T0 + 100 * S,
        retireAt: T0 + 200 * S,
        removeAt: T0 + 250 * S,
      });
    }
    expect(activeKid(ring, 'RS256', T0)).toBe(ring.keys.find((k) => k.alg === 'RS256')!.kid);
  });

  it('changes nothing while no transition has passed', () => {
    const ring = first();
    expect(planRing(ring, policy, T0, counter())).toBeUndefined();
    expect(planRing(ring, policy, T0 + 100 * S - mintAhead(policy) - 1, counter())).toBeUndefined();
  });

  it('mints the key after next half a lead before next starts signing', () => {
    const ring = first();
    const [a, b] = ring.keys;
    const at = T0 + 100 * S - mintAhead(policy);
    expect(nextTransitionAt(ring, T0, policy)).toBe(at);
    const planned = planRing(ring, policy, at, counter())!;
    const c = planned.keys.find((k) => k.kid !== a!.kid && k.kid !== b!.kid)!;
    expect(c).toMatchObject({ createdAt: at, activateAt: byKid(planned, b!.kid).retireAt });
    expect(states(planned, at)).toEqual({ [a!.kid]: 'active', [b!.kid]: 'next', [c.kid]: 'next' });
    // At the switch nothing more is minted: the JWKS already held the successor's successor.
    expect(planRing(planned, policy, T0 + 100 * S, counter())).toBeUndefined();
    expect(planRing(planned, policy, at, counter())).toBeUndefined();
  });

  it('mints a fresh next key at the moment the next key becomes active', () => {
    const ring = first();
    const [a, b] = ring.keys;
    const at = T0 + 100 * S;
    const planned = planRing(ring, policy, at, counter())!;
    expect(planned).toBeDefined();
    expect(planned.keys).toHaveLength(3);
    const c = planned.keys.find((k) => k.kid !== a!.kid && k.kid !== b!.kid)!;
    expect(c).toMatchObject({ createdAt: at, activateAt: T0 + 200 * S });
    expect(states(planned, at)).toEqual({
      [a!.kid]: 'retiring',
      [b!.kid]: 'active',
      [c.kid]: 'next',
    });
    // Running again at the same instant (as a losing compare-and-set would) changes nothing.
    expect(planRing(planned, policy, at, counter())).toBeUndefined();
  });

  it('drops keys exactly at removeAt', () => {
    let ring = planRing(first(), policy, T0 + 100 * S, counter())!;
    const old = ring.keys[0]!;
    expect(planRing(ring, policy, old.removeAt - 1, counter())).toBeUndefined();
    ring = planRing(ring, policy, old.removeAt, counter())!;
    expect(ring.keys.map((k) => k.kid)).not.toContain(old.kid);
  });

  it('keeps the signer signing until a late-minted next key has been published long enough', () => {
    const ring = first();
    const b = ring.keys[1]!;
    const late = T0 + 190 * S; // nobody planned at T0 + 100 s
    const planned = planRing(ring, policy, late, counter())!;
    expect(byKid(planned, b.kid).retireAt).toBe(late + 20 * S);
    const c = planned.keys.find((k) => k.createdAt === late)!;
    expect(c.activateAt).toBe(late + 20 * S);
  });

  it('after a lapse keeps the last signer (still published) signing, then its successor', () => {
    const ring = first();
    const b = ring.keys[1]!;
    const lapse = T0 + 210 * S; // b retired at 200 s with no successor
    expect(providerKeys(ring, lapse)[0]!.kid).toBe(b.kid);
    const planned = planRing(ring, policy, lapse, counter())!;
    expect(stateAt(byKid(planned, b.kid), lapse)).toBe('active');
    expect(byKid(planned, b.kid).retireAt).toBe(lapse + 20 * S);
  });

  it('keeps an algorithm dropped from the policy until its keys retire, without new keys', () => {
    let ring = first({ ...policy, algorithms: ['RS256', 'ES256'] });
    const es = ring.keys.filter((k) => k.alg === 'ES256').map((k) => k.kid);
    const rsOnly = { ...policy, algorithms: ['RS256'] as SigningAlg[] };
    const fresh = counter();
    for (let t = T0; t <= T0 + 300 * S; t += 10 * S) {
      ring = planRing(ring, rsOnly, t, fresh) ?? ring;
      const esNow = ring.keys.filter((k) => k.alg === 'ES256').map((k) => k.kid);
      expect(es).toEqual(expect.arrayContaining(esNow));
    }
    expect(ring.keys.some((k) => k.alg === 'ES256')).toBe(false);
  });

  it('pre-publishes the first key of an algorithm added to a live ring', () => {
    const ring = first();
    const both = { ...policy, algorithms: ['RS256', 'ES256'] as SigningAlg[] };
    const now = T0 + 5 * S;
    const planned = planRing(ring, both, now, counter())!;
    const es = planned.keys.filter((k) => k.alg === 'ES256');
    expect(es).toHaveLength(1);
    expect(es[0]!.activateAt).toBe(now + 20 * S);
    expect(publishedKeys(planned, now).map((k) => k.kid)).toContain(es[0]!.kid);
    // Not handed to oidc-provider, which would sign with it, until it is active.
    expect(providerKeys(planned, now).some((k) => k.alg === 'ES256')).toBe(false);
    expect(providerKeys(planned, now + 20 * S)[1]).toMatchObject({ kid: es[0]!.kid });
  });
});

describe('rotateNow', () => {
  it('refuses while next has been published for less than the lead, saying when it can', () => {
    const ring = first();
    expect(rotateNow(ring, 'RS256', T0 + 20 * S - 1, policy, counter())).toEqual({
      rotated: false,
      notBefore: T0 + 20 * S,
    });
  });

  it('promotes next, retires active for the retention and mints one fresh next', () => {
    const ring = first();
    const [a, b] = ring.keys;
    const now = T0 + 20 * S;
    const outcome = rotateNow(ring, 'RS256', now, policy, counter());
    if (!outcome.rotated) throw new Error('expected a rotation');
    const r = outcome.ring;
    expect(outcome.activeKid).toBe(b!.kid);
    expect(byKid(r, a!.kid)).toMatchObject({ retireAt: now, removeAt: now + 50 * S });
    expect(byKid(r, b!.kid)).toMatchObject({ activateAt: now, retireAt: now + 100 * S });
    const fresh = r.keys.filter((k) => k.kid !== a!.kid && k.kid !== b!.kid);
    expect(fresh).toHaveLength(1);
    expect(fresh[0]).toMatchObject({ createdAt: now, activateAt: now + 100 * S });
    expect(providerKeys(r, now)[0]!.kid).toBe(b!.kid);
  });

  it('is pure: the same inputs give the same ring', () => {
    const ring = first();
    const snapshot = structuredClone(ring);
    const fixed: FreshKey = (alg) =>
      ({ kty: 'OKP', kid: `fixed-${alg}`, alg, use: 'sig' }) as SigningJwk;
    const x = rotateNow(ring, 'RS256', T0 + 30 * S, policy, fixed);
    const y = rotateNow(ring, 'RS256', T0 + 30 * S, policy, fixed);
    expect(x).toEqual(y);
    expect(ring).toEqual(snapshot);
  });

  it('early: promotes a next key younger than the lead, reporting how long it was published', () => {
    const ring = first();
    const [a, b] = ring.keys;
    const now = T0 + 3 * S;
    const outcome = rotateNow(ring, 'RS256', now, policy, counter(), { early: true });
    if (!outcome.rotated) throw new Error('expected a rotation');
    expect(outcome.activeKid).toBe(b!.kid);
    expect(rotationReport(outcome.ring, 'RS256', now, policy)).toMatchObject({
      activeKid: b!.kid,
      retiredKid: a!.kid,
      publishedFor: 3 * S,
    });
    expect(providerKeys(outcome.ring, now)[0]!.kid).toBe(b!.kid);
    expect(byKid(outcome.ring, a!.kid)).toMatchObject({ retireAt: now, removeAt: now + 50 * S });
    // The fresh next still gets the whole lead before it signs.
    const fresh = outcome.ring.keys.find((k) => k.kid !== a!.kid && k.kid !== b!.kid)!;
    expect(fresh.activateAt - fresh.createdAt).toBeGreaterThanOrEqual(policy.prePublication);
  });

  it('early: lets an algorithm that cannot sign yet sign at once', () => {
    const two = { ...policy, algorithms: ['RS256', 'ES256'] as SigningAlg[] };
    const added = planRing(first(), two, T0 + 5 * S, counter())!;
    expect(activeKid(added, 'ES256', T0 + 5 * S)).toBeUndefined();
    const outcome = rotateNow(added, 'ES256', T0 + 6 * S, two, counter(), { early: true });
    if (!outcome.rotated) throw new Error('expected a rotation');
    expect(rotationReport(outcome.ring, 'ES256', T0 + 6 * S, two)?.retiredKid).toBeUndefined();
    expect(activeKid(outcome.ring, 'ES256', T0 + 6 * S)).toBe(outcome.activeKid);
  });

  it('fails with NO_NEXT_KEY for an algorithm without a waiting key', () => {
    expect(() => rotateNow(first(), 'ES256', T0, policy, counter())).toThrow(
      expect.objectContaining({ code: 'NO_NEXT_KEY' }),
    );
  });
});

describe('revokeKid', () => {
  it('revoking the signer promotes a young next at once and mints a fresh next', () => {
    const ring = first();
    const [a, b] = ring.keys;
    const now = T0 + S;
    const r = revokeKid(ring, a!.kid, now, policy, counter())!;
    expect(r.keys.map((k) => k.kid)).not.toContain(a!.kid);
    expect(r.revokedKids).toEqual([a!.kid]);
    expect(byKid(r, b!.kid)).toMatchObject({ activateAt: now, retireAt: now + 100 * S });
    expect(providerKeys(r, now)[0]!.kid).toBe(b!.kid);
    expect(r.keys.filter((k) => stateAt(k, now) === 'next')).toHaveLength(1);
  });

  it('revoking next unpublishes it and mints a fresh next no sooner than the lead', () => {
    const ring = first();
    const [a, b] = ring.keys;
    const now = T0 + 90 * S;
    const r = revokeKid(ring, b!.kid, now, policy, counter())!;
    const next = r.keys.find((k) => stateAt(k, now) === 'next')!;
    expect(next.kid).not.toBe(b!.kid);
    expect(next.activateAt).toBe(now + 20 * S);
    expect(byKid(r, a!.kid).retireAt).toBe(now + 20 * S);
  });

  it('revoking a retiring key only removes it, and an unknown kid changes nothing', () => {
    const ring = planRing(first(), policy, T0 + 100 * S, counter())!;
    const a = ring.keys[0]!;
    const r = revokeKid(ring, a.kid, T0 + 110 * S, policy, counter())!;
    expect(r.keys).toHaveLength(2);
    expect(revokeKid(r, a.kid, T0 + 110 * S, policy, counter())).toBeUndefined();
  });
});

describe('importKey', () => {
  const jwk = { kty: 'OKP', kid: 'imported', alg: 'RS256', use: 'sig' } as SigningJwk;

  it('enters as next, replacing the waiting key, no sooner than the lead', () => {
    const ring = first();
    const [a, b] = ring.keys;
    const now = T0 + 95 * S;
    const r = importKey(ring, jwk, now, policy, {}, counter());
    expect(r.keys.map((k) => k.kid)).not.toContain(b!.kid);
    expect(byKid(r, 'imported')).toMatchObject({
      origin: 'imported',
      createdAt: now,
      activateAt: now + 20 * S,
    });
    expect(byKid(r, a!.kid).retireAt).toBe(now + 20 * S);
  });

  it('with activateNow signs at once; the old signer retires and next waits its turn', () => {
    const ring = first();
    const [a, b] = ring.keys;
    const now = T0 + 10 * S;
    const r = importKey(ring, jwk, now, policy, { activateNow: true }, counter());
    expect(providerKeys(r, now)[0]!.kid).toBe('imported');
    expect(stateAt(byKid(r, a!.kid), now)).toBe('retiring');
    expect(byKid(r, b!.kid).activateAt).toBe(now + 100 * S);
  });

  it('refuses a kid already present, a revoked kid, and an algorithm outside the policy', () => {
    const ring = first();
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as KeyError).code;
      }
      return 'none';
    };
    const a = ring.keys[0]!;
    expect(code(() => importKey(ring, { ...jwk, kid: a.kid }, T0, policy, {}, counter()))).toBe(
      'KID_EXISTS',
    );
    const revoked = revokeKid(ring, a.kid, T0, policy, counter())!;
    expect(code(() => importKey(revoked, { ...jwk, kid: a.kid }, T0, policy, {}, counter()))).toBe(
      'KID_REVOKED',
    );
    expect(code(() => importKey(ring, { ...jwk, alg: 'ES256' }, T0, policy, {}, counter()))).toBe(
      'ALG_NOT_IN_POLICY',
    );
  });
});

describe('reassertRing', () => {
  it('keeps the held signer and leaves keys only the store knows published as retiring', () => {
    const held = first();
    let n = 0;
    const others: FreshKey = (alg) =>
      ({ kty: 'OKP', kid: `other-${++n}`, alg, use: 'sig' }) as SigningJwk;
    const stranger = first(policy, T0 + 5 * S, others);
    const now = T0 + 10 * S;
    const merged = reassertRing(held, stranger, now, policy);
    expect(planRing(merged, policy, now, counter())).toBeUndefined();
    expect(providerKeys(merged, now)[0]!.kid).toBe(held.keys[0]!.kid);
    const other = byKid(merged, 'other-1');
    expect(stateAt(other, now)).toBe('retiring');
    expect(other.removeAt).toBe(now + 50 * S);
    expect(merged.version).toBe(Math.max(held.version, stranger.version));
  });
});

describe('invariants under any sequence of operations', () => {
  type Op =
    | { kind: 'wait'; ms: number }
    | { kind: 'rotate' }
    | { kind: 'revoke'; which: number }
    | { kind: 'import'; activateNow: boolean };

  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 1, max: 120 * S }) }),
    fc.record({ kind: fc.constant('rotate' as const) }),
    fc.record({ kind: fc.constant('revoke' as const), which: fc.nat(5) }),
    fc.record({ kind: fc.constant('import' as const), activateNow: fc.boolean() }),
  );

  it('always one signer, one next, unique kids, and every signer published for the retention', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const fresh = counter();
        let imported = 0;
        let now = T0;
        let ring = first(policy, now, fresh);
        const signedUntil = new Map<string, number>();
        const revoked = new Set<string>();
        const check = () => {
          const keys = providerKeys(ring, now);
          const signer = keys[0]!;
          expect(stateAt(byKid(ring, signer.kid), now)).toBe('active');
          signedUntil.set(signer.kid, now);
          const states = publishedKeys(ring, now).map((k) => k.state);
          expect(states.filter((s) => s === 'active')).toHaveLength(1);
          // One key waits; a second (its successor) only within `mintAhead` of the first's turn.
          const waiting = publishedKeys(ring, now).filter((k) => k.state === 'next');
          expect(waiting.length).toBeGreaterThanOrEqual(1);
          expect(waiting.length).toBeLessThanOrEqual(2);
          if (waiting.length === 2)
            expect(waiting[0]!.activateAt - now).toBeLessThanOrEqual(mintAhead(policy));
          expect(new Set(ring.keys.map((k) => k.kid)).size).toBe(ring.keys.length);
          const published = new Set(publishedKeys(ring, now).map((k) => k.kid));
          for (const [kid, last] of signedUntil) {
            if (!revoked.has(kid) && now < last + policy.retention) {
              expect(published.has(kid)).toBe(true);
            }
          }
        };
        for (const o of ops) {
          if (o.kind === 'wait') {
            // Instances plan at every transition, so step through them.
            const end = now + o.ms;
            for (let t = nextTransitionAt(ring, now, policy); t !== undefined && t <= end; ) {
              now = t;
              ring = planRing(ring, policy, now, fresh) ?? ring;
              check();
              t = nextTransitionAt(ring, now, policy);
            }
            now = end;
          } else if (o.kind === 'rotate') {
            const out = rotateNow(ring, 'RS256', now, policy, fresh);
            if (out.rotated) ring = out.ring;
          } else if (o.kind === 'revoke') {
            const kid = publishedKeys(ring, now)[o.which % ring.keys.length]?.kid;
            if (kid) {
              ring = revokeKid(ring, kid, now, policy, fresh) ?? ring;
              revoked.add(kid);
            }
          } else {
            const jwk = { kty: 'OKP', kid: `imp-${++imported}`, alg: 'RS256', use: 'sig' };
            ring = importKey(ring, jwk as SigningJwk, now, policy, o, fresh);
          }
          check();
        }
      }),
      { numRuns: 300 },
    );
  });
});
