/**
 * The key ring's operations over a store: bring the ring up to date, rotate, revoke, import.
 * Each runs a pure updater (plan.ts, commands.ts) through the store's compare-and-set with
 * candidate keys generated beforehand, re-checking on the ring it is given that another
 * instance has not done the same already. The `keys` commands run them directly; the watcher
 * (watcher.ts) runs them one at a time and follows what they wrote.
 */
import type { JWK } from 'jose';
import type { SigningAlg } from '../algorithms.js';
import { KeyError } from '../errors.js';
import { CandidatePool } from './candidates.js';
import {
  type ImportOptions,
  importKey,
  type RotateOptions,
  revokeKid,
  rotateNow,
} from './commands.js';
import { type KeyRingSummary, summarizeRing } from './jwks.js';
import { activeKid, ringFingerprint } from './lifecycle.js';
import { normalizePrivateJwk } from './material.js';
import { planRing, reassertRing } from './plan.js';
import { type RotationReport, rotationReport } from './rotation-report.js';
import type { FreshKey, KeyRing, KeyRingStore, RotationPolicy } from './types.js';

/** The subset of a pino logger the key ring uses. */
export interface KeyRingLogger {
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
}

export const noopLogger: KeyRingLogger = { info() {}, warn() {}, error() {} };

/** What `rotate` resolves to: the ring after it, and what the rotation did. */
export interface RotationSummary extends KeyRingSummary {
  rotation: RotationReport;
}

/** Thrown by `rotate` while the waiting key has not been published long enough. */
export class RotationTooEarlyError extends KeyError {
  /** When the rotation becomes possible (epoch ms). */
  readonly notBefore: number;
  constructor(alg: SigningAlg, notBefore: number) {
    super(
      'ROTATION_TOO_EARLY',
      `the next ${alg} key has not been published long enough; ` +
        `rotation is possible from ${new Date(notBefore).toISOString()} ` +
        '(or rotate early with `keys rotate --now`, or revoke the active key)',
      { details: { notBefore: new Date(notBefore).toISOString() } },
    );
    this.notBefore = notBefore;
  }
}

/** Told how each write went, by a caller that follows the ring (the watcher). */
export interface WriteObserver {
  /** The store answered; `ring` is what it holds now (`undefined`: no ring yet). */
  reached(ring: KeyRing | undefined): void;
  /** The store could not be reached, or the reply to a write was lost. */
  failed(err: unknown): void;
}

export interface KeyRotationOptions {
  store: KeyRingStore;
  policy: RotationPolicy;
  /** Epoch milliseconds; injected so tests can move time. Default `Date.now`. */
  clock?: () => number;
  /** Default: a pool of its own over `generateSigningKey`. */
  candidates?: CandidatePool;
  logger?: KeyRingLogger;
  observer?: WriteObserver;
}

type Updater = (current: KeyRing | undefined, fresh: FreshKey) => KeyRing | undefined;

/**
 * The key ring's operations on one store. Several instances (processes) may run them at once:
 * every write is a compare-and-set, and each operation re-checks the current ring inside it.
 */
export class KeyRotation {
  /** The policy the next operation plans with (the watcher replaces it on a reload). */
  policy: RotationPolicy;
  readonly #store: KeyRingStore;
  readonly #clock: () => number;
  readonly #candidates: CandidatePool;
  readonly #log: KeyRingLogger;
  readonly #observer: WriteObserver | undefined;

  constructor(options: KeyRotationOptions) {
    this.policy = options.policy;
    this.#store = options.store;
    this.#clock = options.clock ?? Date.now;
    this.#candidates = options.candidates ?? new CandidatePool();
    this.#log = options.logger ?? noopLogger;
    this.#observer = options.observer;
  }

