import { describe, expect, it } from 'vitest';
import type { SigningAlg } from '../../src/algorithms.js';
import { KEYS_PER_START, KeyStash } from '../../src/keystore/key-stash.js';
import { generateSigningKey } from '../../src/keystore/material.js';
import { MemoryKeyRingStore } from '../../src/keystore/memory-ring-store.js';
import type { SigningJwk } from '../../src/keystore/types.js';
import { KeyRingWatcher } from '../../src/keystore/watcher.js';

/** The real generator, counted: how many keys the stash had made. */
function countedGenerator() {
  const made: SigningJwk[] = [];
  let running = 0;
  let mostAtOnce = 0;
  const generate = async (alg: SigningAlg) => {
    running += 1;
    mostAtOnce = Math.max(mostAtOnce, running);
    try {
      const key = await generateSigningKey(alg);
      made.push(key);
      return key;
    } finally {
      running -= 1;
    }
  };
  return { generate, made, mostAtOnce: () => mostAtOnce };
}

/** Resolves once the stash's background generations have had time to finish. */
const settle = async (gen: { made: SigningJwk[] }, count: number) => {
  for (let i = 0; i < 200 && gen.made.length < count; i += 1) {
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('KeyStash', () => {
  it('never hands out a key twice, over many concurrent and back-to-back takes', async () => {
    const gen = countedGenerator();
    const stash = new KeyStash({ generate: gen.generate, parallel: 2 });
    const kids: string[] = [];
    for (let round = 0; round < 5; round += 1) {
      stash.prepare(['ES256']);
      const keys = await Promise.all(Array.from({ length: 4 }, () => stash.take('ES256')));
      kids.push(...keys.map((k) => k.kid));
    }
    expect(kids).toHaveLength(20);
    expect(new Set(kids).size).toBe(20);
    // Every key handed out was generated for the stash, none made up elsewhere.
    const madeKids = new Set(gen.made.map((k) => k.kid));
    for (const kid of kids) expect(madeKids.has(kid)).toBe(true);
  });

  it('keeps one start of keys ready ahead, and a start then generates nothing in front', async () => {
    const gen = countedGenerator();
    const stash = new KeyStash({ generate: gen.generate });
    stash.prepare(['ES256']);
    await settle(gen, KEYS_PER_START);
    expect(gen.made).toHaveLength(KEYS_PER_START);

    const first = await Promise.all([stash.take('ES256'), stash.take('ES256')]);
    expect(first.map((k) => k.kid)).toEqual(gen.made.slice(0, 2).map((k) => k.kid));
    // Taking them started the refill for the next start, and no more than that.
    await settle(gen, 2 * KEYS_PER_START);
    await new Promise((r) => setTimeout(r, 50));
    expect(gen.made).toHaveLength(2 * KEYS_PER_START);
    const second = await Promise.all([stash.take('ES256'), stash.take('ES256')]);
    expect(second.map((k) => k.kid)).toEqual(gen.made.slice(2, 4).map((k) => k.kid));
  });

  it('generates at most `parallel` keys at once, however many wait', async () => {
    const gen = countedGenerator();
    const stash = new KeyStash({ generate: gen.generate, parallel: 2 });
    const keys = await Promise.all(Array.from({ length: 6 }, () => stash.take('ES256')));
    expect(new Set(keys.map((k) => k.kid)).size).toBe(6);
    expect(gen.mostAtOnce()).toBe(2);
  });

  it('hands a given-back key out once more, and only once', async () => {
    const gen = countedGenerator();
    const stash = new KeyStash({ generate: gen.generate, ahead: 0 });
    const key = await stash.take('ES256');
    stash.giveBack([key, key]);
    expect((await stash.take('ES256')).kid).toBe(key.kid);
    const next = await stash.take('ES256');
    expect(next.kid).not.toBe(key.kid);
    expect(gen.made).toHaveLength(2);
  });

  it('passes a failed generation to the taker that waited for it, and recovers', async () => {
    let fail = true;
    const stash = new KeyStash({
      generate: (alg) => (fail ? Promise.reject(new Error('no entropy')) : generateSigningKey(alg)),
      ahead: 0,
    });
    await expect(stash.take('ES256')).rejects.toThrow('no entropy');
    fail = false;
    const key = await stash.take('ES256');
    expect(key.alg).toBe('ES256');
    expect(typeof key.d).toBe('string');
  });

  it('keeps algorithms apart', async () => {
    const stash = new KeyStash();
    stash.prepare(['ES256', 'EdDSA']);
    const [es, ed] = await Promise.all([stash.take('ES256'), stash.take('EdDSA')]);
    expect(es.alg).toBe('ES256');
    expect(es.kty).toBe('EC');
    expect(ed.alg).toBe('EdDSA');
    expect(ed.kty).toBe('OKP');
  });
});

describe('KeyRingWatcher.releaseCandidates', () => {
  it('hands over, once and only after stop, the candidates it never wrote into the ring', async () => {
    const store = new MemoryKeyRingStore();
    const watcher = new KeyRingWatcher({
      store,
      policy: {
        algorithms: ['ES256'],
        rotationPeriod: 100_000,
        prePublication: 1,
        retention: 1000,
      },
      refillInBackground: false,
    });
    await watcher.start();
    await new Promise((r) => setTimeout(r, 5));
    await watcher.rotate();
    expect(watcher.releaseCandidates()).toEqual([]);
    await watcher.stop();
    const released = watcher.releaseCandidates();
    // The rotation's pool was filled to two and it published one.
    expect(released).toHaveLength(1);
    const everWritten = (await store.load())!.keys.map((k) => k.kid);
    expect(everWritten).toHaveLength(3);
    expect(everWritten).not.toContain(released[0]!.kid);
    expect(watcher.releaseCandidates()).toEqual([]);
  });
});
