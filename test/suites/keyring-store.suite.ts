import type { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey } from '../../src/keystore/material.js';
import { planRing } from '../../src/keystore/plan.js';
import { RedisKeyRingStore } from '../../src/keystore/redis-ring-store.js';
import type { RingCodecOptions } from '../../src/keystore/serialize.js';
import type { KeyRing, KeyRingStore, RotationPolicy } from '../../src/keystore/types.js';
import { keyNames } from '../../src/store/keys.js';
import { uniqueNamespace } from '../support/redis.js';

/** One place holding one key ring: a Redis namespace, a file, a memory store. */
export interface RingSpace {
  /** A handle on this ring, as one issuer instance opens it (a new store object where it can be). */
  open(options?: RingCodecOptions): KeyRingStore;
  /** What the storage holds for the ring, as stored (undefined when nothing). */
  raw(): Promise<string | undefined>;
  /** Loses the stored ring, as a store restarted without persistence does. */
  wipe(): Promise<void>;
}

/** One key-ring store implementation, as the suite sees it. */
export interface RingStoreHarness {
  /** A fresh, empty space for one test. */
  space(): RingSpace;
  close(): Promise<void>;
}

/** What a store offers beyond the common contract; the suite runs the tests of each it claims. */
export interface RingStoreCapabilities {
  /** Several handles on one space may write at once (not a file: one process per file). */
  concurrentHandles: boolean;
  /** `subscribe` reports changes made through other handles (not a file). */
  announces: boolean;
  /** `open` honours a secret: private keys are stored encrypted (not in memory). */
  sealed: boolean;
}

/** A secret long enough for the ring codec. */
export const SECRET = 'correct horse battery staple';

/** A planned ES256 ring (active + next), as the stores' tests write it. */
export async function sampleRing(): Promise<KeyRing> {
  const policy: RotationPolicy = {
    algorithms: ['ES256'],
    rotationPeriod: 100_000,
    prePublication: 20_000,
    retention: 50_000,
  };
  const keys = [await generateSigningKey('ES256'), await generateSigningKey('ES256')];
  return planRing(undefined, policy, 1_000, () => keys.shift()!)!;
}

/**
 * The harness of `RedisKeyRingStore` over `clients` (standalone or Cluster, used in turn as
 * that many instances); `stop` ends what the test file started.
 */
export function redisRingHarness(
  clients: (Redis | Cluster)[],
  stop: () => Promise<void>,
): RingStoreHarness {
  let turn = 0;
  return {
    space: () => {
      const ns = uniqueNamespace('ring-suite');
      const key = keyNames(ns).keyRing;
      return {
        open: (options) => new RedisKeyRingStore(clients[turn++ % clients.length]!, ns, options),
        raw: async () => (await clients[0]!.get(key)) ?? undefined,
        wipe: async () => {
          await clients[0]!.del(key);
        },
      };
    },
    close: async () => {
      for (const c of clients) c.disconnect();
      await stop();
    },
  };
}

const tick = () => new Promise((r) => setTimeout(r, 20));

async function until(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await tick();
  }
}

/**
 * The KeyRingStore contract (keystore/types.ts) once, for every store — Dex's storage
 * conformance shape. `factory` is called once per suite; every test works in its own space.
 */
