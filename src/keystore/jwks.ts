/**
 * The public side of the ring: canonical public JWKs, the JWKS response (the same bytes, ETag
 * and caching headers on every instance), one key as SPKI PEM, and the summary operators see.
 * Never a private member.
 */
import { createHash, createPublicKey, type JsonWebKey } from 'node:crypto';
import type { JWK } from 'jose';
import { type KeyType, PUBLIC_JWK_MEMBERS, type SigningAlg } from '../algorithms.js';
import { KeyError } from '../errors.js';
import { publishedKeys } from './lifecycle.js';
import type { KeyEntry, KeyRing, KeyState, RotationPolicy } from './types.js';

/**
 * The public JWK of a (private or public) signing key with members in canonical order:
 * `kid`, `kty`, `alg`, `use`, then the key type's public members.
 * @throws KeyError `KEY_TYPE_UNSUPPORTED` for a key type without a public form (e.g. `oct`).
 */
export function toPublicJwk(jwk: JWK): JWK {
  const members =
    jwk.kty && Object.hasOwn(PUBLIC_JWK_MEMBERS, jwk.kty)
      ? PUBLIC_JWK_MEMBERS[jwk.kty as KeyType]
      : undefined;
  if (!members) {
    throw new KeyError('KEY_TYPE_UNSUPPORTED', `no public form for key type ${String(jwk.kty)}`);
  }
  const out: Record<string, unknown> = {};
  for (const name of ['kid', 'kty', 'alg', 'use', ...members]) {
    const value = (jwk as Record<string, unknown>)[name];
    if (value !== undefined) out[name] = value;
  }
  return out as JWK;
}

/** The public JWK of a ring entry, carrying the entry's `kid` and `alg`. */
function entryPublicJwk(entry: KeyEntry): JWK {
  return toPublicJwk({ ...entry.privateJwk, kid: entry.kid, alg: entry.alg, use: 'sig' });
}

/** The public JWK set of every key published at `now` (next, active and retiring). */
export function publicJwks(ring: KeyRing | undefined, now: number): { keys: JWK[] } {
  return { keys: publishedKeys(ring, now).map(entryPublicJwk) };
}

/** One key's public part as a PEM `PUBLIC KEY` (SPKI). */
export function publicKeyPem(jwk: JWK): string {
  const key = createPublicKey({ key: toPublicJwk(jwk) as JsonWebKey, format: 'jwk' });
  return key.export({ type: 'spki', format: 'pem' }).toString();
}

/** A JWKS response computed once per ring (and per key-state transition). */
export interface JwksDocument {
  /** `{"keys":[…]}`: public members only, keys by algorithm, activation time and kid. */
  body: Buffer;
  /** Strong ETag: the quoted base64url SHA-256 of `body`. */
  etag: string;
  /** See `cacheControlFor`. */
  cacheControl: string;
  /** Media type to send with `body`. */
  contentType: 'application/jwk-set+json';
}

const MAX_AGE_CAP_S = 3600;

/**
 * The `Cache-Control` header for the JWKS under `policy`.
 *
 * A new key is published `prePublication` before it signs, and that lead has to cover every
 * cache between us and a verifier plus the verifier's own cache (from 10 minutes to 12 hours,
 * which we do not control). So HTTP caches get at most 3/8 of the lead:
 *
 *   unit = min(⌊prePublication / 8⌋ in seconds, 1 h)
 *   max-age = unit, stale-while-revalidate = unit, stale-if-error = 2 × unit
 *
 * The stalest body a cache can hand out is max-age + max(swr, sie) = 3 × unit ≤ 3/8 of the
 * lead, leaving at least 5/8 of it for the verifier's own refresh. Removal needs no bound: a
 * stale body that still lists a removed key is harmless. Leads under 8 s give `max-age=0`.
 */
export function cacheControlFor(policy: Pick<RotationPolicy, 'prePublication'>): string {
  const unit = Math.min(Math.floor(policy.prePublication / 8 / 1000), MAX_AGE_CAP_S);
  const s = Math.max(unit, 0);
  return `public, max-age=${s}, stale-while-revalidate=${s}, stale-if-error=${2 * s}`;
}

/** The JWKS body for the keys published at `now`; deterministic for a given ring and time. */
function jwksBody(ring: KeyRing | undefined, now: number): Buffer {
  return Buffer.from(JSON.stringify(publicJwks(ring, now)), 'utf8');
}

/** A strong ETag for `body`. */
function etagFor(body: Buffer): string {
  return `"${createHash('sha256').update(body).digest('base64url')}"`;
}

/** The complete JWKS response for `ring` at `now` under `policy`. */
export function buildJwksDocument(
  ring: KeyRing | undefined,
  now: number,
  policy: Pick<RotationPolicy, 'prePublication'>,
): JwksDocument {
  const body = jwksBody(ring, now);
  return {
    body,
    etag: etagFor(body),
    cacheControl: cacheControlFor(policy),
    contentType: 'application/jwk-set+json',
  };
}

/** One published key as reported to operators: its lifecycle and public part, never `d`. */
export interface KeySummary {
  kid: string;
  alg: SigningAlg;
  state: KeyState;
  origin: KeyEntry['origin'];
  createdAt: number;
  activateAt: number;
  retireAt: number;
  removeAt: number;
  publicJwk: JWK;
}

/** The key ring without any private member, safe to log or return from an admin API. */
export interface KeyRingSummary {
  version: number;
  updatedAt: number;
  keys: KeySummary[];
}

/** The public summary of `ring` at `now` (published keys only). */
export function summarizeRing(ring: KeyRing, now: number): KeyRingSummary {
  return {
    version: ring.version,
    updatedAt: ring.updatedAt,
    keys: publishedKeys(ring, now).map((k) => ({
      kid: k.kid,
      alg: k.alg,
      state: k.state,
      origin: k.origin,
      createdAt: k.createdAt,
      activateAt: k.activateAt,
      retireAt: k.retireAt,
      removeAt: k.removeAt,
      publicJwk: entryPublicJwk(k),
    })),
  };
}

/**
 * The JSON form of a summary that the admin API and `oidc-issuer keys … --json` print: the same
 * fields, every time as an ISO 8601 string.
 */
export function summaryJson(summary: KeyRingSummary | undefined) {
  if (!summary) return { version: 0, keys: [] };
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    version: summary.version,
    updatedAt: iso(summary.updatedAt),
    keys: summary.keys.map((k) => ({
      kid: k.kid,
      alg: k.alg,
      state: k.state,
      origin: k.origin,
      createdAt: iso(k.createdAt),
      activateAt: iso(k.activateAt),
      retireAt: iso(k.retireAt),
      removeAt: iso(k.removeAt),
      publicJwk: k.publicJwk,
    })),
  };
}
