/** Public forms of the ring's keys: canonical public JWKs, a JWK set, one key as SPKI PEM. */
import { createPublicKey, type JsonWebKey } from 'node:crypto';
import type { JWK } from 'jose';
import type { SigningAlg } from '../algorithms.js';
import { KeyError } from '../errors.js';
import { publishedKeys } from './lifecycle.js';
import type { KeyEntry, KeyRing, KeyState } from './types.js';

/**
 * The public members each key type may publish, in the order they are written. A fixed list
 * (not "everything but the private members") so nothing unexpected, such as a private or
 * symmetric member under another name, can leak, and so every instance writes the same bytes.
 */
const PUBLIC_MEMBERS: Record<string, readonly string[]> = {
  RSA: ['e', 'n'],
  EC: ['crv', 'x', 'y'],
  OKP: ['crv', 'x'],
};

/**
 * The public JWK of a (private or public) signing key with members in canonical order:
 * `kid`, `kty`, `alg`, `use`, then the key type's public members.
 * @throws KeyError `KEY_TYPE_UNSUPPORTED` for a key type without a public form (e.g. `oct`).
 */
export function toPublicJwk(jwk: JWK): JWK {
  const members = jwk.kty ? PUBLIC_MEMBERS[jwk.kty] : undefined;
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

/** The public JWK set of every key published at `now` (next, active and retiring). */
export function publicJwks(ring: KeyRing | undefined, now: number): { keys: JWK[] } {
  return {
    keys: publishedKeys(ring, now).map((k) =>
      toPublicJwk({ ...k.privateJwk, kid: k.kid, alg: k.alg, use: 'sig' }),
    ),
  };
}

/** One key's public part as a PEM `PUBLIC KEY` (SPKI). */
export function publicKeyPem(jwk: JWK): string {
  const key = createPublicKey({ key: toPublicJwk(jwk) as JsonWebKey, format: 'jwk' });
  return key.export({ type: 'spki', format: 'pem' }).toString();
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
      publicJwk: toPublicJwk({ ...k.privateJwk, kid: k.kid, alg: k.alg, use: 'sig' }),
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
