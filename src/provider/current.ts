import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/**
 * Holds the oidc-provider instance that serves requests right now. A key-ring change builds a
 * new Provider and `swap`s it in: requests already inside the old instance finish there, new
 * requests go to the new one. Everything stateful lives in the adapter, so nothing is lost.
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
