/**
 * Keeps this instance's view of the shared key ring current: creates the first ring (once
 * across instances), follows changes (pub/sub, periodic re-read), fires at every key-state
 * transition and writes the ring back when the store lost it. Rotate, revoke and import are
 * rotation.ts's operations, run one at a time with the rest.
 */
import type { JWK } from 'jose';
import type { SigningAlg } from '../algorithms.js';
import { CandidatePool } from './candidates.js';
import type { ImportOptions, RotateOptions } from './commands.js';
import { buildJwksDocument, type JwksDocument, type KeyRingSummary } from './jwks.js';
import { nextTransitionAt, providerKeys, publishedKeys, ringFingerprint } from './lifecycle.js';
import { type KeyRingLogger, KeyRotation, noopLogger, type RotationSummary } from './rotation.js';
import type { KeyRing, KeyRingStore, RotationPolicy, SigningJwk } from './types.js';

export interface KeyRingWatcherOptions {
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
  /**
   * Refill the candidate pool in the background after each store operation but the start's
   * first read, and on `prepareCandidates` (default true), so a later rotation need not wait
   * for key generation. Off, a rotation generates what it needs then.
   */
  refillInBackground?: boolean;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * One instance's handle on the shared key ring. Typical use:
 * ```ts
 * const keys = new KeyRingWatcher({ store, policy });
 * keys.onChange(() => swapProvider(keys.signingKeys(), keys.current()!.cookieKeys));
 * await keys.start();
 * ```
 * `start()` never invents keys while the store is unreachable: it resolves anyway and keeps
 * retrying in the background (`current()` stays `undefined`, `isInSync` false).
 */
export class KeyRingWatcher {
  readonly #store: KeyRingStore;
  readonly #clock: () => number;
  readonly #refreshMs: number;
  readonly #retryMs: number;
  readonly #log: KeyRingLogger;
  readonly #candidates: CandidatePool;
  readonly #rotation: KeyRotation;
  readonly #refillInBackground: boolean;

  #ring: KeyRing | undefined;
  #emitted = '';
  #jwks: JwksDocument | undefined;
  #lastSyncAt: number | undefined;
  #lastError: Error | undefined;
  readonly #listeners = new Set<(ring: KeyRing) => void>();
  #queue: Promise<unknown> = Promise.resolve();
  #pendingSync: Promise<void> | undefined;
  #refreshTimer: NodeJS.Timeout | undefined;
  #transitionTimer: NodeJS.Timeout | undefined;
  #unsubscribe: (() => Promise<void>) | undefined;
  #running = false;
  /** Set once `start()` has read the ring: from then on each task refills the candidate pool. */
  #started = false;

  constructor(options: KeyRingWatcherOptions) {
    this.#store = options.store;
    this.#clock = options.clock ?? Date.now;
    this.#refreshMs = options.refreshIntervalMs ?? 5000;
    this.#retryMs = options.retryIntervalMs ?? Math.min(1000, this.#refreshMs);
    this.#log = options.logger ?? noopLogger;
    this.#candidates = new CandidatePool(options.generateKey);
    this.#refillInBackground = options.refillInBackground ?? true;
    this.#rotation = new KeyRotation({
      store: options.store,
      policy: options.policy,
      clock: this.#clock,
      candidates: this.#candidates,
      logger: this.#log,
      observer: {
        reached: (ring) => this.#reached(ring),
        failed: (err) => this.#noteFailure(err),
      },
    });
  }

  /**
   * Loads the ring (creating the first one when the store is empty), subscribes to change
   * notices and starts the timers. Resolves even when the store is unreachable.
   */
  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    await this.#syncQuietly();
    // The first read leaves the pool as it is: its candidates serve a later rotation, and
    // generating them (RSA: ~100 ms of CPU each) would slow the rest of the start. The owner
    // calls `prepareCandidates` once it serves; any later task refills the pool too.
    this.#started = true;
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
    this.#started = false;
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
    this.#rotation.policy = policy;
    await this.#syncQuietly();
  }

  /**
   * Fills the candidate pool in the background, which `start()` leaves as it is: call it once
   * the issuer serves, so the first rotation need not wait for key generation.
   */
  prepareCandidates(): void {
    if (this.#started) this.#refill();
  }

  /**
   * After `stop()`: the candidate keys this instance generated but never published (none was
   * written into a ring or offered to a write that may have landed), handed over once and
   * forgotten here, so a process can give them to another ring. Empty while running.
   */
  releaseCandidates(): SigningJwk[] {
    return this.#running ? [] : this.#candidates.drain();
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
      await this.#rotation.sync(this.#ring);
    });
    return this.#pendingSync;
  }

  /** `KeyRotation.rotate`, after whatever this instance is already writing. */
  rotate(alg?: SigningAlg, options: RotateOptions = {}): Promise<RotationSummary> {
    return this.#exclusive(() => this.#rotation.rotate(alg, options));
  }

  /** `KeyRotation.revoke`, after whatever this instance is already writing. */
  revoke(kid: string): Promise<KeyRingSummary> {
    return this.#exclusive(() => this.#rotation.revoke(kid));
  }

  /** `KeyRotation.import`, after whatever this instance is already writing. */
  import(keys: JWK | JWK[], options: ImportOptions = {}): Promise<KeyRingSummary> {
    return this.#exclusive(() => this.#rotation.import(keys, options));
  }

  /** The store answered a write with `ring`: note the contact and adopt what it holds. */
  #reached(ring: KeyRing | undefined): void {
    this.#lastSyncAt = this.#clock();
    if (this.#lastError) this.#log.info({}, 'key ring store reachable again');
    this.#lastError = undefined;
    if (!ring) return;
    this.#ring = ring;
    this.#emitIfChanged();
  }

  #noteFailure(err: unknown): void {
    const error = err instanceof Error ? err : new Error(String(err));
    if (this.#lastError?.message !== error.message) {
      this.#log.error({ err: error }, 'key ring store access failed; serving the held key ring');
    }
    this.#lastError = error;
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
    this.#jwks = buildJwksDocument(ring, now, this.#rotation.policy);
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
    const at = nextTransitionAt(ring, now, this.#rotation.policy);
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

  /**
   * Runs `task` (one store operation) after the ones before it, then refills the candidate
   * pool in the background so the next one need not wait for key generation.
   */
  #exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(async () => {
      try {
        return await task();
      } finally {
        if (this.#started) this.#refill();
      }
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  #refill(): void {
    if (!this.#refillInBackground) return;
    this.#candidates.fill(this.#rotation.policy.algorithms).catch((err: unknown) => {
      this.#log.warn({ err }, 'could not prepare candidate signing keys');
    });
  }
}
