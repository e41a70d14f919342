import { generateKeyPair as generateKeyPairCb, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { ALGORITHMS, type SigningAlg } from '../algorithms.js';
import type { SigningJwk } from './types.js';

const generateKeyPair = promisify(generateKeyPairCb);

function generatePair(alg: SigningAlg): Promise<{ privateKey: KeyObject }> {
  const { keyType, modulusLength, namedCurve } = ALGORITHMS[alg];
  switch (keyType) {
    case 'rsa':
      return generateKeyPair('rsa', { modulusLength: modulusLength!, publicExponent: 0x10001 });
    case 'ec':
      return generateKeyPair('ec', { namedCurve: namedCurve! });
    case 'ed25519':
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
 * A new private signing key for `alg`, of the type and size `ALGORITHMS` gives (RSA 2048,
 * P-256, P-384, Ed25519). Generated off the main thread by node:crypto.
 */
export async function generateSigningKey(alg: SigningAlg): Promise<SigningJwk> {
  const { privateKey } = await generatePair(alg);
  return toSigningJwk(privateKey, alg);
}
