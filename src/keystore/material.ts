/**
 * Key material of the ring: new keys generated for an algorithm, and keys an operator brings
 * (PEM files as `openssl genpkey` writes them, private JWKs or JWK sets) parsed and normalised
 * into the ring's private JWKs, with the check that a private part matches its public part.
 * Anything that cannot safely sign is refused with a `KeyError` whose `code` says why.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPair as generateKeyPairCb,
  generatePrime,
  type JsonWebKey,
  type KeyObject,
  randomBytes,
  sign,
  verify,
} from 'node:crypto';
import { promisify } from 'node:util';
import { calculateJwkThumbprint, type JWK } from 'jose';
import {
  ALGORITHMS,
  algorithmsForKey,
  isSigningAlg,
  MAX_RSA_BITS,
  MIN_RSA_BITS,
  publicMembers,
  type SigningAlg,
  SUPPORTED_KEYS,
} from '../algorithms.js';
import { KeyError } from '../errors.js';
import { isJsonObject, parseJsonObject } from '../json.js';
import type { SigningJwk } from './types.js';

const generateKeyPair = promisify(generateKeyPairCb);

/**
 * A new private signing key for `alg`, of the type and size `ALGORITHMS` gives (RSA 2048,
 * P-256, P-384, Ed25519). Generated off the main thread by node:crypto.
 */
export async function generateSigningKey(alg: SigningAlg): Promise<SigningJwk> {
  const { privateKey } = await generatePair(alg);
  return toSigningJwk(privateKey, alg);
}

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
 * Whether an RSA key built from two primes (`generateSigningKeyQuickly`) costs less CPU than
 * OpenSSL's own RSA key generation. OpenSSL 3.0 (Node 20 and 22) generates RSA keys of 2048 bits
 * and more by SP 800-56B, with auxiliary primes: ~100 ms of CPU per 2048-bit key, where two of
 * its `generatePrime` cost ~55 ms. OpenSSL 3.5 (Node 24) generates the key in ~30 ms.
 */
export function rsaFromPrimesIsQuicker(openssl = process.versions.openssl): boolean {
  return /^3\.0\./.test(openssl);
}

/**
 * `generateSigningKey` for a start that waits for its keys (the in-process test issuers), at
 * half the CPU for RSA on OpenSSL 3.0: the key is built from two probable primes of
 * node:crypto's `generatePrime` (OpenSSL's `BN_generate_prime_ex`), much as OpenSSL 1.1.1 made
 * its RSA keys, with the conditions of FIPS 186-4 B.3.1 checked (`rsaFromPrimes`), and is then
 * checked like an imported key. Other keys, and RSA where OpenSSL is quicker, are
 * `generateSigningKey`'s.
 */
export async function generateSigningKeyQuickly(
  alg: SigningAlg,
  fromPrimes = rsaFromPrimesIsQuicker(),
): Promise<SigningJwk> {
  const { keyType, modulusLength } = ALGORITHMS[alg];
  if (keyType !== 'rsa' || !fromPrimes) return generateSigningKey(alg);
  return normalizePrivateJwk(await rsaFromPrimes(modulusLength!), { alg });
}

const RSA_E = 0x10001n;

/**
 * A private RSA JWK of `bits` bits with e = 65537 from two primes p > q of `bits / 2` bits,
 * each ≥ √2·2^(bits/2 − 1) (its top two bits set) with gcd(p − 1, e) = 1, where
 * p − q > 2^(bits/2 − 100) and d = e⁻¹ mod lcm(p − 1, q − 1) > 2^(bits/2): FIPS 186-4 B.3.1.
 * node:crypto has no way to build an RSA key from primes, hence the arithmetic here.
 */
