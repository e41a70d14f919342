/**
 * A tiny in-process key/value store with per-key expiry, shaped like the slice of Redis the
 * adapter needs (strings and sets). Expired entries are invisible at once (checked on read)
 * and freed by a periodic sweep, so memory stays bounded by what is still alive.
 */
export class MemoryStore {
  private readonly entries = new Map<string, { value: string | Set<string>; expiresAt?: number }>();
  private readonly timer: NodeJS.Timeout | undefined;

  /**
   * @param sweepIntervalMs how often expired entries are freed; 0 disables the timer. The
   *   timer is unref'd so it never keeps the process alive.
   * @param now the clock (epoch ms), injectable for tests.
   */
  constructor(
    sweepIntervalMs = 30_000,
    private readonly now: () => number = Date.now,
  ) {
    if (sweepIntervalMs > 0) {
      this.timer = setInterval(() => this.sweep(), sweepIntervalMs);
      this.timer.unref();
    }
  }

  private live(key: string) {
    const entry = this.entries.get(key);
    if (entry?.expiresAt !== undefined && entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  /** A string value, or undefined when missing, expired or a set. */
  get(key: string): string | undefined {
    const value = this.live(key)?.value;
    return typeof value === 'string' ? value : undefined;
  }

  /** Writes a string; no `ttlMs` means no expiry (like SET without PX). */
  set(key: string, value: string, ttlMs?: number): void {
    this.entries.set(key, {
      value,
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
    if (entry) entry.value = value;
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
    if (entry && entry.value instanceof Set) entry.value.add(member);
    else this.entries.set(key, { value: new Set([member]) });
  }

  /** Removes from a set; an emptied set disappears (like SREM). */
  removeMember(key: string, member: string): void {
    const entry = this.live(key);
    if (!(entry && entry.value instanceof Set)) return;
    entry.value.delete(member);
    if (entry.value.size === 0) this.entries.delete(key);
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
    let freed = 0;
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt !== undefined && entry.expiresAt <= now) {
        this.entries.delete(key);
        freed++;
      }
    }
    return freed;
  }

  /** Entries held, expired or not (for tests and metrics). */
  get size(): number {
    return this.entries.size;
  }

  /** Stops the sweep timer. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
