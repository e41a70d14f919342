/**
 * Tokens the probe makes itself, because they need a key the issuer does not hold: signed by a
 * throw-away key, unsigned (`alg: none`), HMAC-signed with a public key as the secret, or a
 * real token with one signature byte changed.
 */
import { createHmac, createPublicKey, type JsonWebKey } from 'node:crypto';
import {
  base64url,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  SignJWT,
} from 'jose';
import { understoodCrit } from '../tools/mint.js';

export type Header = Record<string, unknown>;

/** A key pair made for one probe run; nobody trusts it. */
export interface ForeignKey {
  alg: string;
  kid: string;
  privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
  publicJwk: JWK;
}

/** A fresh key pair for `alg` (one of SIGNING_ALGS). */
export async function foreignKey(alg: string): Promise<ForeignKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(publicKey);
  const kid = `probe-${(await calculateJwkThumbprint(jwk)).slice(0, 16)}`;
  return { alg, kid, privateKey, publicJwk: { ...jwk, kid, alg, use: 'sig' } };
}

/** `claims` signed by `key` with exactly `header` (whose `alg` must be the key's). */
export function signWith(key: ForeignKey, header: Header, claims: JWTPayload): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ ...header, alg: key.alg })
    .sign(key.privateKey, { crit: understoodCrit(header) });
}

/** An unsecured JWT (`alg: none`, empty signature), as RFC 7519 §6 writes it. */
export function unsigned(header: Header, claims: JWTPayload): string {
  return `${encode({ ...header, alg: 'none' })}.${encode(claims)}.`;
}

/** An HS256 JWT whose HMAC secret is the UTF-8 text `secret` (e.g. a public key's PEM). */
export function hmacSigned(header: Header, claims: JWTPayload, secret: string): string {
  const input = `${encode({ ...header, alg: 'HS256' })}.${encode(claims)}`;
  const mac = createHmac('sha256', Buffer.from(secret, 'utf8')).update(input).digest();
  return `${input}.${base64url.encode(mac)}`;
}

/** The public key of `jwk` as SPKI PEM text, as `openssl` or a JWKS-to-PEM helper writes it. */
export function publicPem(jwk: JWK): string {
  return createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' })
    .export({ type: 'spki', format: 'pem' })
    .toString();
}

/** `token` with one byte in the middle of its signature changed. */
export function tamperedSignature(token: string): string {
  const [header, payload, signature = ''] = token.split('.');
  const bytes = base64url.decode(signature);
  const at = Math.floor(bytes.length / 2);
  bytes[at] = (bytes[at] ?? 0) ^ 0x01;
  return `${header}.${payload}.${base64url.encode(bytes)}`;
}

function encode(value: unknown): string {
  return base64url.encode(JSON.stringify(value));
}
