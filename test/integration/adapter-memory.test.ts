import { describe, expect, it } from 'vitest';
import { createMemoryAdapter } from '../../src/store/memory-adapter.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { adapterSuite } from '../suites/adapter-suite.js';

adapterSuite('memory', async () => {
  const store = new MemoryStore(0);
  return {
    adapter: (namespace, clockTolerance) =>
      createMemoryAdapter({ namespace, clockTolerance, store }),
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

describe('MemoryStore', () => {
  it('frees expired entries on sweep, so memory stays bounded', () => {
    let now = 1_000_000;
    const store = new MemoryStore(0, () => now);
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
    const store = new MemoryStore(0, () => now);
    store.set('k', 'v', 10);
    now = 9;
    expect(store.get('k')).toBe('v');
    now = 10;
    expect(store.get('k')).toBeUndefined();
    expect(store.ttlMs('k')).toBe(-2);
  });

  it('sweeps on its own timer', async () => {
    const store = new MemoryStore(20);
    store.set('k', 'v', 5);
    await new Promise((r) => setTimeout(r, 80));
    expect(store.size).toBe(0);
    store.close();
  });
});
