/** What a rotation did, for the people and scripts that asked for it (CLI, admin API). */

import type { SigningAlg } from '../algorithms.js';
import { formatDuration } from '../config/duration.js';
import { stateAt } from './lifecycle.js';
import type { KeyRing, RotationPolicy } from './types.js';

/** The outcome of one rotation of one algorithm. Public data only. */
export interface RotationReport {
  alg: SigningAlg;
  /** The key that signs now. */
  activeKid: string;
  /** The key that stopped signing (retiring: still published, still verifies), if any. */
  retiredKid?: string;
  /** How long the key that signs now had been published when it started signing (ms). */
  publishedFor: number;
  /** True when that was less than `keys.prePublication` (`keys rotate --now`). */
  early: boolean;
  /** For an early rotation: which verifiers may reject the new key's tokens, in words. */
  warning?: string;
}

/**
 * The report for the rotation of `alg` that made `ring` (the ring after it), read from the
 * stored timestamps, so it is the same whether this instance or a concurrent one rotated.
 */
export function rotationReport(
  ring: KeyRing,
  alg: SigningAlg,
  now: number,
  policy: Pick<RotationPolicy, 'prePublication'>,
): RotationReport | undefined {
  const active = ring.keys
    .filter((k) => k.alg === alg && stateAt(k, now) === 'active')
    .sort((a, b) => a.activateAt - b.activateAt)
    .pop();
  if (!active) return undefined;
  const retired = ring.keys.find(
    (k) => k.alg === alg && k.kid !== active.kid && k.retireAt === active.activateAt,
  );
  const publishedFor = Math.max(active.activateAt - active.createdAt, 0);
  const early = publishedFor < policy.prePublication;
  return {
    alg,
    activeKid: active.kid,
    ...(retired ? { retiredKid: retired.kid } : {}),
    publishedFor,
    early,
    ...(early ? { warning: earlyRotationWarning(active.kid, publishedFor, policy) } : {}),
  };
}

function earlyRotationWarning(
  kid: string,
  publishedFor: number,
  policy: Pick<RotationPolicy, 'prePublication'>,
): string {
  const age =
    publishedFor < 1000 ? 'under 1s' : formatDuration(Math.round(publishedFor / 1000) * 1000);
  return (
    `${kid} had been published for ${age} when it started signing (keys.prePublication asks ` +
    `for ${formatDuration(policy.prePublication)}): a verifier that fetched the key set before ` +
    `that (${age} ago) and does not refetch on an unknown kid (e.g. Istio, Microsoft.IdentityModel ` +
    'until its next refresh) rejects its tokens until it refreshes; jose, jwks-rsa, go-oidc and ' +
    'Spring refetch and keep working'
  );
}
