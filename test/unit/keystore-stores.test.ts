import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyError } from '../../src/errors.js';
import { FileKeyRingStore } from '../../src/keystore/file-ring-store.js';
import { MemoryKeyRingStore } from '../../src/keystore/memory-ring-store.js';
import { deserializeRing, serializeRing } from '../../src/keystore/serialize.js';
import type { KeyRing } from '../../src/keystore/types.js';
import { keyRingStoreSuite, SECRET, sampleRing } from '../suites/keyring-store.suite.js';

let ring: KeyRing;

beforeAll(async () => {
  ring = await sampleRing();
});

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(KeyError);
    return (e as KeyError).code;
  }
  return 'returned';
}

describe('serializeRing / deserializeRing', () => {
  it('round-trips a plaintext ring', () => {
    expect(deserializeRing(serializeRing(ring))).toEqual(ring);
  });

  it('encrypts the ring under a secret: no private member, no key material in clear', () => {
    const stored = serializeRing(ring, { secret: SECRET });
    expect(stored).not.toContain('"d"');
    expect(stored).not.toContain(ring.keys[0]!.privateJwk.d);
    expect(stored).not.toContain(ring.cookieKeys[0]);
    expect(JSON.parse(stored)).toMatchObject({ version: ring.version, sealed: { enc: 'A256GCM' } });
    expect(deserializeRing(stored, { secret: SECRET })).toEqual(ring);
    // Fresh salt and IV per write.
    expect(serializeRing(ring, { secret: SECRET })).not.toBe(stored);
  });

  it('names the problem when the secret is wrong, missing, or the envelope was altered', () => {
    const stored = serializeRing(ring, { secret: SECRET });
    expect(codeOf(() => deserializeRing(stored, { secret: `${SECRET}!` }))).toBe(
      'KEYRING_SECRET_MISMATCH',
    );
    expect(codeOf(() => deserializeRing(stored))).toBe('KEYRING_SECRET_REQUIRED');
    const bumped = JSON.stringify({ ...JSON.parse(stored), version: ring.version + 1 });
    expect(codeOf(() => deserializeRing(bumped, { secret: SECRET }))).toBe(
      'KEYRING_SECRET_MISMATCH',
    );
  });

  it('refuses a plaintext ring when a secret is set, unless told to accept it once', () => {
    const plain = serializeRing(ring);
    expect(codeOf(() => deserializeRing(plain, { secret: SECRET }))).toBe('KEYRING_NOT_ENCRYPTED');
    expect(deserializeRing(plain, { secret: SECRET, acceptPlaintext: true })).toEqual(ring);
  });

  it('refuses corrupt input and short secrets', () => {
    expect(codeOf(() => deserializeRing('{'))).toBe('KEYRING_CORRUPT');
    expect(codeOf(() => deserializeRing('{"format":"other","version":1}'))).toBe('KEYRING_CORRUPT');
    const broken = JSON.parse(serializeRing(ring));
    broken.ring.keys[0].alg = 'none';
    expect(codeOf(() => deserializeRing(JSON.stringify(broken)))).toBe('KEYRING_CORRUPT');
    expect(codeOf(() => serializeRing(ring, { secret: 'short' }))).toBe('KEYRING_SECRET_WEAK');
  });
});

keyRingStoreSuite(
  'MemoryKeyRingStore',
  { concurrentHandles: true, announces: true, sealed: false },
  async () => ({
    // One process shares one memory store: every handle is the same object.
    space: () => {
      const store = new MemoryKeyRingStore();
      return {
        open: () => store,
        raw: async () => {
          const held = await store.load();
          return held && JSON.stringify(held);
        },
        wipe: async () => store.clear(),
      };
    },
    close: async () => {},
  }),
);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'keystore-file-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
keyRingStoreSuite(
  'FileKeyRingStore',
  { concurrentHandles: false, announces: false, sealed: true },
  async () => ({
    space: () => {
      const path = join(dir, `s${++n}`, 'keyring.json');
      return {
        open: (options) => new FileKeyRingStore(path, options),
        raw: () => readFile(path, 'utf8').catch(() => undefined),
        wipe: () => rm(path, { force: true }),
      };
    },
    close: async () => {},
  }),
);

describe('FileKeyRingStore', () => {
  it('creates its directory and writes the ring with mode 0600, atomically', async () => {
    const path = join(dir, 'nested', 'keys', 'keyring.json');
    const store = new FileKeyRingStore(path, { secret: SECRET });
    await store.update(() => ring);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'nested', 'keys')).mode & 0o777).toBe(0o700);
    expect(readdirSync(join(dir, 'nested', 'keys'))).toEqual(['keyring.json']);
    expect(readFileSync(path, 'utf8')).not.toContain('"d"');
    const reopened = new FileKeyRingStore(path, { secret: SECRET });
    expect((await reopened.load())!.keys).toEqual(ring.keys);
    await expect(new FileKeyRingStore(path, { secret: `${SECRET}x` }).load()).rejects.toMatchObject(
      {
        code: 'KEYRING_SECRET_MISMATCH',
      },
    );
  });

  it('keeps the old ring when it cannot be read, and never overwrites it', async () => {
    const path = join(dir, 'corrupt', 'keyring.json');
    const store = new FileKeyRingStore(path);
    await store.update(() => ring);
    writeFileSync(path, '{ not json');
    await expect(store.update(() => ring)).rejects.toMatchObject({ code: 'KEYRING_CORRUPT' });
    expect(readFileSync(path, 'utf8')).toBe('{ not json');
  });
});

describe('MemoryKeyRingStore', () => {
  it('notifies subscribers of changes and can forget its ring', async () => {
    const store = new MemoryKeyRingStore();
    let calls = 0;
    const unsubscribe = await store.subscribe(() => calls++);
    await store.update(() => ring);
    await new Promise((r) => setImmediate(r));
    expect(calls).toBe(1);
    await unsubscribe();
    store.clear();
    expect(await store.load()).toBeUndefined();
  });
});
