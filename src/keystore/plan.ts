/**
 * The plan every instance applies on its own: pure functions of (ring, policy, now) that bring
 * the ring up to date (`planRing`) or write it back after the store lost data (`reassertRing`).
 * Every instance plans the same ring from the same input, so any of them may write it. The
 * operator's commands (rotate, revoke, import) are in commands.ts.
 *
 * Updaters never generate keys themselves: they take fresh candidates through a `FreshKey`
 * callback, so they can run again on another writer's ring under compare-and-set.
 */
import { randomBytes } from 'node:crypto';
import type { SigningAlg } from '../algorithms.js';
import { byActivation, byAlgThenActivation, mintAhead, ringFingerprint } from './lifecycle.js';
import type { FreshKey, KeyEntry, KeyRing, RotationPolicy, SigningJwk } from './types.js';

/** A new random secret for oidc-provider's cookie signing. */
function randomCookieKey(): string {
  return randomBytes(32).toString('base64url');
}

/** Let `key` sign from `activateAt` for a full rotation period, published for the retention after. */
export function schedule(key: KeyEntry, activateAt: number, policy: RotationPolicy): void {
  key.activateAt = activateAt;
  key.retireAt = activateAt + policy.rotationPeriod;
  key.removeAt = key.retireAt + policy.retention;
}

/** A key entering the ring at `now` (published from then) that signs from `activateAt`. */
export function newEntry(
  jwk: SigningJwk,
  origin: KeyEntry['origin'],
  now: number,
  activateAt: number,
  policy: RotationPolicy,
): KeyEntry {
  const entry: KeyEntry = {
    kid: jwk.kid,
    alg: jwk.alg,
    privateJwk: jwk,
    createdAt: now,
    activateAt,
    retireAt: 0,
    removeAt: 0,
    origin,
  };
  schedule(entry, activateAt, policy);
  return entry;
}

/** Keep `key` signing until `until`, and published for the retention after that. */
function extendSigning(key: KeyEntry, until: number, policy: RotationPolicy): void {
  key.retireAt = until;
  key.removeAt = Math.max(key.removeAt, until + policy.retention);
}

/** Stop `key` signing at `now`; it stays published for the retention. */
export function demote(key: KeyEntry, now: number, policy: RotationPolicy): void {
  key.retireAt = now;
  key.removeAt = now + policy.retention;
}

/** Copies of the keys of `ring` not yet removed at `now`, for an updater to change. */
export function liveKeys(ring: KeyRing | undefined, now: number): KeyEntry[] {
  return (ring?.keys ?? []).filter((k) => k.removeAt > now).map((k) => ({ ...k }));
}

/**
 * One algorithm's keys brought up to date. Invariant kept: each key retires exactly when its
 * successor activates, so there is always exactly one signer and, for a policy algorithm, one
 * `next` waiting.
 */
function planAlg(
  keys: KeyEntry[],
  alg: SigningAlg,
  inPolicy: boolean,
  emptyRing: boolean,
  policy: RotationPolicy,
  now: number,
  fresh: FreshKey,
): KeyEntry[] {
  if (keys.length === 0) {
    if (!inPolicy) return [];
    if (emptyRing) {
      // Nothing has ever been published, so no verifier can be missing this key: sign at once.
      const first = newEntry(fresh(alg), 'generated', now, now, policy);
      return [first, newEntry(fresh(alg), 'generated', now, first.retireAt, policy)];
    }
    // A new algorithm on a live ring is published first; it signs after the lead.
    return [newEntry(fresh(alg), 'generated', now, now + policy.prePublication, policy)];
  }
  const sorted = [...keys].sort(byActivation);
  const waiting = sorted.filter((k) => k.activateAt > now);
  const started = sorted.filter((k) => k.activateAt <= now);
  // The key that signs now; after a lapse (nobody updated the ring for a whole period) the
  // most recently active one, which is still published.
  const signer = started.filter((k) => k.retireAt > now).pop() ?? started.pop();
  const successor = waiting[0];
  if (successor) {
    // Whatever signs now must keep signing until its successor takes over.
    if (signer && signer.retireAt < successor.activateAt) {
      extendSigning(signer, successor.activateAt, policy);
    }
    // Shortly before the successor takes over, mint the key after it, so the JWKS a verifier
    // fetches on first meeting the successor's kid already holds the one that follows.
    if (inPolicy && waiting.length === 1 && successor.activateAt - now <= mintAhead(policy)) {
      return [...sorted, newEntry(fresh(alg), 'generated', now, successor.retireAt, policy)];
    }
    return sorted;
  }
  if (!inPolicy || !signer) return sorted;
  // Mint the signer's successor, never sooner than the lead allows.
  const activateAt = Math.max(signer.retireAt, now + policy.prePublication);
  if (activateAt > signer.retireAt) extendSigning(signer, activateAt, policy);
  return [...sorted, newEntry(fresh(alg), 'generated', now, activateAt, policy)];
}

