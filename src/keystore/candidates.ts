/**
 * Keys generated ahead of use. A ring updater is pure and may run again under compare-and-set,
 * so it cannot generate keys (async, random, RSA ~100 ms): it takes them from this pool through
 * a `FreshKey`, and the pool is refilled outside the store's transaction.
 */
import type { SigningAlg } from '../algorithms.js';
import { KeyError } from '../errors.js';
import { generateSigningKey } from './material.js';
import type { FreshKey, SigningJwk } from './types.js';

/** Candidates kept ready per algorithm: enough for any single update (first ring: 2). */
const POOL_SIZE = 2;

/** Never-published keys per algorithm, handed to ring updaters. */
export class CandidatePool {
  readonly #generate: (alg: SigningAlg) => Promise<SigningJwk>;
  readonly #keys = new Map<SigningAlg, SigningJwk[]>();
  #filling: Promise<void> | undefined;

  /** @param generate makes one candidate; default `generateSigningKey`. */
  constructor(generate: (alg: SigningAlg) => Promise<SigningJwk> = generateSigningKey) {
    this.#generate = generate;
  }

  /**
   * A `FreshKey` for one run of an updater: it hands out the pool's candidates of each
   * algorithm in order (a second run starts over) and adds every kid it hands out to `taken`.
   * It throws KeyError `NO_CANDIDATE_KEY` when the pool has no more for an algorithm; `fill`
   * and run the updater again.
   */
  offer(taken: Set<string>): FreshKey {
    const used = new Map<SigningAlg, number>();
    return (alg) => {
      const i = used.get(alg) ?? 0;
      const candidate = this.#keys.get(alg)?.[i];
      if (!candidate) throw new KeyError('NO_CANDIDATE_KEY', `no fresh ${alg} key was prepared`);
      used.set(alg, i + 1);
      taken.add(candidate.kid);
      return candidate;
    };
  }

  /**
   * Drops the candidates with these kids, never to be offered again: they were written into
   * the ring, or offered to a write whose reply was lost (it may have landed).
   */
  discard(kids: Iterable<string>): void {
    const gone = new Set(kids);
    for (const [alg, list] of this.#keys) {
      this.#keys.set(
        alg,
        list.filter((k) => !gone.has(k.kid)),
      );
    }
  }

  /** Empties the pool: every candidate in it, none of which was ever written or offered away. */
  drain(): SigningJwk[] {
    const all = [...this.#keys.values()].flat();
    this.#keys.clear();
    return all;
  }

  /**
   * Tops each of `algorithms` up to the pool size. The one refill path: awaited by a write
   * that ran short, started in the background by the watcher after each write. Concurrent calls
   * share a round of generation.
   */
  async fill(algorithms: readonly SigningAlg[]): Promise<void> {
    const missing = () => algorithms.some((alg) => (this.#keys.get(alg)?.length ?? 0) < POOL_SIZE);
    // Candidates may be used while a round is generating, so check again after each round.
    while (missing()) {
      this.#filling ??= this.#round(algorithms).finally(() => {
        this.#filling = undefined;
      });
      await this.#filling;
    }
  }

  async #round(algorithms: readonly SigningAlg[]): Promise<void> {
    await Promise.all(
      algorithms.map(async (alg) => {
        const have = this.#keys.get(alg)?.length ?? 0;
        const made = await Promise.all(
          Array.from({ length: Math.max(POOL_SIZE - have, 0) }, () => this.#generate(alg)),
        );
        this.#keys.set(alg, [...(this.#keys.get(alg) ?? []), ...made]);
      }),
    );
  }
}