  /**
   * Brings the stored ring up to date (`planRing`: the first ring, next keys, removals), as a
   * starting instance does, and resolves to it. With `held`, the ring this instance holds:
   * when the store has lost it (versions only grow, so a stored ring not newer than `held` but
   * different means lost data), `held` is written back, keeping what the store holds besides.
   */
  async sync(held?: KeyRing): Promise<KeyRing> {
    const now = this.#clock();
    let lost = false;
    const ring = await this.#write((current, fresh) => {
      lost =
        held !== undefined &&
        (current === undefined ||
          (current.version <= held.version && ringFingerprint(current) !== ringFingerprint(held)));
      if (held && lost) {
        const restored = reassertRing(held, current, now, this.policy);
        return planRing(restored, this.policy, now, fresh) ?? restored;
      }
      return planRing(current, this.policy, now, fresh);
    });
    if (lost) {
      this.#log.warn(
        { version: ring.version, kids: ring.keys.map((k) => k.kid) },
        'the store had lost the key ring (or held an older one); wrote the held ring back',
      );
    }
    return ring;
  }

  /**
   * A rotation of `alg` (default: the policy's first algorithm). If another instance rotated
   * since this one read the ring, nothing more happens, so concurrent requests give exactly
   * one new signing key. Resolves to the ring's public summary (no private members) and what
   * the rotation did.
   * @throws RotationTooEarlyError while the next key is younger than the pre-publication lead,
   *   unless `options.early` (see `RotateOptions`).
   */
  async rotate(alg?: SigningAlg, options: RotateOptions = {}): Promise<RotationSummary> {
    const which = alg ?? this.policy.algorithms[0]!;
    const before = await this.#loadExisting();
    const now = this.#clock();
    const expected = activeKid(before, which, now);
    let notBefore: number | undefined;
    const ring = await this.#write((current, fresh) => {
      notBefore = undefined;
      if (!current || activeKid(current, which, now) !== expected) return undefined;
      const outcome = rotateNow(current, which, now, this.policy, fresh, options);
      if (outcome.rotated) return outcome.ring;
      notBefore = outcome.notBefore;
      return undefined;
    });
    if (notBefore !== undefined) throw new RotationTooEarlyError(which, notBefore);
    const rotation = rotationReport(ring, which, now, this.policy);
    if (!rotation) throw new KeyError('NO_NEXT_KEY', `no ${which} key is waiting to take over`);
    if (rotation.early) this.#log.warn({ ...rotation }, 'signing key rotated early');
    else this.#log.info({ alg: which, kid: rotation.activeKid }, 'signing key rotated');
    return { ...summarizeRing(ring, now), rotation };
  }

  /**
   * Emergency revocation: `kid` is unpublished at once; if it was signing, the next key signs
   * at once. @throws KeyError `KID_NOT_FOUND`.
   */
  async revoke(kid: string): Promise<KeyRingSummary> {
    const before = await this.#loadExisting();
    if (!before.keys.some((k) => k.kid === kid)) {
      throw new KeyError('KID_NOT_FOUND', `no key ${kid} in the key ring`);
    }
    const now = this.#clock();
    const ring = await this.#write((current, fresh) =>
      current ? revokeKid(current, kid, now, this.policy, fresh) : undefined,
    );
    this.#log.warn({ kid }, 'signing key revoked');
    return summarizeRing(ring, now);
  }

  /**
   * Adds private keys (JWKs, e.g. from `parsePrivateKeys`), checked again here. Each enters
   * as its algorithm's next key, or signs at once with `activateNow`.
   * @throws KeyError from `normalizePrivateJwk` and `importKey`.
   */
  async import(keys: JWK | JWK[], options: ImportOptions = {}): Promise<KeyRingSummary> {
    const list = Array.isArray(keys) ? keys : [keys];
    const normalized = await Promise.all(
      list.map((k) => normalizePrivateJwk(k, k.alg ? { alg: k.alg as SigningAlg } : {})),
    );
    await this.#loadExisting();
    const now = this.#clock();
    const ring = await this.#write((current, fresh) => {
      if (!current) return undefined;
      let next = current;
      for (const jwk of normalized) {
        next = importKey(next, jwk, now, this.policy, options, fresh);
      }
      return next;
    });
    this.#log.info({ kids: normalized.map((k) => k.kid) }, 'signing keys imported');
    return summarizeRing(ring, now);
  }

  async #loadExisting(): Promise<KeyRing> {
    const ring = await this.#store.load();
    if (!ring) throw new KeyError('KEYRING_EMPTY', 'the key ring has not been created yet');
    return ring;
  }

  /** Runs `updater` through the store with the pool's candidates; resolves to the ring after. */
  async #write(updater: Updater): Promise<KeyRing> {
    // Most updates mint nothing, so none waits for key generation up front: an updater that
    // needs a candidate the pool lacks fails, the pool is filled and it runs again.
    try {
      return await this.#writeOnce(updater);
    } catch (err) {
      if (!(err instanceof KeyError && err.code === 'NO_CANDIDATE_KEY')) throw err;
      await this.#candidates.fill(this.policy.algorithms);
      return this.#writeOnce(updater);
    }
  }

  async #writeOnce(updater: Updater): Promise<KeyRing> {
    const taken = new Set<string>();
    let refused = false;
    let ring: KeyRing | undefined;
    try {
      ({ ring } = await this.#store.update((current) => {
        try {
          return updater(current, this.#candidates.offer(taken));
        } catch (err) {
          refused = true;
          throw err;
        }
      }));
    } catch (err) {
      // The updater refused (e.g. KID_EXISTS): nothing was written and the store was fine.
      if (refused) throw err;
      // A write whose reply was lost may have landed: never offer those candidates again.
      this.#candidates.discard(taken);
      this.#observer?.failed(err);
      throw err;
    }
    this.#candidates.discard(ring?.keys.map((k) => k.kid) ?? []);
    this.#observer?.reached(ring);
    if (!ring) throw new KeyError('KEYRING_EMPTY', 'the key ring has not been created yet');
    return ring;
  }
}
