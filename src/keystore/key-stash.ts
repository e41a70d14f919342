/**
 * Signing keys generated ahead for the short-lived issuers of one process (the in-process test
 * API). An RSA key takes ~30 ms of CPU on OpenSSL 3.5 and ~55 ms on OpenSSL 3.0
 * (`generateSigningKeyQuickly`) and every test issuer's first ring takes two per algorithm (the
 * active key and the published next one), so the stash keeps one start's worth generating or
 * ready while a test runs, and a start takes those instead of generating its own.
 *
 * Generation runs on the libuv threadpool, at most one key per available core at a time, and
 * keys someone waits for come first: more at once would only slow each other and the main
 * thread. A taker gets the next key that is ready, in the order they finish.
 *
 * Each key is handed out once: two issuers never share a key. Only keys that were never
 * published may come back (`giveBack`), and each is handed out once more at most.
 */
import { availableParallelism } from 'node:os';
import type { SigningAlg } from '../algorithms.js';
import { generateSigningKeyQuickly } from './material.js';
import type { SigningJwk } from './types.js';

/** Keys one test issuer's first ring takes per algorithm: the active and the next key. */
export const KEYS_PER_START = 2;

interface Waiter {
  resolve: (key: SigningJwk) => void;
  reject: (err: unknown) => void;
}

/** Per algorithm: what is ready, what is being generated, who waits. */
interface Shelf {
  ready: SigningJwk[];
  making: number;
  waiting: Waiter[];
}

export interface KeyStashOptions {
  /** Makes one key; default `generateSigningKeyQuickly`. */
  generate?: (alg: SigningAlg) => Promise<SigningJwk>;
  /** Keys kept ready or generating per algorithm beyond those waited for. Default one start's. */
  ahead?: number;
  /** Keys generated at once, over all algorithms. Default the cores this process may use. */
  parallel?: number;
}

/** A `generateKey` for `KeyRingWatcher` (`take`) that a process's test issuers share. */
export class KeyStash {
  readonly #generate: (alg: SigningAlg) => Promise<SigningJwk>;
  readonly #ahead: number;
  readonly #parallel: number;
  readonly #shelves = new Map<SigningAlg, Shelf>();
  #making = 0;

  constructor(options: KeyStashOptions = {}) {
    this.#generate = options.generate ?? generateSigningKeyQuickly;
    this.#ahead = options.ahead ?? KEYS_PER_START;
    this.#parallel = Math.max(1, options.parallel ?? availableParallelism());
  }

  /**
   * A key never handed out before: a ready one, else the next one to finish generating.
   * Rejects with the generation's error when the key meant for this taker could not be made.
   */
  readonly take = (alg: SigningAlg): Promise<SigningJwk> => {
    const shelf = this.#shelf(alg);
    const key = shelf.ready.shift();
    const taken = key
      ? Promise.resolve(key)
      : new Promise<SigningJwk>((resolve, reject) => shelf.waiting.push({ resolve, reject }));
    this.#pump();
    return taken;
  };

  /** Starts generating one start's worth of keys for each of `algorithms`, ahead of `take`. */
  prepare(algorithms: readonly SigningAlg[]): void {
    for (const alg of algorithms) this.#shelf(alg);
    this.#pump();
  }

  /**
   * Takes back keys a stopped issuer took but never published (nor offered to a store write
   * that may have landed): the caller vouches for that. A kid already in the stash is ignored.
   */
  giveBack(keys: Iterable<SigningJwk>): void {
    for (const key of keys) {
      const shelf = this.#shelf(key.alg);
      if (shelf.ready.some((k) => k.kid === key.kid)) continue;
      this.#hand(shelf, key);
    }
  }

  #shelf(alg: SigningAlg): Shelf {
    let shelf = this.#shelves.get(alg);
    if (!shelf) {
      shelf = { ready: [], making: 0, waiting: [] };
      this.#shelves.set(alg, shelf);
    }
    return shelf;
  }

  /** Gives `key` to the longest waiting taker, or shelves it. */
  #hand(shelf: Shelf, key: SigningJwk): void {
    const waiter = shelf.waiting.shift();
    if (waiter) waiter.resolve(key);
    else shelf.ready.push(key);
  }

  /** Starts generations while a core is free: first for waiting takers, then to stay ahead. */
  #pump(): void {
    while (this.#making < this.#parallel) {
      const alg = this.#mostNeeded();
      if (alg === undefined) return;
      this.#make(alg);
    }
  }

  #mostNeeded(): SigningAlg | undefined {
    let ahead: SigningAlg | undefined;
    for (const [alg, shelf] of this.#shelves) {
      if (shelf.waiting.length > shelf.making) return alg;
      const wanted = shelf.waiting.length + this.#ahead;
      if (ahead === undefined && shelf.ready.length + shelf.making < wanted) ahead = alg;
    }
    return ahead;
  }

  #make(alg: SigningAlg): void {
    const shelf = this.#shelf(alg);
    shelf.making += 1;
    this.#making += 1;
    const done = () => {
      shelf.making -= 1;
      this.#making -= 1;
    };
    this.#generate(alg).then(
      (key) => {
        done();
        this.#hand(shelf, key);
        this.#pump();
      },
      (err: unknown) => {
        done();
        // The key was meant for the longest waiting taker, if any; ahead of demand a failure
        // only means the next take waits for a new one (not retried here, so no busy loop).
        shelf.waiting.shift()?.reject(err);
        if (shelf.waiting.length > 0) this.#pump();
      },
    );
  }
}
