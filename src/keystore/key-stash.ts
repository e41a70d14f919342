/**
 * Signing keys generated ahead for the short-lived issuers of one process (the in-process test
 * API). An RSA key takes ~100 ms of CPU and every test issuer's first ring needs two, so a
 * test issuer started after another takes its keys from here, while the stash is topped up in
 * the background. Each key is handed out once: two issuers never share a key.
 */
import type { SigningAlg } from '../algorithms.js';
import { generateSigningKey } from './material.js';
import type { SigningJwk } from './types.js';

/** Keys kept ready per algorithm: one test issuer's first ring. */
const STASH_SIZE = 2;

/** A `generateKey` for `KeyRingWatcher` that takes from a stash and refills it behind. */
export class KeyStash {
  readonly #ready = new Map<SigningAlg, SigningJwk[]>();
  readonly #making = new Map<SigningAlg, number>();

  /** A key never handed out before: from the stash when one is ready, else generated now. */
  readonly take = async (alg: SigningAlg): Promise<SigningJwk> => {
    const key = this.#ready.get(alg)?.shift();
    this.#topUp(alg);
    return key ?? generateSigningKey(alg);
  };

  #topUp(alg: SigningAlg): void {
    const making = this.#making.get(alg) ?? 0;
    const missing = STASH_SIZE - (this.#ready.get(alg)?.length ?? 0) - making;
    for (let i = 0; i < missing; i += 1) {
      this.#making.set(alg, (this.#making.get(alg) ?? 0) + 1);
      generateSigningKey(alg)
        .then((key) => {
          this.#ready.set(alg, [...(this.#ready.get(alg) ?? []), key]);
        })
        // A failed background generation only means the next take generates in the foreground.
        .catch(() => {})
        .finally(() => this.#making.set(alg, (this.#making.get(alg) ?? 1) - 1));
    }
  }
}