async function rsaFromPrimes(bits: number): Promise<JWK> {
  const half = bits / 2;
  for (;;) {
    // One prime after the other: a caller counts one key as one job on the threadpool.
    const a = await rsaPrime(half);
    const b = await rsaPrime(half);
    const [p, q] = a > b ? [a, b] : [b, a];
    if (p - q <= 1n << BigInt(half - 100)) continue;
    const d = modInverse(RSA_E, ((p - 1n) * (q - 1n)) / gcd(p - 1n, q - 1n));
    if (d <= 1n << BigInt(half)) continue;
    return {
      kty: 'RSA',
      n: base64urlUInt(p * q),
      e: base64urlUInt(RSA_E),
      d: base64urlUInt(d),
      p: base64urlUInt(p),
      q: base64urlUInt(q),
      dp: base64urlUInt(d % (p - 1n)),
      dq: base64urlUInt(d % (q - 1n)),
      qi: base64urlUInt(modInverse(q, p)),
    };
  }
}

/** A prime of `bits` bits with its top two bits set and p − 1 coprime to e (a prime). */
async function rsaPrime(bits: number): Promise<bigint> {
  for (;;) {
    const prime = await new Promise<bigint>((resolve, reject) =>
      generatePrime(bits, { bigint: true }, (err, p) => (err ? reject(err) : resolve(p))),
    );
    if (prime >> BigInt(bits - 2) === 3n && prime % RSA_E !== 1n) return prime;
  }
}

function gcd(a: bigint, b: bigint): bigint {
  let [x, y] = [a, b];
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}

/** a⁻¹ mod m (extended Euclid); a and m coprime. */
function modInverse(a: bigint, m: bigint): bigint {
  let [r0, r1] = [a % m, m];
  let [s0, s1] = [1n, 0n];
  while (r1 !== 0n) {
    const k = r0 / r1;
    [r0, r1] = [r1, r0 - k * r1];
    [s0, s1] = [s1, s0 - k * s1];
  }
  if (r0 !== 1n) throw new Error('modInverse: not coprime');
  return ((s0 % m) + m) % m;
}

/** RFC 7518 §2 Base64urlUInt: the big-endian octets without leading zeros. */
function base64urlUInt(value: bigint): string {
  const hex = value.toString(16);
  return Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex').toString('base64url');
}

/**
 * The key ring's form of a private key: the key's own members plus `kid` (its RFC 7638
 * SHA-256 thumbprint), `alg` and `use: "sig"`.
 */
async function toSigningJwk(privateKey: KeyObject, alg: SigningAlg): Promise<SigningJwk> {
  const jwk = privateKey.export({ format: 'jwk' }) as JWK;
  const kid = await calculateJwkThumbprint(jwk, 'sha256');
  return { ...jwk, kid, alg, use: 'sig' };
}

/** Options for key parsing. */
export interface ParseKeyOptions {
  /** The algorithm to use the key with; inferred when absent (RSA keys default to RS256). */
  alg?: SigningAlg;
}

/** One PEM block; the label is group 1. */
export const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;
const PRIVATE_LABELS = new Set(['PRIVATE KEY', 'RSA PRIVATE KEY', 'EC PRIVATE KEY']);
const PUBLIC_LABELS = new Set(['PUBLIC KEY', 'RSA PUBLIC KEY', 'CERTIFICATE']);
/** Key inputs larger than this are refused before parsing (dozens of 8192-bit PEMs fit). */
export const MAX_KEY_INPUT_BYTES = 512 * 1024;
/** At most this many keys in one input: each costs a signature check, and a ring stays small. */
export const MAX_KEYS_PER_INPUT = 32;

/**
 * Every private key in `input`: one or more PEM blocks (PKCS#8 `PRIVATE KEY`, PKCS#1
 * `RSA PRIVATE KEY`, SEC1 `EC PRIVATE KEY`), a private JWK, or a JWK set `{ "keys": [...] }`.
 * Each result has its RFC 7638 thumbprint as `kid` (a `kid` in the input is replaced), its
 * `alg` and `use: "sig"`.
 * At most `MAX_KEY_INPUT_BYTES` of input and `MAX_KEYS_PER_INPUT` keys.
 * @throws KeyError `KEY_PARSE_FAILED`, `KEY_NOT_PRIVATE`, `KEY_ENCRYPTED`, `KEY_SYMMETRIC`,
 *   `KEY_TYPE_UNSUPPORTED`, `KEY_TOO_SMALL`, `KEY_TOO_LARGE`, `KEY_ALG_UNSUPPORTED`,
 *   `KEY_ALG_MISMATCH`, `KEY_USE_INVALID`, `KEY_INCONSISTENT`, `KEY_INPUT_TOO_LARGE`,
 *   `KEY_TOO_MANY`.
 */
