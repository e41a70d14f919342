/**
 * Algorithms of the policy that cannot sign yet: added to a ring in use, their first key is
 * published for the pre-publication lead before it may sign. Clients and resource servers
 * configured for one are told so, in words, by the endpoints, `/readyz` and the start log.
 */

import type { SigningAlg } from '../algorithms.js';
import { providerKeys } from './lifecycle.js';
import type { KeyRing } from './types.js';

/** A policy algorithm with no key that may sign at the time asked. */
export interface WaitingAlg {
  alg: SigningAlg;
  /** When its first key starts signing (epoch ms); undefined while it has no key at all. */
  signsFrom: number | undefined;
  /** The sentence for people: what is wrong, until when, and how to sign at once. */
  message: string;
}

/** Every algorithm of `algorithms` that cannot sign at `now` with `ring`. */
export function waitingAlgorithms(
  ring: KeyRing | undefined,
  algorithms: readonly SigningAlg[],
  now: number,
): WaitingAlg[] {
  if (!ring) return [];
  const canSign = new Set(providerKeys(ring, now).map((k) => k.alg));
  return algorithms
    .filter((alg) => !canSign.has(alg))
    .map((alg) => {
      const starts = ring.keys.filter((k) => k.alg === alg).map((k) => k.activateAt);
      const signsFrom = starts.length > 0 ? Math.min(...starts) : undefined;
      const when =
        signsFrom === undefined
          ? 'its first key has not been created yet'
          : `its first key is published and signs from ${new Date(signsFrom).toISOString()} (keys.prePublication)`;
      return {
        alg,
        signsFrom,
        message: `${alg} cannot sign yet: ${when}; to sign with it now, run \`oidc-issuer keys rotate --now --alg ${alg}\``,
      };
    });
}
