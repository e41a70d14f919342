import { LRUCache } from 'lru-cache';
import { MEMORY_STORE_DEFAULTS } from '../config/schema.js';

interface Entry {
  value: string | Set<string>;
  expiresAt?: number;
  /** Characters in `value` (a set's members summed), kept up to date so no write re-counts a set. */
  chars: number;
}

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /** How often expired entries are freed; 0 disables the timer (unref'd). Default 30 s. */
  sweepIntervalMs?: number;
  /** The clock (epoch ms), injectable for tests. */
  now?: () => number;
  /** At most this many entries (records and indexes). Default 100,000. */
  maxEntries?: number;
  /** At most about this many bytes of keys and values (2 bytes per character). Default 64 MiB. */
  maxBytes?: number;
}

/** A fixed cost per entry for the Map slot, the entry object and the list links. */
const ENTRY_OVERHEAD_BYTES = 64;

function sizeOf(entry: Entry, key: string): number {
  return ENTRY_OVERHEAD_BYTES + 2 * (key.length + entry.chars);
}

/**
 * A bounded in-process key/value store with per-key expiry, shaped like the slice of Redis the
 * adapter needs (strings and sets). Expired entries are invisible at once (checked on read) and
 * freed by a periodic sweep. When the entry or byte bound is reached, expired entries are freed
 * first, then the least recently used live ones are evicted (lru-cache), like Redis'
 * `allkeys-lru`: an unauthenticated flood of authorization requests pushes out idle records
 * instead of growing the heap without end.
 */
export class MemoryStore {
  private readonly entries: LRUCache<string, Entry>;
  readonly #maxEntries: number;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  #evictions = 0;
  #lastFullSweep = Number.NEGATIVE_INFINITY;

  constructor(options: MemoryStoreOptions = {}) {
    const { sweepIntervalMs = 30_000, now = Date.now } = options;
    this.now = now;
    this.#maxEntries = options.maxEntries ?? MEMORY_STORE_DEFAULTS.maxEntries;
    // No `max`: given one, lru-cache allocates its lists for that many entries up front (~3.5
    // MiB at the default 100,000, before the first entry); `put` keeps the entry bound instead.
    this.entries = new LRUCache<string, Entry>({
      maxSize: options.maxBytes ?? MEMORY_STORE_DEFAULTS.maxBytes,
      sizeCalculation: sizeOf,
      dispose: (_value, _key, reason) => {
        if (reason === 'evict') this.#evictions += 1;
      },
    });
    if (sweepIntervalMs > 0) {
      this.timer = setInterval(() => this.sweep(), sweepIntervalMs);
      this.timer.unref();
    }
  }

  private live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry?.expiresAt !== undefined && entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  /**
   * Stores `entry`, which must be a new object: lru-cache measures a value again only when it
   * is not the one already held, and a set that changed in place must be re-measured.
   */
  private put(key: string, entry: Entry): void {
    if (this.full()) this.sweepWhenFull();
    // At the entry bound a new key evicts the least recently used entry, as `max` would.
    if (this.entries.size >= this.#maxEntries && !this.entries.has(key)) this.entries.pop();
    this.entries.set(key, entry);
  }

  private full(): boolean {
    return (
      this.entries.size >= this.#maxEntries ||
      this.entries.calculatedSize >= this.entries.maxSize * 0.95
    );
  }

  /** At the bound, expired entries go before any live one is evicted (at most once a second). */
  private sweepWhenFull(): void {
    const now = this.now();
    if (now - this.#lastFullSweep < 1000) return;
    this.#lastFullSweep = now;
    this.sweep();
  }

  /** A string value, or undefined when missing, expired or a set. */
  get(key: string): string | undefined {
    const value = this.live(key)?.value;
    return typeof value === 'string' ? value : undefined;
  }

  /** Writes a string; no `ttlMs` means no expiry (like SET without PX). */
  set(key: string, value: string, ttlMs?: number): void {
    this.put(key, {
      value,
      chars: value.length,
      ...(ttlMs === undefined ? {} : { expiresAt: this.now() + ttlMs }),
    });
  }

  /** Writes only when the key is absent (SET NX); true when written. */
  setIfAbsent(key: string, value: string, ttlMs?: number): boolean {
    if (this.live(key)) return false;
    this.set(key, value, ttlMs);
    return true;
  }

  /** Replaces a value, keeping its expiry (SET KEEPTTL). */
  replaceKeepTtl(key: string, value: string): void {
    const entry = this.live(key);
    if (entry) this.put(key, { ...entry, value, chars: value.length });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  has(key: string): boolean {
    return this.live(key) !== undefined;
  }

  /** Members of a set (empty when missing). */
  members(key: string): string[] {
    const value = this.live(key)?.value;
    return value instanceof Set ? [...value] : [];
  }

  /** Adds to a set, creating it without expiry. */
  addMember(key: string, member: string): void {
    const entry = this.live(key);
    if (entry && entry.value instanceof Set) {
      const added = !entry.value.has(member);
      entry.value.add(member);
      this.put(key, { ...entry, chars: entry.chars + (added ? member.length : 0) });
    } else this.put(key, { value: new Set([member]), chars: member.length });
  }

  /** Removes from a set; an emptied set disappears (like SREM). */
  removeMember(key: string, member: string): void {
    const entry = this.live(key);
    if (!(entry && entry.value instanceof Set)) return;
    const removed = entry.value.delete(member);
    if (entry.value.size === 0) this.entries.delete(key);
    else this.put(key, { ...entry, chars: entry.chars - (removed ? member.length : 0) });
  }

  /** Milliseconds left: -2 when missing, -1 when it never expires (like PTTL). */
  ttlMs(key: string): number {
    const entry = this.live(key);
    if (!entry) return -2;
    return entry.expiresAt === undefined ? -1 : entry.expiresAt - this.now();
  }

  /** Sets (a number) or removes (undefined) the expiry of an existing key. */
  expire(key: string, ttlMs: number | undefined): void {
    const entry = this.live(key);
    if (!entry) return;
    if (ttlMs === undefined) delete entry.expiresAt;
    else entry.expiresAt = this.now() + ttlMs;
  }

  /** Frees every expired entry; returns how many. */
  sweep(): number {
    const now = this.now();
    const expired: string[] = [];
    // Walking with `forEach` does not count as a use, so it leaves the eviction order alone.
    this.entries.forEach((entry, key) => {
      if (entry.expiresAt !== undefined && entry.expiresAt <= now) expired.push(key);
    });
    for (const key of expired) this.entries.delete(key);
    return expired.length;
  }

  /** Entries held, expired or not (for tests and metrics). */
  get size(): number {
    return this.entries.size;
  }

  /** Approximate bytes held (keys and values at 2 bytes per character, plus a fixed cost). */
  get bytes(): number {
    return this.entries.calculatedSize;
  }

  /** The entry bound. */
  get maxEntries(): number {
    return this.#maxEntries;
  }

  /** The byte bound. */
  get maxBytes(): number {
    return this.entries.maxSize;
  }

  /** Live entries evicted because a bound was reached, since start. */
  get evictions(): number {
    return this.#evictions;
  }

  /** Stops the sweep timer. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
