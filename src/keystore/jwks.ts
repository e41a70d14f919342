/** The JWKS response: the same bytes, ETag and caching headers on every instance. */
import { createHash } from 'node:crypto';
import { publicJwks } from './export.js';
import type { KeyRing, RotationPolicy } from './types.js';

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
export function jwksBody(ring: KeyRing | undefined, now: number): Buffer {
  return Buffer.from(JSON.stringify(publicJwks(ring, now)), 'utf8');
}

/** A strong ETag for `body`. */
export function etagFor(body: Buffer): string {
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
