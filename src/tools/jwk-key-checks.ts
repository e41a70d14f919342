/**
 * The checks of one JWK on its own: what it is (type, curve, size, thumbprint) and what is
 * wrong with it (private members, alg that does not fit, use/key_ops, x5c, a mismatched pair).
 * `jwk-inspect.ts` runs them over each key of its input and adds the checks of a set.
 */
import {
  createPrivateKey,
  createPublicKey,
  type JsonWebKey,
  type KeyObject,
  X509Certificate,
} from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { MIN_RSA_BITS, PRIVATE_JWK_MEMBERS, publicMembers } from '../algorithms.js';
import { isJsonObject } from '../json.js';
import { keysMatch } from '../keystore/material.js';
import { certificateThumbprints } from './jwk-convert.js';

export type Severity = 'error' | 'warning' | 'note';

/** One finding. `code` is fixed; `message` is for people. */
export interface Finding {
  severity: Severity;
  code: string;
  message: string;
}

/** What one key is. */
export interface KeyReport {
  /** Position in the input (0-based). */
  index: number;
  kty?: string;
  crv?: string;
  /** RSA modulus size. */
  bits?: number;
  alg?: string;
  use?: string;
  kid?: string;
  /** RFC 7638 SHA-256 thumbprint of the public key. */
  thumbprint?: string;
  /** The input holds private (or secret) members for this key. */
  private: boolean;
  findings: Finding[];
}

/** The `key_ops` values that fit each `use` (RFC 7517 §4.3: the two must agree). */
const OPS_FOR_USE: Record<string, string[]> = {
  sig: ['sign', 'verify'],
  enc: ['encrypt', 'decrypt', 'wrapKey', 'unwrapKey', 'deriveKey', 'deriveBits'],
};
const ALGS_FOR: Record<string, string[]> = {
  RSA: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'RSA-OAEP', 'RSA-OAEP-256'],
  'EC:P-256': ['ES256', 'ECDH-ES', 'ECDH-ES+A128KW', 'ECDH-ES+A256KW'],
  'EC:P-384': ['ES384', 'ECDH-ES', 'ECDH-ES+A128KW', 'ECDH-ES+A256KW'],
  'EC:P-521': ['ES512', 'ECDH-ES', 'ECDH-ES+A128KW', 'ECDH-ES+A256KW'],
  'EC:secp256k1': ['ES256K'],
  'OKP:Ed25519': ['EdDSA', 'Ed25519'],
  'OKP:Ed448': ['EdDSA', 'Ed448'],
  'OKP:X25519': ['ECDH-ES', 'ECDH-ES+A128KW', 'ECDH-ES+A256KW'],
  oct: ['HS256', 'HS384', 'HS512', 'A128KW', 'A256KW', 'dir', 'A128GCM', 'A256GCM'],
};

/**
 * The report of the key at `index` of the input; `inSet` when it was published in a JWK set
 * (a private or symmetric key there is an error, not a warning).
 */
export async function inspectJwk(
  value: unknown,
  index: number,
  inSet: boolean,
): Promise<KeyReport> {
  const report: KeyReport = { index, private: false, findings: [] };
  const add = (severity: Severity, code: string, message: string) =>
    report.findings.push({ severity, code, message });
  if (!isJsonObject(value)) {
    add('error', 'NOT_A_KEY', 'not a JSON object');
    return report;
  }
  const jwk = value as JWK & Record<string, unknown>;
  const str = (name: string) => (typeof jwk[name] === 'string' ? (jwk[name] as string) : undefined);
  report.kty = str('kty');
  report.crv = str('crv');
  report.alg = str('alg');
  report.use = str('use');
  report.kid = str('kid');
  const privateMembers = PRIVATE_JWK_MEMBERS.filter((m) => jwk[m] !== undefined);
  report.private = privateMembers.length > 0;

  if (report.kty === undefined) {
    add('error', 'UNKNOWN_KTY', 'no kty');
    return report;
  }
  if (!['RSA', 'EC', 'OKP', 'oct'].includes(report.kty)) {
    add(
      'error',
      'UNKNOWN_KTY',
      `unknown kty ${JSON.stringify(report.kty)}; go-jose and Go's jwkset before v0.11 reject the whole set for one such key`,
    );
    return report;
  }
  if (report.kty === 'oct') {
    add(
      inSet ? 'error' : 'warning',
      'SYMMETRIC_KEY',
      inSet
        ? 'a symmetric (oct) key in a JWK set publishes a shared secret'
        : 'a symmetric (oct) key is a shared secret; never publish it',
    );
  }
  if (report.private && inSet) {
    add(
      'error',
      'PRIVATE_IN_SET',
      `private members (${privateMembers.join(', ')}) in a JWK set: anyone who fetches it can sign`,
    );
  }
  if (report.kty !== 'oct') {
    let publicKey: KeyObject | undefined;
    try {
      publicKey = createPublicKey({ key: publicMembers(jwk) as JsonWebKey, format: 'jwk' });
    } catch (e) {
      add('error', 'INVALID_KEY', `not a usable ${report.kty} key: ${(e as Error).message}`);
    }
    if (publicKey) {
      const bits = publicKey.asymmetricKeyDetails?.modulusLength;
      if (bits !== undefined) report.bits = bits;
      if (report.kty === 'RSA' && bits !== undefined && bits < MIN_RSA_BITS) {
        add(
          'error',
          'RSA_TOO_SMALL',
          `RSA ${bits} bits; at least ${MIN_RSA_BITS} are required (RFC 7518, and most verifiers)`,
        );
      }
      if (report.private && jwk.d !== undefined) checkPair(jwk, publicKey, add);
    }
  }
  try {
    report.thumbprint = await calculateJwkThumbprint(jwk, 'sha256');
  } catch {
    // An invalid key has already been reported above.
  }
  const family =
    report.kty === 'EC' || report.kty === 'OKP' ? `${report.kty}:${report.crv}` : report.kty;
  const allowed = ALGS_FOR[family];
  if (report.alg === undefined) {
    add('warning', 'MISSING_ALG', 'no alg: verifiers must guess which algorithm the key is for');
  } else if (allowed && !allowed.includes(report.alg)) {
    add(
      'error',
      'ALG_MISMATCH',
      `alg ${report.alg} does not fit a ${family.replace(':', ' ')} key (${allowed.filter((a) => !a.includes('-') && !a.startsWith('A') && a !== 'dir').join(', ')})`,
    );
  }
  checkUseAndOps(jwk, add);
  if (Array.isArray(jwk.x5c) && jwk.kty !== 'oct') await checkCertificate(jwk, add);
  if (report.use !== undefined && report.use !== 'sig') {
    add(
      'note',
      'NOT_FOR_SIGNING',
      `use is ${JSON.stringify(report.use)}: not for verifying signatures`,
    );
  }
  if (report.kid === undefined) {
    add(
      'warning',
      'MISSING_KID',
      report.thumbprint
        ? `no kid (its RFC 7638 thumbprint would be ${report.thumbprint})`
        : 'no kid',
    );
  } else if (report.thumbprint && report.kid !== report.thumbprint) {
    add(
      'note',
      'KID_NOT_THUMBPRINT',
      'the kid is not the RFC 7638 thumbprint (fine, just not self-describing)',
    );
  }
  return report;
}

