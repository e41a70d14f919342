import { describe, expect, it } from 'vitest';
import { createMemoryAdapter } from '../../src/store/memory-adapter.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { adapterSuite } from '../suites/adapter-suite.js';

adapterSuite('memory', async () => {
  const store = new MemoryStore({ sweepIntervalMs: 0 });
  return {
    adapter: (namespace, clockTolerance, clock) =>
      createMemoryAdapter({ namespace, clockTolerance, clock, store }),
    raw: {
      get: async (key) => store.get(key),
      set: async (key, value) => store.set(key, value),
      del: async (key) => store.delete(key),
      members: async (key) => store.members(key),
      pttl: async (key) => store.ttlMs(key),
    },
    close: async () => store.close(),
  };
});

describe('createMemoryAdapter', () => {
  it('expires records on the clock it was given when it makes its own store', async () => {
    let now = 1_000_000;
    const at = createMemoryAdapter({ clockTolerance: 0, clock: () => now })('AccessToken');
    await at.upsert('t', { jti: 't' }, 60);
    now += 59_999;
    expect(await at.find('t')).toEqual({ jti: 't' });
    now += 1;
    expect(await at.find('t')).toBeUndefined();
  });
});

describe('MemoryStore', () => {
  it('frees expired entries on sweep, so memory stays bounded', () => {
    let now = 1_000_000;
    const store = new MemoryStore({ sweepIntervalMs: 0, now: () => now });
    for (let i = 0; i < 1000; i++) store.set(`k${i}`, 'v', 1000);
    store.set('forever', 'v');
    store.addMember('set', 'm');
    store.expire('set', 500);
    expect(store.size).toBe(1002);
    now += 1000;
    expect(store.sweep()).toBe(1001);
    expect(store.size).toBe(1);
    expect(store.get('forever')).toBe('v');
  });

  it('hides an expired entry at once, before any sweep', () => {
    let now = 0;
    const store = new MemoryStore({ sweepIntervalMs: 0, now: () => now });
    store.set('k', 'v', 10);
    now = 9;
    expect(store.get('k')).toBe('v');
    now = 10;
    expect(store.get('k')).toBeUndefined();
    expect(store.ttlMs('k')).toBe(-2);
  });

  it('sweeps on its own timer', async () => {
    const store = new MemoryStore({ sweepIntervalMs: 20 });
    store.set('k', 'v', 5);
    await new Promise((r) => setTimeout(r, 80));
    expect(store.size).toBe(0);
    store.close();
  });
});

describe('MemoryStore bounds', () => {
  it('evicts the least recently used entries at the entry bound, counting them', () => {
    const store = new MemoryStore({ sweepIntervalMs: 0, maxEntries: 3 });
    store.set('a', '1');
    store.set('b', '2');
    store.set('c', '3');
    expect(store.get('a')).toBe('1'); // a is now the most recently used
    store.set('d', '4');
    expect(store.get('b')).toBeUndefined();
    expect(['a', 'c', 'd'].map((k) => store.get(k))).toEqual(['1', '3', '4']);
    expect(store.size).toBe(3);
    expect(store.evictions).toBe(1);
  });

  it('overwrites a key at the entry bound without evicting another', () => {
    const store = new MemoryStore({ sweepIntervalMs: 0, maxEntries: 3 });
    for (const k of ['a', 'b', 'c']) store.set(k, '1');
    store.set('a', '2');
    store.addMember('c', 'm');
    expect(['a', 'b'].map((k) => store.get(k))).toEqual(['2', '1']);
    expect(store.members('c')).toEqual(['m']);
    expect(store.evictions).toBe(0);
    expect(store.maxEntries).toBe(3);
  });

  it('frees expired entries before evicting a live one', () => {
    let now = 0;
    const store = new MemoryStore({ sweepIntervalMs: 0, now: () => now, maxEntries: 3 });
    store.set('old-live', 'v');
    store.set('short', 'v', 10);
    store.set('newer-live', 'v');
    now = 5_000;
    store.set('new', 'v');
    expect(store.get('old-live')).toBe('v');
    expect(store.evictions).toBe(0);
  });

  it('keeps the counted bytes under the byte bound; sets are re-measured as they grow', () => {
    const store = new MemoryStore({ sweepIntervalMs: 0, maxBytes: 100_000 });
    for (let i = 0; i < 200; i++) store.set(`k${i}`, 'x'.repeat(3000));
    expect(store.bytes).toBeLessThanOrEqual(100_000);
    expect(store.size).toBeLessThan(20);
    expect(store.get('k199')).toBe('x'.repeat(3000));
    const sets = new MemoryStore({ sweepIntervalMs: 0 });
    for (let i = 0; i < 100; i++) sets.addMember('set', `member-${String(i).padStart(3, '0')}`);
    expect(sets.bytes).toBeGreaterThanOrEqual(100 * 2 * 'member-000'.length);
  });
});
