import { describe, expect, it } from 'vitest';
import { CandidatePool } from '../../src/keystore/candidates.js';
import { activeKid, stateAt } from '../../src/keystore/lifecycle.js';
import { generateSigningKey } from '../../src/keystore/material.js';
import { MemoryKeyRingStore } from '../../src/keystore/memory-ring-store.js';
import { KeyRotation } from '../../src/keystore/rotation.js';
import type { RotationPolicy } from '../../src/keystore/types.js';
import { policy as lifecyclePolicy, S, T0 } from '../support/rings.js';

const policy: RotationPolicy = { ...lifecyclePolicy, algorithms: ['ES256'] };

/** What the `keys` commands do: operations on the store, without a watcher. */
describe('KeyRotation', () => {
  it('creates the first ring once, however many instances sync at the same time', async () => {
    const store = new MemoryKeyRingStore();
    const all = [1, 2, 3].map(() => new KeyRotation({ store, policy, clock: () => T0 }));
    const rings = await Promise.all(all.map((r) => r.sync()));
    const stored = (await store.load())!;
    expect(stored.keys).toHaveLength(2);
    for (const ring of rings)
      expect(ring.keys.map((k) => k.kid)).toEqual(stored.keys.map((k) => k.kid));
  });

  it('refuses to rotate, revoke or import on a store without a ring', async () => {
    const rotation = new KeyRotation({ store: new MemoryKeyRingStore(), policy });
    await expect(rotation.rotate()).rejects.toMatchObject({ code: 'KEYRING_EMPTY' });
    await expect(rotation.revoke('x')).rejects.toMatchObject({ code: 'KEYRING_EMPTY' });
    const jwk = await generateSigningKey('ES256');
    await expect(rotation.import(jwk)).rejects.toMatchObject({ code: 'KEYRING_EMPTY' });
  });

  it('concurrent rotations from two instances give exactly one new signing key', async () => {
    const store = new MemoryKeyRingStore();
    let now = T0;
    const [a, b] = [1, 2].map(() => new KeyRotation({ store, policy, clock: () => now }));
    const first = await a!.sync();
    now = T0 + 30 * S;
    const [x, y] = await Promise.all([a!.rotate(), b!.rotate()]);
    expect(x.rotation.activeKid).toBe(y.rotation.activeKid);
    const stored = (await store.load())!;
    expect(stored.keys).toHaveLength(3);
    expect(activeKid(stored, 'ES256', now)).toBe(first.keys[1]!.kid);
    expect(stateAt(stored.keys.find((k) => k.kid === first.keys[0]!.kid)!, now)).toBe('retiring');
  });

  it('fills a shared candidate pool only when an update needs a key, never reusing one', async () => {
    const made: string[] = [];
    const pool = new CandidatePool(async (alg) => {
      const jwk = await generateSigningKey(alg);
      made.push(jwk.kid);
      return jwk;
    });
    const store = new MemoryKeyRingStore();
    let now = T0;
    const rotation = new KeyRotation({ store, policy, clock: () => now, candidates: pool });
    await rotation.sync();
    expect(made).toHaveLength(2);
    await rotation.sync();
    expect(made).toHaveLength(2);
    now = T0 + 30 * S;
    const { rotation: report } = await rotation.rotate();
    const kids = (await store.load())!.keys.map((k) => k.kid);
    expect(new Set(kids).size).toBe(kids.length);
    expect(kids).toContain(report.activeKid);
    expect(made.length).toBeGreaterThanOrEqual(3);
  });
});
