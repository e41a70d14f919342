/**
 * The operator's commands on a key ring as pure updaters: a rotation, an emergency revocation,
 * an import. Like planRing (plan.ts) they take fresh candidates through a `FreshKey` callback,
 * so they can run again on another writer's ring under compare-and-set; rotation.ts runs them
 * through the store.
 */

import type { SigningAlg } from '../algorithms.js';
import { KeyError } from '../errors.js';
import { byActivation, stateAt } from './lifecycle.js';
import { demote, liveKeys, newEntry, planRing, schedule, withKeys } from './plan.js';
import type { FreshKey, KeyEntry, KeyRing, RotationPolicy, SigningJwk } from './types.js';

/** The outcome of `rotateNow`: either the rotated ring, or when the rotation becomes safe. */
export type RotateOutcome =
  | {
      rotated: true;
      ring: KeyRing;
      /** The key that signs now (what else the rotation did: rotation-report.ts). */
      activeKid: string;
    }
  | { rotated: false; notBefore: number };

/** How a rotation may be done. */
export interface RotateOptions {
  /**
   * Promote `next` even when it has been published for less than `prePublication` (a drill, or
   * an algorithm that cannot sign yet). Verifiers that fetched the key set before `next` was
   * published and do not refetch on an unknown kid reject the new key's tokens until they
   * refresh.
   */
  early?: boolean;
}

/**
 * A rotation of `alg` at `now`: `next` starts signing, the active key retires (kept published
 * for the retention) and a fresh `next` is minted. Refused (with `notBefore`) while `next` has
 * been published for less than `prePublication`, unless `options.early`.
 * @throws KeyError `NO_NEXT_KEY` when `alg` has no waiting key.
 */
export function rotateNow(
  ring: KeyRing,
  alg: SigningAlg,
  now: number,
  policy: RotationPolicy,
  fresh: FreshKey,
  options: RotateOptions = {},
): RotateOutcome {
  const keys = liveKeys(ring, now);
  const next = keys
    .filter((k) => k.alg === alg && stateAt(k, now) === 'next')
    .sort(byActivation)[0];
  if (!next) throw new KeyError('NO_NEXT_KEY', `no ${alg} key is waiting to take over`);
  const readyAt = next.createdAt + policy.prePublication;
  if (readyAt > now && !options.early) return { rotated: false, notBefore: readyAt };
  for (const k of keys) {
    if (k.alg === alg && stateAt(k, now) === 'active') demote(k, now, policy);
  }
  schedule(next, now, policy);
  const rotated = withKeys(ring, keys, now);
  return {
    rotated: true,
    ring: planRing(rotated, policy, now, fresh) ?? rotated,
    activeKid: next.kid,
  };
}

/**
 * An emergency revocation of `kid` at `now`: the key is unpublished at once; if it was the
 * signer, its `next` (already published) signs at once however young it is, and a fresh `next`
 * is minted. Returns `undefined` when `kid` is not in the ring (already revoked).
 */
export function revokeKid(
  ring: KeyRing,
  kid: string,
  now: number,
  policy: RotationPolicy,
  fresh: FreshKey,
): KeyRing | undefined {
  const target = ring.keys.find((k) => k.kid === kid);
  if (!target) return undefined;
  const keys = liveKeys(ring, now).filter((k) => k.kid !== kid);
  if (stateAt(target, now) === 'active') {
    const next = keys
      .filter((k) => k.alg === target.alg && stateAt(k, now) === 'next')
      .sort(byActivation)[0];
    if (next) schedule(next, now, policy);
  }
  const revoked = withKeys(ring, keys, now);
  revoked.revokedKids = [...(ring.revokedKids ?? []), kid];
  return planRing(revoked, policy, now, fresh) ?? revoked;
}

/** How an imported key enters the ring. */
export interface ImportOptions {
  /**
   * Sign with it at once (for a key verifiers already know). Otherwise it replaces the
   * waiting `next` and signs after the pre-publication lead, when the active key retires.
   */
  activateNow?: boolean;
}

/**
 * The ring with `jwk` (a normalized private JWK, see import.ts) added at `now`.
 * @throws KeyError `KID_EXISTS`, `KID_REVOKED`, `ALG_NOT_IN_POLICY`.
 */
export function importKey(
  ring: KeyRing,
  jwk: SigningJwk,
  now: number,
  policy: RotationPolicy,
  options: ImportOptions,
  fresh: FreshKey,
): KeyRing {
  if (ring.keys.some((k) => k.kid === jwk.kid)) {
    throw new KeyError('KID_EXISTS', `key ${jwk.kid} is already in the key ring`);
  }
  if (ring.revokedKids?.includes(jwk.kid)) {
    throw new KeyError('KID_REVOKED', `key ${jwk.kid} was revoked and cannot be used again`);
  }
  if (!policy.algorithms.includes(jwk.alg)) {
    throw new KeyError(
      'ALG_NOT_IN_POLICY',
      `${jwk.alg} is not one of the configured algorithms (${policy.algorithms.join(', ')})`,
    );
  }
  const live = liveKeys(ring, now);
  const isWaiting = (k: KeyEntry) => k.alg === jwk.alg && stateAt(k, now) === 'next';
  const signer = live
    .filter((k) => k.alg === jwk.alg && stateAt(k, now) === 'active')
    .sort(byActivation)
    .pop();
  let keys: KeyEntry[];
  if (options.activateNow) {
    const imported = newEntry(jwk, 'imported', now, now, policy);
    if (signer) demote(signer, now, policy);
    // The first waiting key stays (it is already published) and follows the imported one; a
    // key minted ahead after it never signed, so it is dropped and minted again in time.
    const [following, ...ahead] = live.filter(isWaiting).sort(byActivation);
    if (following) {
      schedule(following, Math.max(following.activateAt, imported.retireAt), policy);
    }
    keys = [...live.filter((k) => !ahead.includes(k)), imported];
  } else {
    // The waiting key never signed, so unpublishing it is safe; the imported key takes its turn.
    const activateAt = Math.max(now + policy.prePublication, signer?.retireAt ?? 0);
    keys = [
      ...live.filter((k) => !isWaiting(k)),
      newEntry(jwk, 'imported', now, activateAt, policy),
    ];
  }
  const imported = withKeys(ring, keys, now);
  return planRing(imported, policy, now, fresh) ?? imported;
}