export async function parsePrivateKeys(
  input: string | Buffer,
  options: ParseKeyOptions = {},
): Promise<SigningJwk[]> {
  const size = typeof input === 'string' ? Buffer.byteLength(input) : input.length;
  if (size > MAX_KEY_INPUT_BYTES) {
    throw new KeyError(
      'KEY_INPUT_TOO_LARGE',
      `the key input is ${size} bytes; at most ${MAX_KEY_INPUT_BYTES} are accepted`,
    );
  }
  const text = input.toString().trim();
  if (text.startsWith('{')) {
    // The text starts with '{', so JSON is an object here.
    const parsed = parseJsonObject(text);
    if (!parsed.ok) throw new KeyError('KEY_PARSE_FAILED', 'the key input is not valid JSON');
    const set = parsed.value;
    if (Array.isArray(set.keys)) {
      if (set.keys.length === 0) throw new KeyError('KEY_PARSE_FAILED', 'the JWK set is empty');
      assertKeyCount(set.keys.length);
      return Promise.all(set.keys.map((k) => normalizePrivateJwk(k as JWK, options)));
    }
    return [await normalizePrivateJwk(set as JWK, options)];
  }
  const blocks = [...text.matchAll(PEM_BLOCK)];
  if (blocks.length === 0) {
    throw new KeyError(
      'KEY_PARSE_FAILED',
      'expected a PEM private key, a private JWK or a JWK set',
    );
  }
  assertKeyCount(blocks.filter(([, label]) => label !== 'EC PARAMETERS').length);
  const keys: SigningJwk[] = [];
  for (const [pem, label] of blocks) {
    // `openssl ecparam -genkey` writes the curve parameters in a block of their own.
    if (label === 'EC PARAMETERS') continue;
    if (label === 'ENCRYPTED PRIVATE KEY' || /Proc-Type: 4,ENCRYPTED/.test(pem)) {
      throw new KeyError('KEY_ENCRYPTED', 'encrypted private keys are not supported; decrypt it');
    }
    if (label && PUBLIC_LABELS.has(label)) {
      throw new KeyError('KEY_NOT_PRIVATE', `a ${label} cannot sign; give the private key`);
    }
    if (!label || !PRIVATE_LABELS.has(label)) {
      throw new KeyError('KEY_PARSE_FAILED', `unsupported PEM block "${label}"`);
    }
    let key: KeyObject;
    try {
      key = createPrivateKey(pem);
    } catch (e) {
      throw new KeyError('KEY_PARSE_FAILED', `could not parse the ${label}`, { cause: e });
    }
    keys.push(await toSigningJwk(key, algFor(key, options.alg)));
  }
  if (keys.length === 0) throw new KeyError('KEY_PARSE_FAILED', 'no private key in the input');
  return keys;
}

/**
 * One private JWK checked and normalized: only the key's own members are kept, plus `kid`
 * (RFC 7638 thumbprint), `alg` and `use: "sig"`. The private part must match the public part.
 */
