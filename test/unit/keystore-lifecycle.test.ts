import { describe, expect, it } from 'vitest';
import type { SigningAlg } from '../../src/algorithms.js';
import { rotateNow } from '../../src/keystore/commands.js';
import { nextTransitionAt, providerKeys, stateAt } from '../../src/keystore/lifecycle.js';
import { planRing } from '../../src/keystore/plan.js';
import { byKid, counter, first, policy, S, T0 } from '../support/rings.js';

describe('stateAt', () => {
  const key = { activateAt: 10, retireAt: 20, removeAt: 30 };
  it.each([
    [9, 'next'],
    [10, 'active'],
    [19, 'active'],
    [20, 'retiring'],
    [29, 'retiring'],
    [30, 'removed'],
  ])('at %i is %s', (now, state) => {
    expect(stateAt(key, now)).toBe(state);
  });
});

describe('nextTransitionAt, publishedKeys and providerKeys', () => {
  it('finds the earliest future timestamp', () => {
    const ring = first();
    expect(nextTransitionAt(undefined, T0)).toBeUndefined();
    expect(nextTransitionAt(ring, T0)).toBe(T0 + 100 * S);
    expect(nextTransitionAt(ring, T0 + 100 * S)).toBe(T0 + 150 * S);
    expect(nextTransitionAt(ring, T0 + 250 * S)).toBeUndefined();
  });

  it('orders keys active, next, retiring (newest first), each with kid, alg and use', () => {
    const p = { ...policy, algorithms: ['ES256', 'RS256'] as SigningAlg[] };
    const fresh = counter();
    const outcome = rotateNow(
      planRing(first(p), p, T0 + 100 * S, fresh)!,
      'RS256',
      T0 + 120 * S,
      p,
      fresh,
    );
    if (!outcome.rotated) throw new Error('expected a rotation');
    const now = T0 + 120 * S;
    const keys = providerKeys(outcome.ring, now);
    const order = keys.map((k) => {
      const entry = byKid(outcome.ring, k.kid);
      return `${stateAt(entry, now)}:${k.alg}:${entry.activateAt}`;
    });
    expect(order).toEqual([
      `active:RS256:${T0 + 120 * S}`,
      `active:ES256:${T0 + 100 * S}`,
      `next:RS256:${T0 + 220 * S}`,
      `next:ES256:${T0 + 200 * S}`,
      `retiring:RS256:${T0 + 100 * S}`,
      `retiring:RS256:${T0}`,
      `retiring:ES256:${T0}`,
    ]);
    for (const k of keys) expect(k).toMatchObject({ use: 'sig', kid: expect.any(String) });
  });
});
