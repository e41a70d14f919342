import { afterEach, describe, expect, it, vi } from 'vitest';
import { KeyError, StoreUnavailableError } from '../../src/errors.js';
import { mintAhead, publishedKeys, stateAt } from '../../src/keystore/lifecycle.js';
import { generateSigningKey } from '../../src/keystore/material.js';
import { MemoryKeyRingStore } from '../../src/keystore/memory-ring-store.js';
import { RotationTooEarlyError } from '../../src/keystore/rotation.js';
import type { KeyRing, KeyRingStore, RotationPolicy } from '../../src/keystore/types.js';
import { KeyRingWatcher } from '../../src/keystore/watcher.js';

const S = 1000;
const T0 = 1_700_000_000_000;
const policy: RotationPolicy = {
  algorithms: ['ES256'],
  rotationPeriod: 100 * S,
  prePublication: 20 * S,
  retention: 50 * S,
};

/** A store that can be switched off, standing for a store that cannot be reached. */
class SwitchableStore implements KeyRingStore {
  down = false;
  constructor(readonly inner = new MemoryKeyRingStore()) {}
  #check() {
    if (this.down) throw new StoreUnavailableError('switched off for the test');
  }
  async load() {
    this.#check();
    return this.inner.load();
  }
  async update(updater: (c: KeyRing | undefined) => KeyRing | undefined) {
    this.#check();
    return this.inner.update(updater);
  }
  subscribe(onChange: () => void) {
    return this.inner.subscribe(onChange);
  }
  close() {
    return this.inner.close();
  }
}

const managers: KeyRingWatcher[] = [];
function watcher(store: KeyRingStore, clock: () => number, p = policy) {
  const m = new KeyRingWatcher({ store, policy: p, clock, refreshIntervalMs: 60_000 });
  managers.push(m);
  return m;
}
afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.stop()));
});

const kids = (ring: KeyRing | undefined) => (ring?.keys ?? []).map((k) => k.kid).sort();

