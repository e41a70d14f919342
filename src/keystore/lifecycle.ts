/**
 * Read-only views of a key ring at a given instant. Every instance computes the same states
 * from the same ring, because a key's state is derived from the timestamps stored with it and
 * never from when an instance happened to look. The updaters are in plan.ts.
 */
import { SIGNING_ALGS, type SigningAlg } from '../algorithms.js';
import type { KeyEntry, KeyRing, KeyState, KeyView, RotationPolicy, SigningJwk } from './types.js';

/** The state of `key` at `now` (ms), derived from its stored timestamps. */
export function stateAt(
  key: Pick<KeyEntry, 'activateAt' | 'retireAt' | 'removeAt'>,
  now: number,
): KeyState {
  if (now < key.activateAt) return 'next';
  if (now < key.retireAt) return 'active';
  if (now < key.removeAt) return 'retiring';
  return 'removed';
}

/** Orders keys by activation time, then kid. */
export const byActivation = (a: KeyEntry, b: KeyEntry) =>
  a.activateAt - b.activateAt || (a.kid < b.kid ? -1 : a.kid > b.kid ? 1 : 0);

const algRank = (alg: SigningAlg) => {
  const i = SIGNING_ALGS.indexOf(alg);
  return i < 0 ? SIGNING_ALGS.length : i;
};

/** Stable storage order: by algorithm, then activation time, then kid. */
export const byAlgThenActivation = (a: KeyEntry, b: KeyEntry) =>
  algRank(a.alg) - algRank(b.alg) || byActivation(a, b);

/**
 * A string that changes whenever the ring's content changes (keys, their timestamps, cookie
 * keys, revocations), ignoring `version` and `updatedAt`.
 */
export function ringFingerprint(ring: KeyRing | undefined): string {
  if (!ring) return '';
  const keys = [...ring.keys]
    .sort((a, b) => (a.kid < b.kid ? -1 : a.kid > b.kid ? 1 : 0))
    .map((k) => [k.kid, k.alg, k.createdAt, k.activateAt, k.retireAt, k.removeAt, k.origin]);
  return JSON.stringify([keys, ring.cookieKeys, ring.revokedKids ?? []]);
}

/**
 * How long before a `next` key starts signing the key after it is minted: half the
 * pre-publication lead. A verifier that refetches the JWKS the moment it meets the new signer's
 * kid then finds its successor too, and that successor is still published for a whole rotation
 * period (≥ the lead) before it signs.
 */
export function mintAhead(policy: Pick<RotationPolicy, 'prePublication'>): number {
  return Math.floor(policy.prePublication / 2);
}

/**
 * The earliest time after `now` at which some key changes state (a stored timestamp) or, with
 * `policy`, at which a waiting key's successor is due to be minted (see `mintAhead`).
 */
export function nextTransitionAt(
  ring: KeyRing | undefined,
  now: number,
  policy?: Pick<RotationPolicy, 'prePublication'>,
): number | undefined {
  let next: number | undefined;
  const consider = (t: number) => {
    if (t > now && (next === undefined || t < next)) next = t;
  };
  for (const k of ring?.keys ?? []) {
    consider(k.activateAt);
    consider(k.retireAt);
    consider(k.removeAt);
    if (policy) consider(k.activateAt - mintAhead(policy));
  }
  return next;
}

/** Every key still published at `now`, with its state, by algorithm, activation and kid. */
export function publishedKeys(ring: KeyRing | undefined, now: number): KeyView[] {
  return (ring?.keys ?? [])
    .map((k) => ({ ...k, state: stateAt(k, now) }))
    .filter((k) => k.state !== 'removed')
    .sort(byAlgThenActivation);
}

const STATE_RANK: Record<KeyState, number> = { active: 0, next: 1, retiring: 2, removed: 3 };

/**
 * The private JWKs to configure oidc-provider with at `now`: active keys first, then `next`,
 * then retiring (newest first), each with `kid`, `alg` and `use: "sig"`. oidc-provider signs
 * with the first key of an algorithm, so the active key signs; if an instance cut off from the
 * store lets an active key lapse, the newest retiring key (still published) keeps signing.
 * An algorithm whose keys are all still `next` (newly added, not yet pre-published long
 * enough) is left out so oidc-provider cannot sign with it early.
 */
export function providerKeys(ring: KeyRing | undefined, now: number): SigningJwk[] {
  const views = publishedKeys(ring, now);
  const canSign = new Set(views.filter((k) => k.state !== 'next').map((k) => k.alg));
  return views
    .filter((k) => canSign.has(k.alg))
    .sort((a, b) => {
      const byState = STATE_RANK[a.state] - STATE_RANK[b.state];
      if (byState !== 0) return byState;
      const byAlg = algRank(a.alg) - algRank(b.alg);
      if (byAlg !== 0) return byAlg;
      return a.state === 'retiring' ? byActivation(b, a) : byActivation(a, b);
    })
    .map((k) => ({ ...k.privateJwk, kid: k.kid, alg: k.alg, use: 'sig' as const }));
}

/** The kid that signs for `alg` at `now`, if any. */
export function activeKid(
  ring: KeyRing | undefined,
  alg: SigningAlg,
  now: number,
): string | undefined {
  return providerKeys(ring, now).find((k) => k.alg === alg)?.kid;
}
