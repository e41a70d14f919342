/**
 * PEM ↔ JWK conversion for the console's converter: PEM private keys, public keys and X.509
 * certificates (a chain gives one JWK with `x5c`, `x5t` and `x5t#S256`) to JWKs, and JWKs to
 * PKCS#8 / SPKI PEM. Keys are converted as they are; nothing is checked here (the inspector
 * does that).
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  type JsonWebKey,
  type KeyObject,
  X509Certificate,
} from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { parseJsonObject } from '../json.js';
import { PEM_BLOCK } from '../keystore/material.js';
import { TokenError } from './errors.js';

/** One converted key. */
export interface ConvertedKey {
  /** What the input block was: `private key`, `public key`, `certificate chain (2)`… */
  from: string;
  /** The JWK (private members included when the input was a private key). */
  jwk: JWK;
  /** The public JWK, when `jwk` is private. */
  publicJwk?: JWK;
  /** PKCS#8 PEM, when the input was private. */
  privatePem?: string;
  /** SPKI PEM. */
  publicPem: string;
  /** The certificate subject, for a certificate input. */
  subject?: string;
}

const MAX_INPUT = 256 * 1024;

/**
 * Converts `text`: PEM blocks become JWKs; a JWK or JWK set becomes PEM. Every key gets the
 * RFC 7638 thumbprint as `kid` when it has none.
 * @throws TokenError `INPUT_INVALID` when `text` is neither, or a block cannot be read.
 */
export async function convertKeys(text: string): Promise<ConvertedKey[]> {
  if (text.length > MAX_INPUT) {
    throw new TokenError('INPUT_INVALID', `the input is over ${MAX_INPUT / 1024} KB`);
  }
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) return fromJwkText(trimmed);
  const blocks = [...trimmed.matchAll(PEM_BLOCK)];
  if (blocks.length === 0) {
    throw new TokenError('INPUT_INVALID', 'expected PEM text, a JWK or a JWK set');
  }
  const out: ConvertedKey[] = [];
  const certs = blocks.filter((b) => b[1] === 'CERTIFICATE').map((b) => b[0]);
  if (certs.length > 0) out.push(await fromCertificates(certs));
  for (const [pem, label] of blocks) {
    if (label === 'CERTIFICATE' || label === 'EC PARAMETERS') continue;
    const isPrivate = !!label?.includes('PRIVATE');
    const key = readKey(() => (isPrivate ? createPrivateKey(pem) : createPublicKey(pem)), label);
    out.push(await describe(key, isPrivate ? 'private key' : 'public key'));
  }
  return out;
}

async function fromJwkText(text: string): Promise<ConvertedKey[]> {
  // The text starts with '{', so JSON is an object here.
  const parsed = parseJsonObject(text);
  if (!parsed.ok) throw new TokenError('INPUT_INVALID', `not valid JSON (${parsed.syntax})`);
  const doc = parsed.value;
  const keys = Array.isArray(doc.keys) ? (doc.keys as JWK[]) : [doc as JWK];
  const out: ConvertedKey[] = [];
  for (const [i, jwk] of keys.entries()) {
    if (!jwk || typeof jwk !== 'object' || jwk.kty === 'oct') {
      throw new TokenError('INPUT_INVALID', `key ${i}: not an RSA, EC or OKP JWK`);
    }
    const isPrivate = jwk.d !== undefined;
    const key = readKey(
      () =>
        isPrivate
          ? createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' })
          : createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }),
      `key ${i}`,
    );
    const converted = await describe(key, isPrivate ? 'private JWK' : 'public JWK');
    converted.jwk = { ...converted.jwk, ...keep(jwk) };
    if (converted.publicJwk) converted.publicJwk = { ...converted.publicJwk, ...keep(jwk) };
    out.push(converted);
  }
  return out;
}

/** The members of an input JWK worth carrying over to the output. */
function keep(jwk: JWK): Partial<JWK> {
  const out: Record<string, unknown> = {};
  for (const name of ['kid', 'alg', 'use', 'key_ops']) {
    const value = (jwk as Record<string, unknown>)[name];
    if (value !== undefined) out[name] = value;
  }
  return out as Partial<JWK>;
}

/** The `x5t` and `x5t#S256` members of a certificate's JWK (RFC 7517 §4.8, §4.9), from its DER. */
export function certificateThumbprints(der: Buffer): { x5t: string; 'x5t#S256': string } {
  return {
    x5t: createHash('sha1').update(der).digest('base64url'),
    'x5t#S256': createHash('sha256').update(der).digest('base64url'),
  };
}

async function fromCertificates(pems: string[]): Promise<ConvertedKey> {
  const chain = pems.map((pem) => readKey(() => new X509Certificate(pem), 'CERTIFICATE'));
  const leaf = chain[0] as X509Certificate;
  const converted = await describe(
    leaf.publicKey,
    chain.length > 1 ? `certificate chain (${chain.length})` : 'certificate',
  );
  converted.jwk = {
    ...converted.jwk,
    x5c: chain.map((c) => c.raw.toString('base64')),
    ...certificateThumbprints(leaf.raw),
  };
  converted.subject = leaf.subject.replace(/\n/g, ', ');
  return converted;
}

async function describe(key: KeyObject, from: string): Promise<ConvertedKey> {
  const isPrivate = key.type === 'private';
  const publicKey = isPrivate ? createPublicKey(key) : key;
  const publicJwk = publicKey.export({ format: 'jwk' }) as JWK;
  const kid = await calculateJwkThumbprint(publicJwk, 'sha256');
  const withKid = (jwk: JWK) => ({ kid, ...jwk });
  return {
    from,
    jwk: withKid(isPrivate ? (key.export({ format: 'jwk' }) as JWK) : publicJwk),
    ...(isPrivate ? { publicJwk: withKid(publicJwk) } : {}),
    ...(isPrivate ? { privatePem: key.export({ type: 'pkcs8', format: 'pem' }).toString() } : {}),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

function readKey<T>(read: () => T, what: string | undefined): T {
  try {
    return read();
  } catch (e) {
    throw new TokenError('INPUT_INVALID', `cannot read the ${what} block: ${(e as Error).message}`);
  }
}
