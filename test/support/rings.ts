/** Key rings for the pure lifecycle tests: a policy in seconds and readable candidate keys. */

import type { SigningAlg } from '../../src/algorithms.js';
import { publishedKeys } from '../../src/keystore/lifecycle.js';
import { planRing } from '../../src/keystore/plan.js';
import type { FreshKey, KeyRing, RotationPolicy, SigningJwk } from '../../src/keystore/types.js';

export const S = 1000;
export const T0 = 1_700_000_000_000;
export const policy: RotationPolicy = {
  algorithms: ['RS256'],
  rotationPeriod: 100 * S,
  prePublication: 20 * S,
  retention: 50 * S,
};

let minted = 0;
/** Candidate keys with readable, unique kids; the policy never looks inside a JWK. */
export function counter(): FreshKey {
  const n = minted;
  minted += 1000;
  return (alg: SigningAlg) =>
    ({
      kty: 'OKP',
      crv: 'Ed25519',
      x: 'x',
      d: 'd',
      kid: `${alg}-${n + ++minted}`,
      alg,
      use: 'sig',
    }) as SigningJwk;
}

export function first(p = policy, now = T0, fresh = counter()): KeyRing {
  const ring = planRing(undefined, p, now, fresh, () => 'cookie');
  if (!ring) throw new Error('expected a ring');
  return ring;
}

export const byKid = (ring: KeyRing, kid: string) => {
  const k = ring.keys.find((e) => e.kid === kid);
  if (!k) throw new Error(`no ${kid}`);
  return k;
};
export const states = (ring: KeyRing, now: number) =>
  Object.fromEntries(publishedKeys(ring, now).map((k) => [k.kid, k.state]));
