import { stampWrite } from './ring-write.js';
import type { KeyRing, KeyRingStore } from './types.js';

/**
 * A key ring held in this process only (tests, and watchers sharing one process). Rings are
 * copied in and out so no caller can change the stored one by mutation.
 */
export class MemoryKeyRingStore implements KeyRingStore {
  #ring: KeyRing | undefined;
  readonly #listeners = new Set<() => void>();

  constructor(initial?: KeyRing) {
    this.#ring = initial && structuredClone(initial);
  }

  async load(): Promise<KeyRing | undefined> {
    return this.#ring && structuredClone(this.#ring);
  }

  async update(
    updater: (current: KeyRing | undefined) => KeyRing | undefined,
  ): Promise<{ ring: KeyRing | undefined; changed: boolean }> {
    const current = this.#ring && structuredClone(this.#ring);
    const candidate = updater(current);
    if (!candidate) return { ring: current, changed: false };
    this.#ring = structuredClone(stampWrite(this.#ring, candidate));
    for (const listener of this.#listeners) queueMicrotask(listener);
    return { ring: structuredClone(this.#ring), changed: true };
  }

  async subscribe(onChange: () => void): Promise<() => Promise<void>> {
    const listener = () => onChange();
    this.#listeners.add(listener);
    return async () => {
      this.#listeners.delete(listener);
    };
  }

  /** Forgets the ring, as a store restarted without persistence would. */
  clear(): void {
    this.#ring = undefined;
  }

  async close(): Promise<void> {
    this.#listeners.clear();
  }
}