export function keyRingStoreSuite(
  name: string,
  can: RingStoreCapabilities,
  factory: () => Promise<RingStoreHarness>,
): void {
  describe(`${name}: the KeyRingStore contract`, () => {
    let harness: RingStoreHarness;
    let ring: KeyRing;
    const opened: KeyRingStore[] = [];
    const open = (space: RingSpace, options?: RingCodecOptions) => {
      const store = space.open(options);
      opened.push(store);
      return store;
    };

    beforeAll(async () => {
      harness = await factory();
      ring = await sampleRing();
    });
    afterAll(async () => {
      for (const store of opened) await store.close();
      await harness?.close();
    });

    const addCookie = (cur: KeyRing | undefined) => ({
      ...cur!,
      cookieKeys: [...cur!.cookieKeys, 'c'],
    });

    it('is empty at first, then holds what update wrote, with the version increased', async () => {
      const store = open(harness.space());
      expect(await store.load()).toBeUndefined();
      const first = await store.update((cur) => (cur ? undefined : ring));
      expect(first.changed).toBe(true);
      expect(first.ring!.version).toBe(ring.version + 1);
      expect(await store.load()).toEqual(first.ring);
      const again = await store.update(() => undefined);
      expect(again).toEqual({ ring: first.ring, changed: false });
      await store.close();
    });

    it('applies concurrent updates one after the other', async () => {
      const store = open(harness.space());
      await store.update(() => ring);
      await Promise.all(Array.from({ length: 5 }, () => store.update(addCookie)));
      const final = await store.load();
      expect(final!.cookieKeys).toHaveLength(ring.cookieKeys.length + 5);
      expect(final!.version).toBe(ring.version + 6);
      await store.close();
    });

    it('hands the updater a copy: changing it without returning it changes nothing', async () => {
      const store = open(harness.space());
      const { ring: written } = await store.update(() => ring);
      await store.update((cur) => {
        cur!.keys.length = 0;
        cur!.cookieKeys.push('mutated');
        return undefined;
      });
      expect(await store.load()).toEqual(written);
      const loaded = (await store.load())!;
      loaded.keys.length = 0;
      expect(await store.load()).toEqual(written);
    });

    it('rejects with a failing updater, keeps the ring, and goes on working', async () => {
      const store = open(harness.space());
      const { ring: written } = await store.update(() => ring);
      await expect(
        store.update(() => {
          throw new Error('updater failed');
        }),
      ).rejects.toThrow('updater failed');
      expect(await store.load()).toEqual(written);
      const next = await store.update(addCookie);
      expect(next.ring!.version).toBe(written!.version + 1);
    });

    it('another handle on the same ring reads what one wrote and updates on top of it', async () => {
      const space = harness.space();
      const a = open(space);
      const { ring: written } = await a.update(() => ring);
      await a.close();
      const b = open(space);
      expect(await b.load()).toEqual(written);
      const next = await b.update(addCookie);
      expect(next.ring!.version).toBe(written!.version + 1);
      expect(next.ring!.cookieKeys).toEqual([...ring.cookieKeys, 'c']);
    });

    it('keeps versions growing when a held ring is written back after the store lost it', async () => {
      const space = harness.space();
      const store = open(space);
      const { ring: held } = await store.update(() => ring);
      await store.update(addCookie);
      await space.wipe();
      expect(await store.load()).toBeUndefined();
      const restored = await store.update((cur) => (cur ? undefined : held));
      expect(restored.changed).toBe(true);
      expect(restored.ring!.version).toBe(held!.version + 1);
      expect(restored.ring!.keys).toEqual(held!.keys);
    });

    if (can.concurrentHandles) {
      it('updates from several handles at once all apply, each exactly once', async () => {
        const space = harness.space();
        const handles = [open(space), open(space), open(space)];
        await handles[0]!.update(() => ring);
        const results = await Promise.all(
          handles.flatMap((h) => [h.update(addCookie), h.update(addCookie)]),
        );
        expect(results.every((r) => r.changed)).toBe(true);
        expect(new Set(results.map((r) => r.ring!.version)).size).toBe(6);
        const final = (await handles[1]!.load())!;
        expect(final.cookieKeys).toHaveLength(ring.cookieKeys.length + 6);
        expect(final.version).toBe(ring.version + 7);
      });
    }

    if (can.announces) {
      it('tells subscribers of a change made through another handle; unsubscribe and close stop it', async () => {
        const space = harness.space();
        const [listening, closing, writer] = [open(space), open(space), open(space)];
        let heard = 0;
        let heardByClosed = 0;
        const unsubscribe = await listening.subscribe(() => heard++);
        await closing.subscribe(() => heardByClosed++);
        await writer.update(() => ring);
        await until('the change is heard', () => heard > 0 && heardByClosed > 0);

        await unsubscribe();
        await closing.close();
        await tick();
        const [before, beforeClosed] = [heard, heardByClosed];
        await writer.update(addCookie);
        await tick();
        await tick();
        expect(heard).toBe(before);
        expect(heardByClosed).toBe(beforeClosed);
      });
    }

    if (can.sealed) {
      it('under a secret stores no private member, and another secret can neither read nor overwrite it', async () => {
        const space = harness.space();
        const store = open(space, { secret: SECRET });
        await store.update(() => ring);
        const stored = (await space.raw())!;
        expect(stored).not.toContain('"d"');
        expect(stored).not.toContain(ring.keys[0]!.privateJwk.d);
        expect(JSON.parse(stored)).toMatchObject({ sealed: { enc: 'A256GCM' } });
        expect((await open(space, { secret: SECRET }).load())!.keys).toEqual(ring.keys);

        const other = open(space, { secret: `${SECRET}!` });
        await expect(other.load()).rejects.toMatchObject({ code: 'KEYRING_SECRET_MISMATCH' });
        await expect(other.update(() => ring)).rejects.toMatchObject({
          code: 'KEYRING_SECRET_MISMATCH',
        });
        expect(await space.raw()).toBe(stored);
      });
    }
  });
}
