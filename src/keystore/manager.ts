/**
 * Keeps this instance's view of the shared key ring current: creates the first ring (once
 * across instances), follows changes (pub/sub, periodic re-read), fires at every key-state
 * transition, writes the ring back when the store lost it, and runs rotate / revoke / import.
 */
import type { JWK } from 'jose';
import type { SigningAlg } from '../algorithms.js';
import { KeyError } from '../errors.js';
import {
  type ImportOptions,
  importKey,
  type RotateOptions,
  revokeKid,
  rotateNow,
} from './commands.js';
import {
  buildJwksDocument,
  type JwksDocument,
  type KeyRingSummary,
  summarizeRing,
} from './jwks.js';
import {
  activeKid,
  nextTransitionAt,
  providerKeys,
  publishedKeys,
  ringFingerprint,
} from './lifecycle.js';
import { generateSigningKey, normalizePrivateJwk } from './material.js';
import { planRing, reassertRing } from './plan.js';
import { type RotationReport, rotationReport } from './rotation-report.js';
import type { FreshKey, KeyRing, KeyRingStore, RotationPolicy, SigningJwk } from './types.js';

/** The subset of a pino logger the manager uses. */
export interface KeyRingLogger {
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
}

export interface KeyRingManagerOptions {
  store: KeyRingStore;
  policy: RotationPolicy;
  /** Epoch milliseconds; injected so tests can move time. Default `Date.now`. */
  clock?: () => number;
  /** Re-read the store this often as a fallback for missed notices. Default 5000 ms. */
  refreshIntervalMs?: number;
  /** While no ring could be read yet, retry this often. Default min(1000, refreshIntervalMs). */
  retryIntervalMs?: number;
  logger?: KeyRingLogger;
  /** Generates candidate keys. Default `generateSigningKey`. */
  generateKey?: (alg: SigningAlg) => Promise<SigningJwk>;
}

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

/** Candidates kept ready per algorithm: enough for any single update (first ring: 2). */
const POOL_SIZE = 2;
const MAX_TIMER_MS = 2 ** 31 - 1;

const noopLogger: KeyRingLogger = { info() {}, warn() {}, error() {} };

/**
 * One instance's handle on the shared key ring. Typical use:
 * ```ts
 * const keys = new KeyRingManager({ store, policy });
 * keys.onChange(() => swapProvider(keys.signingKeys(), keys.current()!.cookieKeys));
 * await keys.start();
 * ```
 * `start()` never invents keys while the store is unreachable: it resolves anyway and keeps
 * retrying in the background (`current()` stays `undefined`, `isInSync` false).
 */
export class KeyRingManager {
  readonly #store: KeyRingStore;
  #policy: RotationPolicy;
  readonly #clock: () => number;
  readonly #refreshMs: number;
  readonly #retryMs: number;
  readonly #log: KeyRingLogger;
  readonly #generate: (alg: SigningAlg) => Promise<SigningJwk>;

  #ring: KeyRing | undefined;
  #emitted = '';
  #jwks: JwksDocument | undefined;
  #lastSyncAt: number | undefined;
  #lastError: Error | undefined;
  readonly #listeners = new Set<(ring: KeyRing) => void>();
  readonly #pool = new Map<SigningAlg, SigningJwk[]>();
  #filling: Promise<void> | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #pendingSync: Promise<void> | undefined;
  #refreshTimer: NodeJS.Timeout | undefined;
  #transitionTimer: NodeJS.Timeout | undefined;
  #unsubscribe: (() => Promise<void>) | undefined;
  #running = false;

  constructor(options: KeyRingManagerOptions) {
    this.#store = options.store;
    this.#policy = options.policy;
    this.#clock = options.clock ?? Date.now;
    this.#refreshMs = options.refreshIntervalMs ?? 5000;
    this.#retryMs = options.retryIntervalMs ?? Math.min(1000, this.#refreshMs);
    this.#log = options.logger ?? noopLogger;
    this.#generate = options.generateKey ?? generateSigningKey;
  }

