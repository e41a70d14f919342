/**
 * The oidc-provider instance that serves requests right now, and how it follows the key ring.
 * oidc-provider freezes its keys at construction, so a new instance is built whenever the ring
 * changes and swapped in; everything stateful lives in the adapter, so nothing is lost.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import type { SigningAlg } from '../algorithms.js';
import type { KeyRing, SigningJwk } from '../keystore/types.js';
import { type WaitingAlg, waitingAlgorithms } from '../keystore/waiting.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/**
 * Holds the current provider. `swap` puts a new one in: requests already inside the old
 * instance finish there, new requests go to the new one.
 */
export class ProviderHost {
  #provider: Provider | undefined;
  #handler: Handler | undefined;
  #generation = 0;
  readonly #listeners: ((provider: Provider) => void)[] = [];

  /** The current provider, or undefined before the first key ring is known. */
  get current(): Provider | undefined {
    return this.#provider;
  }

  /** The Node handler of the current provider. */
  get handler(): Handler | undefined {
    return this.#handler;
  }

  /** How many providers have been swapped in (for metrics and tests). */
  get generation(): number {
    return this.#generation;
  }

  swap(provider: Provider): void {
    // Listeners first: koa's callback() installs its own error printer (console.error) on an
    // app that has no 'error' listener yet.
    for (const listener of this.#listeners) listener(provider);
    this.#provider = provider;
    this.#handler = provider.callback() as unknown as Handler;
    this.#generation += 1;
  }

  /** Runs for each provider swapped in, so event listeners can be attached to every instance. */
  onSwap(listener: (provider: Provider) => void): void {
    this.#listeners.push(listener);
    if (this.#provider) listener(this.#provider);
  }
}

/** The key ring as a provider follows it (the KeyRingWatcher). */
export interface RingFeed {
  current(): KeyRing | undefined;
  /** The private keys a provider signs with now, active first (keystore `providerKeys`). */
  signingKeys(): SigningJwk[];
  /** Fires when the ring's content or a key's state changed; returns the unsubscribe. */
  onChange(listener: (ring: KeyRing) => void): () => void;
}

/** The ring's part of a provider: its signing keys, cookie keys and what cannot sign yet. */
export interface RingKeys {
  signingKeys: SigningJwk[];
  cookieKeys: string[];
  waiting: WaitingAlg[];
}

/** How to build a provider under the configuration in force. */
export interface ProviderRecipe {
  /** The configured signing algorithms (those without a key that may sign are `waiting`). */
  algorithms: readonly SigningAlg[];
  build(keys: RingKeys): Provider;
}

/** A host following a ring; see {@link followRing}. */
export interface RingFollowing {
  /** Builds with `recipe` from now on, starting at once with the ring held (a config reload). */
  use(recipe: ProviderRecipe): void;
  /** The algorithms that could not sign at the last build. */
  readonly waiting: readonly WaitingAlg[];
  stop(): void;
}

/**
 * Keeps `host` serving a provider built from `ring`: one now (when the ring is known) and a new
 * one on every ring change. The ring decides what a change is (content or a key's state), so
 * the rebuild is decided there alone; a ring with no key that may sign builds nothing and the
 * provider in use, if any, stays. `onBuilt` runs after each swap.
 */
export function followRing(
  host: ProviderHost,
  ring: RingFeed,
  first: ProviderRecipe,
  options: { clock: () => number; onBuilt?: (keys: RingKeys) => void },
): RingFollowing {
  let recipe = first;
  let waiting: WaitingAlg[] = [];
  const rebuild = () => {
    const held = ring.current();
    if (!held) return;
    const keys: RingKeys = {
      signingKeys: ring.signingKeys(),
      cookieKeys: held.cookieKeys,
      waiting: waitingAlgorithms(held, recipe.algorithms, options.clock()),
    };
    waiting = keys.waiting;
    if (keys.signingKeys.length === 0) return;
    host.swap(recipe.build(keys));
    options.onBuilt?.(keys);
  };
  const stop = ring.onChange(rebuild);
  rebuild();
  return {
    use(next) {
      recipe = next;
      rebuild();
    },
    get waiting() {
      return waiting;
    },
    stop,
  };
}