/** `use` and `key_ops` must not contradict each other (RFC 7517 §4.3). */
function checkUseAndOps(jwk: JWK, add: (s: Severity, c: string, m: string) => void): void {
  const ops = jwk.key_ops;
  if (ops === undefined) return;
  if (!Array.isArray(ops) || ops.some((o) => typeof o !== 'string')) {
    add('error', 'BAD_KEY_OPS', 'key_ops must be an array of strings');
    return;
  }
  const fitting = jwk.use !== undefined ? OPS_FOR_USE[jwk.use] : undefined;
  const misfits = fitting ? ops.filter((o) => !fitting.includes(o)) : [];
  if (misfits.length > 0) {
    add(
      'error',
      'USE_KEY_OPS_CONFLICT',
      `use is ${JSON.stringify(jwk.use)} but key_ops lists ${misfits.join(', ')}; verifiers that check both refuse the key`,
    );
  }
}

/** The `x5c` leaf certificate must carry this very key, and `x5t`/`x5t#S256` must be its hashes. */
async function checkCertificate(
  jwk: JWK & Record<string, unknown>,
  add: (s: Severity, c: string, m: string) => void,
): Promise<void> {
  const [first] = jwk.x5c as unknown[];
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(Buffer.from(String(first), 'base64'));
  } catch (e) {
    add(
      'error',
      'X5C_INVALID',
      `the first x5c entry is not a certificate: ${(e as Error).message}`,
    );
    return;
  }
  try {
    const stated = createPublicKey({ key: publicMembers(jwk) as JsonWebKey, format: 'jwk' });
    const spki = (k: KeyObject) => k.export({ type: 'spki', format: 'der' });
    if (!spki(stated).equals(spki(leaf.publicKey))) {
      add(
        'error',
        'X5C_KEY_MISMATCH',
        `the x5c leaf certificate (${leaf.subject.replace(/\n/g, ', ')}) holds another key than this JWK`,
      );
    }
  } catch {
    return; // An unusable key was reported already.
  }
  const expected = certificateThumbprints(leaf.raw);
  for (const [member, hash] of [
    ['x5t', 'sha1'],
    ['x5t#S256', 'sha256'],
  ] as const) {
    const value = jwk[member];
    if (value !== undefined && value !== expected[member]) {
      add('error', 'X5T_MISMATCH', `${member} is not the ${hash} hash of the x5c leaf certificate`);
    }
  }
}

/** Signs a random message with the private part and verifies it with the stated public part. */
function checkPair(
  jwk: JWK,
  publicKey: KeyObject,
  add: (s: Severity, c: string, m: string) => void,
): void {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' });
  } catch (e) {
    // The public part is valid here; Node 24 refuses a private part that does not fit it.
    add(
      'error',
      'KEY_INCONSISTENT',
      `the private part does not belong to the public part (${(e as Error).message})`,
    );
    return;
  }
  if (!keysMatch(privateKey, publicKey)) {
    add('error', 'KEY_INCONSISTENT', 'the private part does not belong to the public part');
  }
}
