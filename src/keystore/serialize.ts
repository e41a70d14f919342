/**
 * The key ring at rest. One JSON envelope whose `version` is readable without the secret (so a
 * Redis script can compare-and-set on it) and whose ring is either plain or sealed with
 * AES-256-GCM under a key derived by HKDF-SHA256 from the configured secret (fresh salt and IV
 * on every write; the envelope's format and version are bound in as associated data).
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { SIGNING_ALGS } from '../algorithms.js';
import { KeyError } from '../errors.js';
import type { KeyRing } from './types.js';

const RING_FORMAT = 'oidc-issuer/keyring@1';
const HKDF_INFO = 'oidc-issuer key ring encryption v1';
const MIN_SECRET_LENGTH = 16;

/** How rings are written and read. */
export interface RingCodecOptions {
  /** Encrypt private keys at rest with a key derived from this secret (≥ 16 characters). */
  secret?: string;
  /**
   * With a secret set, still read a ring stored in plaintext (it is encrypted on the next
   * write). Off by default: whoever can write the store could otherwise plant their own keys.
   */
  acceptPlaintext?: boolean;
}

interface Sealed {
  kdf: 'HKDF-SHA256';
  enc: 'A256GCM';
  salt: string;
  iv: string;
  tag: string;
  ct: string;
}

interface Envelope {
  format: typeof RING_FORMAT;
  version: number;
  updatedAt: number;
  ring?: KeyRing;
  sealed?: Sealed;
}

/** @throws KeyError `KEYRING_SECRET_WEAK` when the secret is too short to be a secret. */
export function assertUsableSecret(secret: string | undefined): void {
  if (secret !== undefined && secret.length < MIN_SECRET_LENGTH) {
    throw new KeyError(
      'KEYRING_SECRET_WEAK',
      `the key ring secret must be at least ${MIN_SECRET_LENGTH} characters`,
    );
  }
}

function deriveKey(secret: string, salt: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, salt, HKDF_INFO, 32));
}

const aad = (version: number) => Buffer.from(`${RING_FORMAT}|${version}`);

/** The stored form of `ring`. */
export function serializeRing(ring: KeyRing, options: RingCodecOptions = {}): string {
  assertUsableSecret(options.secret);
  const envelope: Envelope = {
    format: RING_FORMAT,
    version: ring.version,
    updatedAt: ring.updatedAt,
  };
  if (options.secret === undefined) {
    envelope.ring = ring;
  } else {
    const salt = randomBytes(16);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', deriveKey(options.secret, salt), iv);
    cipher.setAAD(aad(ring.version));
    const ct = Buffer.concat([cipher.update(JSON.stringify(ring), 'utf8'), cipher.final()]);
    envelope.sealed = {
      kdf: 'HKDF-SHA256',
      enc: 'A256GCM',
      salt: salt.toString('base64url'),
      iv: iv.toString('base64url'),
      tag: cipher.getAuthTag().toString('base64url'),
      ct: ct.toString('base64url'),
    };
  }
  return JSON.stringify(envelope);
}

/**
 * The ring stored as `raw`.
 * @throws KeyError `KEYRING_CORRUPT`, `KEYRING_SECRET_REQUIRED` (sealed, no secret configured),
 *   `KEYRING_SECRET_MISMATCH` (sealed under another secret, or tampered with),
 *   `KEYRING_NOT_ENCRYPTED` (plaintext while a secret is configured).
 */
export function deserializeRing(raw: string, options: RingCodecOptions = {}): KeyRing {
  let envelope: Envelope;
  try {
    envelope = JSON.parse(raw) as Envelope;
  } catch (e) {
    throw new KeyError('KEYRING_CORRUPT', 'the stored key ring is not valid JSON', { cause: e });
  }
  if (envelope?.format !== RING_FORMAT || typeof envelope.version !== 'number') {
    throw new KeyError('KEYRING_CORRUPT', `the stored key ring is not in format ${RING_FORMAT}`);
  }
  let ring: unknown;
  if (envelope.sealed) {
    if (options.secret === undefined) {
      throw new KeyError(
        'KEYRING_SECRET_REQUIRED',
        'the stored key ring is encrypted but no key ring secret is configured',
      );
    }
    ring = open(envelope.sealed, envelope.version, options.secret);
  } else {
    if (options.secret !== undefined && !options.acceptPlaintext) {
      throw new KeyError(
        'KEYRING_NOT_ENCRYPTED',
        'keys.secret is set but the stored key ring is not encrypted; to encrypt it, start once ' +
          'with keys.acceptPlaintextRing: true (or KEYSTORE_ACCEPT_PLAINTEXT=true)',
      );
    }
    ring = envelope.ring;
  }
  const checked = checkRing(ring);
  return { ...checked, version: envelope.version, updatedAt: envelope.updatedAt };
}

function open(sealed: Sealed, version: number, secret: string): unknown {
  try {
    const salt = Buffer.from(sealed.salt, 'base64url');
    const decipher = createDecipheriv(
      'aes-256-gcm',
      deriveKey(secret, salt),
      Buffer.from(sealed.iv, 'base64url'),
    );
    decipher.setAAD(aad(version));
    decipher.setAuthTag(Buffer.from(sealed.tag, 'base64url'));
    const plain = Buffer.concat([
      decipher.update(Buffer.from(sealed.ct, 'base64url')),
      decipher.final(),
    ]);
    return JSON.parse(plain.toString('utf8'));
  } catch (e) {
    throw new KeyError(
      'KEYRING_SECRET_MISMATCH',
      'the stored key ring cannot be decrypted with the configured secret ' +
        '(it was written with another secret, or it was modified)',
      { cause: e },
    );
  }
}

const isNumber = (v: unknown) => typeof v === 'number' && Number.isFinite(v);

function checkRing(value: unknown): KeyRing {
  const ring = value as KeyRing;
  const fail = (why: string) => new KeyError('KEYRING_CORRUPT', `the stored key ring ${why}`);
  if (!ring || typeof ring !== 'object' || !Array.isArray(ring.keys)) throw fail('has no keys');
  if (!Array.isArray(ring.cookieKeys)) throw fail('has no cookie keys');
  for (const k of ring.keys) {
    if (
      typeof k?.kid !== 'string' ||
      !SIGNING_ALGS.includes(k.alg) ||
      typeof k.privateJwk !== 'object' ||
      k.privateJwk === null ||
      ![k.createdAt, k.activateAt, k.retireAt, k.removeAt].every(isNumber)
    ) {
      throw fail(`has a malformed key entry ${JSON.stringify(k?.kid ?? null)}`);
    }
  }
  return ring;
}
