/**
 * The signing algorithms the issuer supports and what each one means for its keys: the one
 * place for this knowledge (generation, import, inspection, config and the CLI all read it).
 * To add an algorithm, add it to `SIGNING_ALGS` and give it a row in `ALGORITHMS`.
 */
import { constants } from 'node:crypto';

/** Signing algorithms the key ring can hold, in the order they are preferred for a key type. */
export const SIGNING_ALGS = ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];
/** The algorithm used when none is configured: RS256, the one every OIDC party supports. */
export const DEFAULT_SIGNING_ALG: SigningAlg = 'RS256';

/** The JWK key types the algorithms use. */
export type KeyType = 'RSA' | 'EC' | 'OKP';

/** What a signing algorithm needs of its key. */
export interface AlgorithmParams {
  /** The JWK `kty`. */
  kty: KeyType;
  /** node:crypto's key type (`KeyObject.asymmetricKeyType`, `generateKeyPair`'s first argument). */
  keyType: 'rsa' | 'ec' | 'ed25519';
  /** The JWK `crv` of EC and OKP keys. */
  crv?: 'P-256' | 'P-384' | 'Ed25519';
  /** node:crypto's name of the EC curve (`asymmetricKeyDetails.namedCurve`). */
  namedCurve?: 'prime256v1' | 'secp384r1';
  /** RSA: the modulus size of generated keys (imported keys may be larger). */
  modulusLength?: number;
  /** The digest the signature uses; `null` for EdDSA, which hashes internally. */
  hash: 'sha256' | 'sha384' | null;
  /**
   * How node:crypto's `sign` must be told to make the JWS signature: ECDSA as the raw `r || s`
   * of RFC 7518 §3.4 (not DER), RSASSA-PSS with a salt as long as the hash (§3.5).
   */
  signature: Readonly<{ dsaEncoding?: 'ieee-p1363'; padding?: number; saltLength?: number }>;
}

/** Each supported algorithm's key parameters. */
export const ALGORITHMS: Readonly<Record<SigningAlg, Readonly<AlgorithmParams>>> = {
  RS256: { kty: 'RSA', keyType: 'rsa', modulusLength: 2048, hash: 'sha256', signature: {} },
  PS256: {
    kty: 'RSA',
    keyType: 'rsa',
    modulusLength: 2048,
    hash: 'sha256',
    signature: { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
  },
  ES256: {
    kty: 'EC',
    keyType: 'ec',
    crv: 'P-256',
    namedCurve: 'prime256v1',
    hash: 'sha256',
    signature: { dsaEncoding: 'ieee-p1363' },
  },
  ES384: {
    kty: 'EC',
    keyType: 'ec',
    crv: 'P-384',
    namedCurve: 'secp384r1',
    hash: 'sha384',
    signature: { dsaEncoding: 'ieee-p1363' },
  },
  EdDSA: { kty: 'OKP', keyType: 'ed25519', crv: 'Ed25519', hash: null, signature: {} },
};

/** RSA keys smaller than this are refused (RFC 7518 §3.3, and most verifiers). */
export const MIN_RSA_BITS = 2048;
/** Larger RSA keys sign so slowly that one would stall every token request. */
export const MAX_RSA_BITS = 8192;

/**
 * JWK members that are private or secret (RFC 7518 §6.2.2, §6.3.2 and `k` of §6.4): a key
 * holding any of them must never be published.
 */
export const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/** The key types the algorithms take, for messages: "RSA, EC P-256/P-384 or Ed25519". */
export const SUPPORTED_KEYS = (() => {
  const rows = SIGNING_ALGS.map((alg) => ALGORITHMS[alg]);
  const names = [...new Set(rows.map((r) => r.kty))].map((kty) => {
    const curves = [...new Set(rows.filter((r) => r.kty === kty && r.crv).map((r) => r.crv))];
    // An OKP key is known by its curve alone.
    return kty === 'OKP' ? curves.join('/') : [kty, curves.join('/')].filter(Boolean).join(' ');
  });
  return `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`;
})();

/**
 * The public members each key type may publish, in the order they are written. A fixed list
 * (not "everything but the private members") so nothing unexpected, such as a private or
 * symmetric member under another name, can leak, and so every instance writes the same bytes.
 */
export const PUBLIC_JWK_MEMBERS: Readonly<Record<KeyType, readonly string[]>> = {
  RSA: ['e', 'n'],
  EC: ['crv', 'x', 'y'],
  OKP: ['crv', 'x'],
};

/** Whether `value` is one of the supported signing algorithms. */
export function isSigningAlg(value: unknown): value is SigningAlg {
  return (SIGNING_ALGS as readonly unknown[]).includes(value);
}

/**
 * The supported algorithms a node:crypto key of `keyType` (and EC `namedCurve`) can sign
 * with, in `SIGNING_ALGS` order (the first is the default). Empty when none fits.
 */
export function algorithmsForKey(keyType: string | undefined, namedCurve?: string): SigningAlg[] {
  return SIGNING_ALGS.filter((alg) => {
    const params = ALGORITHMS[alg];
    return params.keyType === keyType && params.namedCurve === namedCurve;
  });
}

/** `jwk` without its private members: the public key it holds. */
export function publicMembers<T extends object>(
  jwk: T,
): Omit<T, (typeof PRIVATE_JWK_MEMBERS)[number]> {
  const copy = { ...jwk } as Record<string, unknown>;
  for (const member of PRIVATE_JWK_MEMBERS) delete copy[member];
  return copy as Omit<T, (typeof PRIVATE_JWK_MEMBERS)[number]>;
}
