/**
 * The key lifecycle as pure functions of (ring, policy, now). Every instance computes the same
 * states and the same plan from the same ring, because state is derived from the timestamps
 * stored with each key and never from when an instance happened to look.
 *
 * Updaters never generate keys themselves: they take fresh candidates through a `FreshKey`
 * callback, so they can run again on another writer's ring under compare-and-set.
 */
import { randomBytes } from 'node:crypto';
import { SIGNING_ALGS, type SigningAlg } from '../algorithms.js';
import { KeyError } from '../errors.js';
import type {
  FreshKey,
  KeyEntry,
  KeyRing,
  KeyState,
  KeyView,
  RotationPolicy,
  SigningJwk,
} from './types.js';

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

/** What the rest of the configuration tells the policy about token lifetimes. */
export interface PolicyLimits {
  /** The longest lifetime of any token signed with these keys (ID token, JWT access token…). */
  longestTokenLifetimeMs: number;
  /** The clock tolerance verifiers apply to `exp`. */
  clockToleranceMs: number;
}

/**
 * Every problem with `policy`, each prefixed with the field at fault (`retention: …`), or an
 * empty list when it is safe to use.
 */
export function validatePolicy(policy: RotationPolicy, limits: PolicyLimits): string[] {
  const problems: string[] = [];
  const algs = policy.algorithms ?? [];
  if (algs.length === 0) problems.push('algorithms: at least one signing algorithm is required');
  for (const alg of algs) {
    if (!SIGNING_ALGS.includes(alg)) {
      problems.push(`algorithms: unsupported algorithm ${JSON.stringify(alg)}`);
    }
  }
  if (new Set(algs).size !== algs.length) problems.push('algorithms: listed more than once');
  for (const field of ['rotationPeriod', 'prePublication', 'retention'] as const) {
    const value = policy[field];
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      problems.push(`${field}: must be a positive duration (got ${String(value)})`);
    }
  }
  if (policy.rotationPeriod < policy.prePublication) {
    problems.push(
      `rotationPeriod: must be at least prePublication (${policy.prePublication} ms), ` +
        'or a fresh next key could not be published long enough before it signs',
    );
  }
  const minRetention = limits.longestTokenLifetimeMs + limits.clockToleranceMs;
  if (policy.retention < minRetention) {
    problems.push(
      `retention: must be at least the longest token lifetime plus the clock tolerance ` +
        `(${limits.longestTokenLifetimeMs} + ${limits.clockToleranceMs} = ${minRetention} ms), ` +
        `got ${policy.retention} ms`,
    );
  }
  return problems;
}

/** A new random secret for oidc-provider's cookie signing. */
export function randomCookieKey(): string {
  return randomBytes(32).toString('base64url');
}

function newEntry(
  jwk: SigningJwk,
  origin: KeyEntry['origin'],
  now: number,
  activateAt: number,
  policy: RotationPolicy,
): KeyEntry {
  const retireAt = activateAt + policy.rotationPeriod;
  return {
    kid: jwk.kid,
    alg: jwk.alg,
    privateJwk: jwk,
    createdAt: now,
    activateAt,
    retireAt,
    removeAt: retireAt + policy.retention,
    origin,
  };
}

/** Keep `key` signing until `until`, and published for the retention after that. */
function extendSigning(key: KeyEntry, until: number, policy: RotationPolicy): void {
  key.retireAt = until;
  key.removeAt = Math.max(key.removeAt, until + policy.retention);
}

/** Move a key (a former `next`) to sign from `now` for a full rotation period. */
function promote(key: KeyEntry, now: number, policy: RotationPolicy): void {
  key.activateAt = now;
  key.retireAt = now + policy.rotationPeriod;
  key.removeAt = key.retireAt + policy.retention;
}

/** Stop `key` signing at `now`; it stays published for the retention. */
function demote(key: KeyEntry, now: number, policy: RotationPolicy): void {
  key.retireAt = now;
  key.removeAt = now + policy.retention;
}

const byActivation = (a: KeyEntry, b: KeyEntry) =>
  a.activateAt - b.activateAt || (a.kid < b.kid ? -1 : a.kid > b.kid ? 1 : 0);

const algRank = (alg: SigningAlg) => {
  const i = SIGNING_ALGS.indexOf(alg);
  return i < 0 ? SIGNING_ALGS.length : i;
};

/** Stable storage order: by algorithm, then activation time, then kid. */
const byAlgThenActivation = (a: KeyEntry, b: KeyEntry) =>
  algRank(a.alg) - algRank(b.alg) || byActivation(a, b);

function cloneKeys(keys: KeyEntry[]): KeyEntry[] {
  return keys.map((k) => ({ ...k }));
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

function withKeys(ring: KeyRing | undefined, keys: KeyEntry[], now: number): KeyRing {
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
  const live = cloneKeys((ring?.keys ?? []).filter((k) => k.removeAt > now));
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

/** The outcome of `rotateNow`: either the rotated ring, or when the rotation becomes safe. */
export type RotateOutcome =
  | {
      rotated: true;
      ring: KeyRing;
      activeKid: string;
      /** The key that stopped signing, if `alg` had one. */
      retiredKid: string | undefined;
      /** How long the promoted key had been published (ms); below `prePublication` when early. */
      publishedFor: number;
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
  const keys = cloneKeys(ring.keys.filter((k) => k.removeAt > now));
  const next = keys
    .filter((k) => k.alg === alg && stateAt(k, now) === 'next')
    .sort(byActivation)[0];
  if (!next) throw new KeyError('NO_NEXT_KEY', `no ${alg} key is waiting to take over`);
  const readyAt = next.createdAt + policy.prePublication;
  if (readyAt > now && !options.early) return { rotated: false, notBefore: readyAt };
  const retiredKid = activeKid(ring, alg, now);
  for (const k of keys) {
    if (k.alg === alg && stateAt(k, now) === 'active') demote(k, now, policy);
  }
  promote(next, now, policy);
  const rotated = withKeys(ring, keys, now);
  return {
    rotated: true,
    ring: planRing(rotated, policy, now, fresh) ?? rotated,
    activeKid: next.kid,
    retiredKid,
    publishedFor: now - next.createdAt,
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
  const keys = cloneKeys(ring.keys.filter((k) => k.kid !== kid && k.removeAt > now));
  if (stateAt(target, now) === 'active') {
    const next = keys
      .filter((k) => k.alg === target.alg && stateAt(k, now) === 'next')
      .sort(byActivation)[0];
    if (next) promote(next, now, policy);
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
  const live = cloneKeys(ring.keys.filter((k) => k.removeAt > now));
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
      following.activateAt = Math.max(following.activateAt, imported.retireAt);
      following.retireAt = following.activateAt + policy.rotationPeriod;
      following.removeAt = following.retireAt + policy.retention;
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
  const keys = cloneKeys(held.keys.filter((k) => !revoked.includes(k.kid)));
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