describe('KeyRingWatcher', () => {
  it('creates the first ring once, even when several start together', async () => {
    const store = new MemoryKeyRingStore();
    let now = T0;
    const clock = () => now;
    const all = [watcher(store, clock), watcher(store, clock), watcher(store, clock)];
    const fired: number[] = [0, 0, 0];
    for (const [i, m] of all.entries()) {
      m.onChange(() => {
        fired[i]!++;
      });
    }
    await Promise.all(all.map((m) => m.start()));
    const stored = await store.load();
    expect(stored!.keys).toHaveLength(2);
    for (const m of all) expect(kids(m.current())).toEqual(kids(stored));
    expect(fired).toEqual([1, 1, 1]);
    const [a] = all;
    expect(a!.signingKeys()[0]).toMatchObject({ kid: stored!.keys[0]!.kid, alg: 'ES256' });
    expect(a!.jwks()!.body.toString()).not.toContain('"d"');
    expect(a!.isInSync(0)).toBe(true);
    now += 1;
    expect(a!.isInSync(0)).toBe(false);
  });

  it('mints the key after next through the store ahead of a transition, then fires at it', async () => {
    const store = new MemoryKeyRingStore();
    let now = T0;
    const m = watcher(store, () => now);
    await m.start();
    const [a, b] = m.current()!.keys;
    const seen: string[] = [];
    m.onChange(() => seen.push(m.signingKeys()[0]!.kid));

    now = b!.activateAt - mintAhead(policy) - 1;
    await m.refresh();
    expect(seen).toEqual([]);

    now = b!.activateAt - mintAhead(policy);
    await m.refresh();
    expect(seen).toEqual([a!.kid]);
    const stored = await store.load();
    expect(stored!.keys).toHaveLength(3);
    const fresh = stored!.keys.find((k) => k.kid !== a!.kid && k.kid !== b!.kid)!;
    expect(fresh.activateAt).toBe(b!.retireAt);
    expect(kids(m.current())).toEqual(kids(stored));

    now = b!.activateAt;
    await m.refresh();
    expect(seen).toEqual([a!.kid, b!.kid]);
    expect((await store.load())!.keys).toHaveLength(3);
  });

  it('fires on its own timer exactly when a key changes state', async () => {
    const quick: RotationPolicy = { ...policy, rotationPeriod: 300, prePublication: 300 };
    const store = new MemoryKeyRingStore();
    const m = watcher(store, Date.now, quick);
    await m.start();
    const next = m.current()!.keys[1]!;
    const fired = new Promise<number>((resolve) =>
      m.onChange(() => {
        if (m.signingKeys()[0]!.kid === next.kid) resolve(Date.now());
      }),
    );
    const at = await fired;
    expect(at).toBeGreaterThanOrEqual(next.activateAt);
    expect(at - next.activateAt).toBeLessThan(200);
  });

  it('refuses a rotation before the lead has passed, then rotates, returning no private member', async () => {
    const store = new MemoryKeyRingStore();
    let now = T0;
    const m = watcher(store, () => now);
    await m.start();
    const [a, b] = m.current()!.keys;
    const early = await m.rotate().catch((e) => e);
    expect(early).toBeInstanceOf(RotationTooEarlyError);
    expect(early).toMatchObject({ code: 'ROTATION_TOO_EARLY', notBefore: T0 + 20 * S });
    now = T0 + 20 * S;
    const summary = await m.rotate('ES256');
    expect(JSON.stringify(summary)).not.toContain('"d"');
    expect(summary.keys.find((k) => k.state === 'active')!.kid).toBe(b!.kid);
    expect(summary.keys.find((k) => k.kid === a!.kid)!.state).toBe('retiring');
    expect(m.signingKeys()[0]!.kid).toBe(b!.kid);
  });

  it('rotates early when asked, saying which verifiers may fail', async () => {
    const store = new MemoryKeyRingStore();
    const now = T0 + 4 * S;
    const m = watcher(store, () => now);
    await m.start();
    const [a, b] = m.current()!.keys;
    const summary = await m.rotate('ES256', { early: true });
    expect(summary.rotation).toMatchObject({
      alg: 'ES256',
      activeKid: b!.kid,
      retiredKid: a!.kid,
      publishedFor: 0,
      early: true,
    });
    expect(summary.rotation.warning).toMatch(
      /published for under 1s when it started signing \(keys.prePublication asks for 20s\)/,
    );
    expect(summary.rotation.warning).toContain('does not refetch on an unknown kid');
    expect(m.signingKeys()[0]!.kid).toBe(b!.kid);
  });

  it('a planned rotation reports itself as not early, with no warning', async () => {
    const store = new MemoryKeyRingStore();
    let now = T0;
    const m = watcher(store, () => now);
    await m.start();
    now = T0 + 25 * S;
    const { rotation } = await m.rotate();
    expect(rotation).toMatchObject({ early: false, publishedFor: 25 * S });
    expect(rotation.warning).toBeUndefined();
  });

  it('revokes a key at once and refuses an unknown kid', async () => {
    const store = new MemoryKeyRingStore();
    const now = T0;
    const m = watcher(store, () => now);
    await m.start();
    const [a, b] = m.current()!.keys;
    await m.revoke(a!.kid);
    expect(m.signingKeys()[0]!.kid).toBe(b!.kid);
    expect(kids(m.current())).not.toContain(a!.kid);
    await expect(m.revoke('nope')).rejects.toMatchObject({ code: 'KID_NOT_FOUND' });
  });

  it("imports a key as the next one, taking the waiting key's turn", async () => {
    const store = new MemoryKeyRingStore();
    const now = T0 + 5 * S;
    const m = watcher(store, () => now);
    await m.start();
    const waiting = m.current()!.keys[1]!;
    const jwk = await generateSigningKey('ES256');
    const { kid: _kid, ...withoutKid } = jwk;
    await m.import(withoutKid);
    const entry = m.current()!.keys.find((k) => k.kid === jwk.kid)!;
    expect(entry).toMatchObject({ origin: 'imported', activateAt: waiting.activateAt });
    expect(stateAt(entry, now)).toBe('next');
    expect(kids(m.current())).not.toContain(waiting.kid);
    await expect(m.import(jwk)).rejects.toMatchObject({ code: 'KID_EXISTS' });
  });

  it('invents no keys while the store is unreachable and catches up when it returns', async () => {
    const store = new SwitchableStore();
    store.down = true;
    let now = T0;
    const m = watcher(store, () => now);
    await m.start();
    expect(m.current()).toBeUndefined();
    expect(m.signingKeys()).toEqual([]);
    expect(m.isInSync(60_000)).toBe(false);
    expect(m.lastError).toBeInstanceOf(StoreUnavailableError);
    expect(await store.inner.load()).toBeUndefined();
    await expect(m.rotate()).rejects.toBeInstanceOf(StoreUnavailableError);

    store.down = false;
    now += S;
    await m.refresh();
    expect(m.current()!.keys).toHaveLength(2);
    expect(m.lastError).toBeUndefined();
    expect(m.isInSync(0)).toBe(true);
  });

  it('keeps serving the held ring during an outage', async () => {
    const store = new SwitchableStore();
    let now = T0;
    const m = watcher(store, () => now);
    await m.start();
    const held = m.current();
    store.down = true;
    now += 10 * S;
    await expect(m.refresh()).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(m.current()).toBe(held);
    expect(m.signingKeys()).toHaveLength(2);
    expect(m.isInSync(5 * S)).toBe(false);
  });

  it('writes the held ring back when the store lost it, never minting a new one', async () => {
    const store = new MemoryKeyRingStore();
    let now = T0;
    const m = watcher(store, () => now);
    await m.start();
    const before = m.current()!;
    let fired = 0;
    m.onChange(() => fired++);
    store.clear();
    now += S;
    await m.refresh();
    const after = await store.load();
    expect(kids(after)).toEqual(kids(before));
    expect(after!.version).toBeGreaterThan(before.version);
    expect(after!.cookieKeys).toEqual(before.cookieKeys);
    expect(fired).toBe(0);
  });

  it('keeps keys a newcomer minted while the store was empty published after the write-back', async () => {
    const store = new MemoryKeyRingStore();
    let now = T0;
    const old = watcher(store, () => now);
    await old.start();
    store.clear();
    now += S;
    const newcomer = watcher(store, () => now);
    await newcomer.start();
    const minted = newcomer.signingKeys()[0]!.kid;
    await old.refresh();
    await newcomer.refresh();
    const ring = (await store.load())!;
    const states = Object.fromEntries(publishedKeys(ring, now).map((k) => [k.kid, k.state]));
    expect(states[minted]).toBe('retiring');
    expect(newcomer.signingKeys()[0]!.kid).toBe(old.signingKeys()[0]!.kid);
    expect(kids(newcomer.current())).toEqual(kids(old.current()));
  });

  it('follows changes written by another instance', async () => {
    const store = new MemoryKeyRingStore();
    let now = T0;
    const a = watcher(store, () => now);
    const b = watcher(store, () => now);
    await a.start();
    await b.start();
    now = T0 + 30 * S;
    await a.rotate();
    await b.refresh();
    expect(b.signingKeys()[0]!.kid).toBe(a.signingKeys()[0]!.kid);
  });

  it('generates no key while starting on an existing ring, and fills its pool when asked', async () => {
    const store = new MemoryKeyRingStore();
    const first = watcher(store, () => T0);
    await first.start();
    const generated: string[] = [];
    const later = new KeyRingWatcher({
      store,
      policy,
      clock: () => T0,
      refreshIntervalMs: 60_000,
      generateKey: async (alg) => {
        generated.push(alg);
        return generateSigningKey(alg);
      },
    });
    managers.push(later);
    await later.start();
    await new Promise((r) => setTimeout(r, 50));
    expect(generated).toEqual([]);
    expect(kids(later.current())).toEqual(kids(await store.load()));
    // Asked to once the issuer serves, it fills the pool in the background; a full pool stays.
    later.prepareCandidates();
    await vi.waitFor(() => expect(generated).toEqual(['ES256', 'ES256']));
    await later.refresh();
    await new Promise((r) => setTimeout(r, 50));
    expect(generated).toHaveLength(2);
  });

  it('reports a ring it cannot read as an error, without overwriting it', async () => {
    const store = new MemoryKeyRingStore();
    const m = watcher(
      {
        ...store,
        load: async () => {
          throw new KeyError('KEYRING_SECRET_MISMATCH', 'other secret');
        },
        update: async () => {
          throw new KeyError('KEYRING_SECRET_MISMATCH', 'other secret');
        },
        subscribe: async () => async () => {},
        close: async () => {},
      },
      () => T0,
    );
    await m.start();
    expect(m.current()).toBeUndefined();
    expect(m.lastError).toMatchObject({ code: 'KEYRING_SECRET_MISMATCH' });
  });
});
