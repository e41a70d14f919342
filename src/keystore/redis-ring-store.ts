import type { Cluster, Redis } from 'ioredis';
import { IssuerError, KeyError, StoreUnavailableError } from '../errors.js';
import { type KeyNames, keyNames } from '../store/keys.js';
import { duplicateRedisClient } from '../store/redis.js';
import { type ScriptCommands, withScripts } from '../store/scripts.js';
import { stampWrite } from './ring-write.js';
import {
  assertUsableSecret,
  deserializeRing,
  type RingCodecOptions,
  serializeRing,
} from './serialize.js';
import type { KeyRing, KeyRingStore } from './types.js';

/** How long `subscribe` waits for its connection before returning (it keeps trying after). */
const SUBSCRIBE_WAIT_MS = 2000;

/** Writers racing for one ring give up after this many lost compare-and-sets. */
const MAX_ATTEMPTS = 16;

/**
 * The key ring shared by every instance, as one string value in Redis (see
 * `keyNames(namespace).keyRing`), written by compare-and-set on its version and announced on
 * `keyRingChannel` in one script (lua/keyRingCompareAndSet-1.lua). When several instances
 * update at once exactly one write wins; the others re-run their (pure) updater on the
 * winner's ring.
 *
 * Redis failures surface as `StoreUnavailableError`; a ring that cannot be read (other secret,
 * corrupt) as `KeyError` and is never overwritten.
 */
export class RedisKeyRingStore implements KeyRingStore {
  readonly #client: Redis | Cluster;
  readonly #scripts: ScriptCommands;
  readonly #names: KeyNames;
  readonly #codec: RingCodecOptions;
  readonly #subscribers = new Set<Redis | Cluster>();

  constructor(client: Redis | Cluster, namespace: string, options: RingCodecOptions = {}) {
    assertUsableSecret(options.secret);
    this.#client = client;
    this.#scripts = withScripts(client);
    this.#names = keyNames(namespace);
    this.#codec = { ...options };
  }

  async load(): Promise<KeyRing | undefined> {
    const raw = await this.#redis('read the key ring', () => this.#client.get(this.#names.keyRing));
    return raw === null ? undefined : deserializeRing(raw, this.#codec);
  }

  async update(
    updater: (current: KeyRing | undefined) => KeyRing | undefined,
  ): Promise<{ ring: KeyRing | undefined; changed: boolean }> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const current = await this.load();
      const candidate = updater(current && structuredClone(current));
      if (!candidate) return { ring: current, changed: false };
      const written = stampWrite(current, candidate);
      const won = await this.#redis('write the key ring', () =>
        this.#scripts.keyRingCompareAndSet(
          this.#names.keyRing,
          String(current?.version ?? 0),
          serializeRing(written, this.#codec),
          this.#names.keyRingChannel,
          String(written.version),
        ),
      );
      if (won === 1) return { ring: written, changed: true };
    }
    throw new KeyError(
      'KEYRING_CONTENDED',
      `the key ring changed under ${MAX_ATTEMPTS} consecutive update attempts`,
    );
  }

  /**
   * Listens on a dedicated connection (`client.duplicate()`). `onChange` is called for every
   * change notice and after every (re)connection, since notices sent while disconnected are
   * lost; ioredis re-subscribes on reconnect by itself.
   */
  async subscribe(onChange: () => void): Promise<() => Promise<void>> {
    const channel = this.#names.keyRingChannel;
    const sub = duplicateRedisClient(this.#client);
    this.#subscribers.add(sub);
    let subscribed = false;
    let inFlight: Promise<void> | undefined;
    // Connection errors repeat while Redis is down; the watcher's reads report the outage.
    sub.on('error', () => {});
    sub.on('message', (from: string) => {
      if (from === channel) onChange();
    });
    const ensureSubscribed = (): Promise<void> => {
      if (subscribed) return Promise.resolve();
      inFlight ??= sub
        .subscribe(channel)
        .then(() => {
          subscribed = true;
        })
        // Retried on the next 'ready'.
        .catch(() => {})
        .finally(() => {
          inFlight = undefined;
        });
      return inFlight;
    };
    sub.on('ready', () => {
      void ensureSubscribed().then(onChange);
    });
    if (sub.status !== 'ready') {
      // Without an offline queue a command sent before the connection is ready fails at once.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, SUBSCRIBE_WAIT_MS);
        sub.once('ready', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    await ensureSubscribed();
    return async () => {
      this.#subscribers.delete(sub);
      sub.disconnect();
    };
  }

  /** Closes the subscriber connections; the shared client belongs to the caller. */
  async close(): Promise<void> {
    for (const sub of this.#subscribers) sub.disconnect();
    this.#subscribers.clear();
  }

  async #redis<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (e) {
      if (e instanceof IssuerError) throw e;
      throw new StoreUnavailableError(
        `could not ${what}: ${e instanceof Error ? e.message : String(e)}`,
        { cause: e },
      );
    }
  }
}