  /**
   * Loads the ring (creating the first one when the store is empty), subscribes to change
   * notices and starts the timers. Resolves even when the store is unreachable.
   */
  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    await this.#syncQuietly();
    try {
      this.#unsubscribe = await this.#store.subscribe(() => void this.#syncQuietly());
    } catch (err) {
      this.#log.warn({ err }, 'key ring change notices unavailable; relying on periodic re-reads');
    }
    this.#armRefresh();
  }

  /** Clears the timers and unsubscribes. The store itself belongs to the caller. */
  async stop(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#refreshTimer);
    clearTimeout(this.#transitionTimer);
    const unsubscribe = this.#unsubscribe;
    this.#unsubscribe = undefined;
    await unsubscribe?.();
    await this.#queue.catch(() => {});
  }

  /**
   * Follows a changed policy (a config reload): new algorithms get their first key, removed
   * ones keep theirs until they retire, and later rotations use the new periods. Keys already
   * in the ring keep their stored times. Resolves once the ring was brought up to date (or the
   * store could not be reached, which the next re-read retries).
   */
  async setPolicy(policy: RotationPolicy): Promise<void> {
    this.#policy = policy;
    await this.#syncQuietly();
  }

  /** The last ring read or written; still served while the store is unreachable. */
  current(): KeyRing | undefined {
    return this.#ring;
  }

  /** `providerKeys` of the current ring at the current time (see lifecycle.ts). */
  signingKeys(): SigningJwk[] {
    return providerKeys(this.#ring, this.#clock());
  }

  /** The JWKS response for the current ring; rebuilt only when the ring or a state changes. */
  jwks(): JwksDocument | undefined {
    return this.#jwks;
  }

  /**
   * Calls `listener` whenever the ring's content changes (written here, announced by another
   * instance, or found by a re-read) and whenever a key changes state (at the stored
   * transition time). Returns a function that removes the listener.
   */
  onChange(listener: (ring: KeyRing) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** When the store was last read or written successfully (clock ms). */
  get lastSyncAt(): number | undefined {
    return this.#lastSyncAt;
  }

  /** The error of the last failed store access, cleared by the next success. */
  get lastError(): Error | undefined {
    return this.#lastError;
  }

  /** True when the store was reached within the last `maxAgeMs` (for readiness). */
  isInSync(maxAgeMs: number): boolean {
    return this.#lastSyncAt !== undefined && this.#clock() - this.#lastSyncAt <= maxAgeMs;
  }

  /**
   * Re-reads the store now and brings the ring up to date (first ring, next keys, removals,
   * write-back after data loss). Rejects when the store is unreachable.
   */
  refresh(): Promise<void> {
    this.#pendingSync ??= this.#exclusive(async () => {
      this.#pendingSync = undefined;
      await this.#sync();
    });
    return this.#pendingSync;
  }

  /**
   * A rotation of `alg` (default: the policy's first algorithm). If another instance rotated
   * since this one read the ring, nothing more happens, so concurrent requests give exactly
   * one new signing key. Resolves to the ring's public summary (no private members) and what
   * the rotation did.
   * @throws RotationTooEarlyError while the next key is younger than the pre-publication lead,
   *   unless `options.early` (see `RotateOptions`).
   */
  rotate(
    alg: SigningAlg = this.#policy.algorithms[0]!,
    options: RotateOptions = {},
  ): Promise<RotationSummary> {
    return this.#exclusive(async () => {
      const before = await this.#loadExisting();
      const now = this.#clock();
      const expected = activeKid(before, alg, now);
      let notBefore: number | undefined;
      const ring = await this.#update((current, fresh) => {
        notBefore = undefined;
        if (!current || activeKid(current, alg, now) !== expected) return undefined;
        const outcome = rotateNow(current, alg, now, this.#policy, fresh, options);
        if (outcome.rotated) return outcome.ring;
        notBefore = outcome.notBefore;
        return undefined;
      });
      if (notBefore !== undefined) throw new RotationTooEarlyError(alg, notBefore);
      const rotation = rotationReport(ring, alg, now, this.#policy);
      if (!rotation) throw new KeyError('NO_NEXT_KEY', `no ${alg} key is waiting to take over`);
      if (rotation.early) this.#log.warn({ ...rotation }, 'signing key rotated early');
      else this.#log.info({ alg, kid: rotation.activeKid }, 'signing key rotated');
      return { ...summarizeRing(ring, now), rotation };
    });
  }

  /**
   * Emergency revocation: `kid` is unpublished at once; if it was signing, the next key signs
   * at once. @throws KeyError `KID_NOT_FOUND`.
   */
  revoke(kid: string): Promise<KeyRingSummary> {
    return this.#exclusive(async () => {
      const before = await this.#loadExisting();
      if (!before.keys.some((k) => k.kid === kid)) {
        throw new KeyError('KID_NOT_FOUND', `no key ${kid} in the key ring`);
      }
      const now = this.#clock();
      const ring = await this.#update((current, fresh) =>
        current ? revokeKid(current, kid, now, this.#policy, fresh) : undefined,
      );
      this.#log.warn({ kid }, 'signing key revoked');
      return summarizeRing(ring, now);
    });
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
    return this.#exclusive(async () => {
      await this.#loadExisting();
      const now = this.#clock();
      const ring = await this.#update((current, fresh) => {
        if (!current) return undefined;
        let next = current;
        for (const jwk of normalized) {
          next = importKey(next, jwk, now, this.#policy, options, fresh);
        }
        return next;
      });
      this.#log.info({ kids: normalized.map((k) => k.kid) }, 'signing keys imported');
      return summarizeRing(ring, now);
    });
  }

  async #loadExisting(): Promise<KeyRing> {
    const ring = await this.#store.load();
    if (!ring) throw new KeyError('KEYRING_EMPTY', 'the key ring has not been created yet');
    return ring;
  }

  /** One synchronization with the store: plan, write back after data loss, adopt. */
  async #sync(): Promise<void> {
    const now = this.#clock();
    const held = this.#ring;
    let lost = false;
    const ring = await this.#update((current, fresh) => {
      // Versions only grow, so a stored ring not newer than ours but different means the
      // store lost data: write ours back (keeping anything it holds that we do not).
      lost =
        held !== undefined &&
        (current === undefined ||
          (current.version <= held.version && ringFingerprint(current) !== ringFingerprint(held)));
      if (held && lost) {
        const restored = reassertRing(held, current, now, this.#policy);
        return planRing(restored, this.#policy, now, fresh) ?? restored;
      }
      return planRing(current, this.#policy, now, fresh);
    });
    if (lost) {
      this.#log.warn(
        { version: ring.version, kids: ring.keys.map((k) => k.kid) },
        'the store had lost the key ring (or held an older one); wrote the held ring back',
      );
    }
  }

  /**
   * Runs `updater` through the store with this instance's candidate keys and adopts the
   * result.
   */
  async #update(
    updater: (current: KeyRing | undefined, fresh: FreshKey) => KeyRing | undefined,
  ): Promise<KeyRing> {
    // Most updates mint nothing, so none waits for key generation up front (RSA takes ~100 ms):
    // an updater that needs a candidate the pool lacks fails, the pool is filled and it runs
    // again. The pool is then refilled in the background for the next rotation.
    try {
      return await this.#updateOnce(updater);
    } catch (err) {
      if (!(err instanceof KeyError && err.code === 'NO_CANDIDATE_KEY')) throw err;
      await this.#fillPool();
      return this.#updateOnce(updater);
    } finally {
      this.#refillInBackground();
    }
  }

  #refillInBackground(): void {
    if (!this.#running) return;
    this.#fillPool().catch((err: unknown) => {
      this.#log.warn({ err }, 'could not prepare candidate signing keys');
    });
  }

  async #updateOnce(
    updater: (current: KeyRing | undefined, fresh: FreshKey) => KeyRing | undefined,
  ): Promise<KeyRing> {
    const handedOut = new Set<string>();
    let refused = false;
    let result: { ring: KeyRing | undefined; changed: boolean };
    try {
      result = await this.#store.update((current) => {
        const used = new Map<SigningAlg, number>();
        const fresh: FreshKey = (alg) => {
          const i = used.get(alg) ?? 0;
          const candidate = this.#pool.get(alg)?.[i];
          if (!candidate) {
            throw new KeyError('NO_CANDIDATE_KEY', `no fresh ${alg} key was prepared`);
          }
          used.set(alg, i + 1);
          handedOut.add(candidate.kid);
          return candidate;
        };
        try {
          return updater(current, fresh);
        } catch (err) {
          refused = true;
          throw err;
        }
      });
    } catch (err) {
      // The updater refused (e.g. KID_EXISTS): nothing was written and the store was fine.
      if (refused) throw err;
      // A write whose reply was lost may have landed: never offer those candidates again.
      this.#discardCandidates(handedOut);
      this.#noteFailure(err);
      throw err;
    }
    const ring = result.ring;
    this.#discardCandidates(new Set(ring?.keys.map((k) => k.kid)));
    this.#fillPool().catch((err) => this.#log.error({ err }, 'could not generate candidate keys'));
    this.#lastSyncAt = this.#clock();
    if (this.#lastError) this.#log.info({}, 'key ring store reachable again');
    this.#lastError = undefined;
    if (!ring) throw new KeyError('KEYRING_EMPTY', 'the key ring has not been created yet');
    this.#adopt(ring);
    return ring;
  }

  #adopt(ring: KeyRing): void {
    this.#ring = ring;
    this.#emitIfChanged();
  }

  /** Fires the listeners when the content or any key's state differs from the last firing. */
  #emitIfChanged(): void {
    const ring = this.#ring;
    if (!ring) return;
    const now = this.#clock();
    const states = publishedKeys(ring, now).map((k) => `${k.kid}:${k.state}`);
    const fingerprint = `${ringFingerprint(ring)}|${states.join(',')}`;
    this.#armTransition(ring, now);
    if (fingerprint === this.#emitted) return;
    this.#emitted = fingerprint;
    this.#jwks = buildJwksDocument(ring, now, this.#policy);
    for (const listener of this.#listeners) {
      try {
        listener(ring);
      } catch (err) {
        this.#log.error({ err }, 'key ring change listener failed');
      }
    }
  }

  #armTransition(ring: KeyRing, now: number): void {
    clearTimeout(this.#transitionTimer);
    if (!this.#running) return;
    const at = nextTransitionAt(ring, now, this.#policy);
    if (at === undefined) return;
    this.#transitionTimer = setTimeout(
      () => {
        if (this.#clock() < at) return this.#armTransition(ring, this.#clock());
        // Fire at the transition itself, then let the store mint what the new state needs.
        this.#emitIfChanged();
        void this.#syncQuietly();
      },
      Math.min(Math.max(at - now, 0), MAX_TIMER_MS),
    );
    this.#transitionTimer.unref();
  }

  #armRefresh(): void {
    clearTimeout(this.#refreshTimer);
    if (!this.#running) return;
    const delay = this.#ring ? this.#refreshMs : this.#retryMs;
    this.#refreshTimer = setTimeout(async () => {
      await this.#syncQuietly();
      this.#armRefresh();
    }, delay);
    this.#refreshTimer.unref();
  }

  async #syncQuietly(): Promise<void> {
    try {
      await this.refresh();
    } catch {
      // Logged by #noteFailure; the held ring keeps being served.
    }
  }

  #noteFailure(err: unknown): void {
    const error = err instanceof Error ? err : new Error(String(err));
    if (this.#lastError?.message !== error.message) {
      this.#log.error({ err: error }, 'key ring store access failed; serving the held key ring');
    }
    this.#lastError = error;
  }

  #discardCandidates(kids: Set<string>): void {
    for (const [alg, list] of this.#pool) {
      this.#pool.set(
        alg,
        list.filter((k) => !kids.has(k.kid)),
      );
    }
  }

  /** Tops every policy algorithm's candidates up to `POOL_SIZE`. */
  async #fillPool(): Promise<void> {
    const missing = () =>
      this.#policy.algorithms.some((alg) => (this.#pool.get(alg)?.length ?? 0) < POOL_SIZE);
    // Candidates may be used while a round is generating, so check again after each round.
    while (missing()) {
      this.#filling ??= this.#fillRound().finally(() => {
        this.#filling = undefined;
      });
      await this.#filling;
    }
  }

  async #fillRound(): Promise<void> {
    await Promise.all(
      this.#policy.algorithms.map(async (alg) => {
        const have = this.#pool.get(alg)?.length ?? 0;
        const made = await Promise.all(
          Array.from({ length: Math.max(POOL_SIZE - have, 0) }, () => this.#generate(alg)),
        );
        this.#pool.set(alg, [...(this.#pool.get(alg) ?? []), ...made]);
      }),
    );
  }

  #exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task);
    this.#queue = run.catch(() => {});
    return run;
  }
}