/** A ring like `ring` (cookie keys, revocations) holding `keys`, in storage order. */
export function withKeys(ring: KeyRing | undefined, keys: KeyEntry[], now: number): KeyRing {
  const out: KeyRing = {
    version: ring?.version ?? 0,
    updatedAt: now,
    keys: [...keys].sort(byAlgThenActivation),
    cookieKeys: ring?.cookieKeys ?? [],
  };
  if (ring?.revokedKids?.length) out.revokedKids = [...ring.revokedKids];
  return out;
}

/**
 * The ring brought up to date at `now`, or `undefined` when nothing changes:
 * - an empty ring gets, per policy algorithm, an active key that signs at once and a `next`;
 * - a policy algorithm missing from a live ring gets a `next` (it signs after the lead);
 * - half a pre-publication lead before an algorithm's `next` key starts signing, the key after
 *   it is minted (`mintAhead`), activating when that `next` retires;
 * - whenever an algorithm's newest key has become active anyway (nobody planned in time), a
 *   fresh `next` is minted that activates when the active key retires (never sooner than
 *   `prePublication` from now; the active key keeps signing until then);
 * - keys past `removeAt` are dropped;
 * - an algorithm no longer in the policy keeps its keys until they retire and are removed,
 *   without new ones.
 * At least one cookie key is kept.
 */
export function planRing(
  ring: KeyRing | undefined,
  policy: RotationPolicy,
  now: number,
  fresh: FreshKey,
  freshCookieKey: () => string = randomCookieKey,
): KeyRing | undefined {
  const live = liveKeys(ring, now);
  const emptyRing = live.length === 0;
  const algs = [...new Set<SigningAlg>([...policy.algorithms, ...live.map((k) => k.alg)])];
  const keys: KeyEntry[] = [];
  for (const alg of algs) {
    const mine = live.filter((k) => k.alg === alg);
    keys.push(
      ...planAlg(mine, alg, policy.algorithms.includes(alg), emptyRing, policy, now, fresh),
    );
  }
  const next = withKeys(ring, keys, now);
  if (next.cookieKeys.length === 0) next.cookieKeys = [freshCookieKey()];
  if (ring && ringFingerprint(ring) === ringFingerprint(next)) return undefined;
  return next;
}

/**
 * The ring `held` in memory, to write back over `stored` after the store lost data (restarted
 * without persistence, or restored from an older snapshot). `held` decides who signs; every
 * key only `stored` knows stays published (retiring from `now`, for the retention), because an
 * instance may already have signed with it. Revocations from both are kept.
 */
export function reassertRing(
  held: KeyRing,
  stored: KeyRing | undefined,
  now: number,
  policy: RotationPolicy,
): KeyRing {
  const revoked = [...new Set([...(held.revokedKids ?? []), ...(stored?.revokedKids ?? [])])];
  const keys = held.keys.filter((k) => !revoked.includes(k.kid)).map((k) => ({ ...k }));
  const heldKids = new Set(held.keys.map((k) => k.kid));
  for (const k of stored?.keys ?? []) {
    if (heldKids.has(k.kid) || revoked.includes(k.kid) || k.removeAt <= now) continue;
    const retired = k.retireAt <= now;
    keys.push({
      ...k,
      activateAt: Math.min(k.activateAt, now),
      retireAt: Math.min(k.retireAt, now),
      removeAt: retired ? k.removeAt : now + policy.retention,
    });
  }
  const merged = withKeys(held, keys, now);
  merged.version = Math.max(held.version, stored?.version ?? 0);
  merged.cookieKeys = [...new Set([...held.cookieKeys, ...(stored?.cookieKeys ?? [])])];
  if (revoked.length > 0) merged.revokedKids = revoked;
  return merged;
}
