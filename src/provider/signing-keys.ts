/**
 * The ring's private keys as oidc-provider signs with them: each an `ExternalSigningKey`
 * (oidc-provider's `features.externalSigningSupport`) whose signature node:crypto makes.
 *
 * Given plain private JWKs, oidc-provider signs through jose, which signs through WebCrypto:
 * per token that is an algorithm normalisation, a WebIDL conversion, a CryptoKey and a promise
 * job on top of the signature itself. `crypto.sign` with a callback runs the same OpenSSL
 * signature on the same libuv thread pool (the event loop stays free) without those layers:
 * with ES256 about a tenth of a token request's CPU (BENCHMARKS.md). The header and payload are
 * still written by oidc-provider (`helpers/jwt.js`), and verifying uses the public KeyObject.
 */
import {
  createPrivateKey,
  createPublicKey,
  type JsonWebKeyInput,
  type KeyObject,
  type SignKeyObjectInput,
  sign,
} from 'node:crypto';
import { ExternalSigningKey } from 'oidc-provider';
import { ALGORITHMS } from '../algorithms.js';
import type { SigningJwk } from '../keystore/types.js';

/**
 * The `features.externalSigningSupport` setting that lets {@link signingKeys} go into
 * `jwks.keys`. The feature is experimental in oidc-provider 9; `ack` names the version it
 * implements, and a version of oidc-provider that changes it refuses to build until this does.
 */
export const EXTERNAL_SIGNING = { enabled: true, ack: 'experimental-01' } as const;

/** The keys for oidc-provider's `jwks.keys`, in the order given (the first signs). */
export function signingKeys(keys: readonly SigningJwk[]): ExternalSigningKey[] {
  return keys.map((jwk) => new LocalSigningKey(jwk));
}

class LocalSigningKey extends ExternalSigningKey {
  /** The private key with the algorithm's signature options, as `crypto.sign` takes it. */
  readonly #signingKey: SignKeyObjectInput;
  readonly #public: KeyObject;
  readonly #hash: string | null;

  constructor(jwk: SigningJwk) {
    super();
    // The type declares only getters; the base class keeps both in private fields with setters.
    Object.assign(this, { kid: jwk.kid, alg: jwk.alg });
    const key = createPrivateKey({ key: jwk as JsonWebKeyInput['key'], format: 'jwk' });
    const { hash, signature } = ALGORITHMS[jwk.alg];
    this.#signingKey = { key, ...signature };
    this.#public = createPublicKey(key);
    this.#hash = hash;
  }

  /** The public key: oidc-provider reads the published members and verifies with it. */
  override keyObject(): KeyObject {
    return this.#public;
  }

  /** The JWS signature over `data` (the encoded header and payload joined by a dot). */
  override sign(data: Uint8Array): Promise<Buffer> {
    return new Promise((resolve, reject) =>
      sign(this.#hash, data, this.#signingKey, (err, signature) =>
        err ? reject(err) : resolve(signature),
      ),
    );
  }
}
