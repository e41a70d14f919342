import { generateKeyPair as generateKeyPairCb, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { calculateJwkThumbprint, type JWK } from 'jose';
import type { SigningAlg, SigningJwk } from './types.js';

const generateKeyPair = promisify(generateKeyPairCb);

function generatePair(alg: SigningAlg): Promise<{ privateKey: KeyObject }> {
  switch (alg) {
    case 'RS256':
    case 'PS256':
      return generateKeyPair('rsa', { modulusLength: 2048, publicExponent: 0x10001 });
    case 'ES256':
      return generateKeyPair('ec', { namedCurve: 'P-256' });
    case 'ES384':
      return generateKeyPair('ec', { namedCurve: 'P-384' });
    case 'EdDSA':
      return generateKeyPair('ed25519');
  }
}

/**
 * The key ring's form of a private key: the key's own members plus `kid` (its RFC 7638
 * SHA-256 thumbprint), `alg` and `use: "sig"`.
 */
export async function toSigningJwk(privateKey: KeyObject, alg: SigningAlg): Promise<SigningJwk> {
  const jwk = privateKey.export({ format: 'jwk' }) as JWK;
  const kid = await calculateJwkThumbprint(jwk, 'sha256');
  return { ...jwk, kid, alg, use: 'sig' };
}

/**
 * A new private signing key for `alg`: RSA 2048 for RS256 and PS256, P-256 for ES256, P-384
 * for ES384, Ed25519 for EdDSA. Generated off the main thread by node:crypto.
 */
export async function generateSigningKey(alg: SigningAlg): Promise<SigningJwk> {
  const { privateKey } = await generatePair(alg);
  return toSigningJwk(privateKey, alg);
}