export async function normalizePrivateJwk(
  jwk: JWK,
  options: ParseKeyOptions = {},
): Promise<SigningJwk> {
  if (!isJsonObject(jwk)) {
    throw new KeyError('KEY_PARSE_FAILED', 'a JWK must be a JSON object');
  }
  if (jwk.kty === 'oct' || 'k' in jwk) {
    throw new KeyError('KEY_SYMMETRIC', 'symmetric keys cannot be published; use RSA, EC or OKP');
  }
  if (jwk.kty !== 'RSA' && jwk.kty !== 'EC' && jwk.kty !== 'OKP') {
    throw new KeyError('KEY_TYPE_UNSUPPORTED', `unsupported key type ${JSON.stringify(jwk.kty)}`);
  }
  if (typeof jwk.d !== 'string') {
    throw new KeyError('KEY_NOT_PRIVATE', `JWK ${jwk.kid ?? ''} has no private part ("d")`.trim());
  }
  if (jwk.use !== undefined && jwk.use !== 'sig') {
    throw new KeyError('KEY_USE_INVALID', `JWK use is "${jwk.use}", expected "sig"`);
  }
  if (jwk.alg !== undefined && options.alg !== undefined && jwk.alg !== options.alg) {
    throw new KeyError('KEY_ALG_MISMATCH', `the JWK says ${jwk.alg} but ${options.alg} was asked`);
  }
  const requested = options.alg ?? jwk.alg;
  if (requested !== undefined && !isSigningAlg(requested)) {
    throw new KeyError('KEY_ALG_UNSUPPORTED', `unsupported algorithm ${JSON.stringify(requested)}`);
  }
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: publicMembers(jwk) as JsonWebKey, format: 'jwk' });
  } catch (e) {
    throw new KeyError('KEY_PARSE_FAILED', 'the JWK is not a valid private key', { cause: e });
  }
  // Type and size first, from the public part: Node 24 refuses to build a private key whose
  // parts do not fit together, which would hide the reason.
  const alg = algFor(publicKey, requested);
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' });
  } catch (e) {
    throw inconsistent(e);
  }
  assertPair(key, publicKey);
  return toSigningJwk(key, alg);
}

/** The algorithm for `key`, checking a requested one fits its type and size. */
function algFor(key: KeyObject, requested: SigningAlg | undefined): SigningAlg {
  const { modulusLength, namedCurve } = key.asymmetricKeyDetails ?? {};
  const allowed = algorithmsForKey(key.asymmetricKeyType, namedCurve);
  if (allowed.length === 0) {
    throw new KeyError(
      'KEY_TYPE_UNSUPPORTED',
      key.asymmetricKeyType === 'ec'
        ? `unsupported EC curve ${namedCurve}`
        : `unsupported key type ${key.asymmetricKeyType}; use ${SUPPORTED_KEYS}`,
    );
  }
  if (key.asymmetricKeyType === 'rsa') {
    if ((modulusLength ?? 0) < MIN_RSA_BITS) {
      throw new KeyError(
        'KEY_TOO_SMALL',
        `RSA keys need at least ${MIN_RSA_BITS} bits (got ${modulusLength})`,
      );
    }
    if ((modulusLength ?? 0) > MAX_RSA_BITS) {
      throw new KeyError(
        'KEY_TOO_LARGE',
        `RSA keys may have at most ${MAX_RSA_BITS} bits (got ${modulusLength})`,
      );
    }
  }
  if (requested === undefined) return allowed[0]!;
  if (!allowed.includes(requested)) {
    throw new KeyError(
      'KEY_ALG_MISMATCH',
      `a ${key.asymmetricKeyType} key cannot be used with ${requested} (use ${allowed.join(' or ')})`,
    );
  }
  return requested;
}

function assertKeyCount(count: number): void {
  if (count > MAX_KEYS_PER_INPUT) {
    throw new KeyError(
      'KEY_TOO_MANY',
      `the input holds ${count} keys; at most ${MAX_KEYS_PER_INPUT} are accepted at once`,
    );
  }
}

/**
 * Whether `privateKey` belongs to `publicKey`: signs a random message with one and verifies it
 * with the other (Node builds an EC private key from d plus any stated x/y without checking).
 */
export function keysMatch(privateKey: KeyObject, publicKey: KeyObject): boolean {
  const digest = privateKey.asymmetricKeyType?.startsWith('ed') ? null : 'sha256';
  const message = randomBytes(32);
  try {
    return verify(digest, message, publicKey, sign(digest, message, privateKey));
  } catch {
    return false;
  }
}

function assertPair(privateKey: KeyObject, publicKey: KeyObject): void {
  if (!keysMatch(privateKey, publicKey)) throw inconsistent();
}

function inconsistent(cause?: unknown): KeyError {
  return new KeyError(
    'KEY_INCONSISTENT',
    'the private part of the JWK does not match its public part',
    cause === undefined ? undefined : { cause },
  );
}
