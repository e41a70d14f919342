import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { importKeyDirectory, KEY_FILE_ENDINGS } from '../../src/keystore/import-dir.js';
import { parsePrivateKeys } from '../../src/keystore/material.js';
import { MemoryKeyRingStore } from '../../src/keystore/memory-ring-store.js';
import { KeyRingWatcher } from '../../src/keystore/watcher.js';
import { PACKAGE_ROOT } from '../../src/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'oidc-issuer-keys-dir-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ecPem = () =>
  generateKeyPairSync('ec', { namedCurve: 'P-256' })
    .privateKey.export({ type: 'pkcs8', format: 'pem' })
    .toString();
const ecJwk = () =>
  generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });

describe('the keys folder read at start', () => {
  it('imports a private key from a file of every listed ending, and nothing else', async () => {
    const files: Record<string, string> = {
      'a.pem': ecPem(),
      'b.key': ecPem(),
      'c.jwk': JSON.stringify(ecJwk()),
      'd.jwks': JSON.stringify({ keys: [ecJwk()] }),
      'e.json': JSON.stringify(ecJwk()),
      'F.PEM': ecPem(),
      // Not key files: the key ring files, dotfiles, other endings.
      'keyring-abc.json': '{"not":"a key"}',
      '.hidden.pem': 'not a key',
      'notes.txt': 'not a key',
      'x.pem.bak': 'not a key',
    };
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    const expected = await Promise.all(
      ['a.pem', 'b.key', 'c.jwk', 'd.jwks', 'e.json', 'F.PEM'].map(
        async (name) => (await parsePrivateKeys(readFileSync(join(dir, name))))[0]!.kid,
      ),
    );
    const manager = new KeyRingWatcher({
      store: new MemoryKeyRingStore(),
      policy: {
        algorithms: ['ES256'],
        rotationPeriod: 100_000,
        prePublication: 20_000,
        retention: 50_000,
      },
    });
    try {
      await manager.refresh();
      expect((await importKeyDirectory(dir, manager)).sort()).toEqual(expected.sort());
    } finally {
      await manager.stop();
    }
    expect(KEY_FILE_ENDINGS).toEqual(['.pem', '.key', '.jwk', '.jwks', '.json']);
  });

  it.each([
    [
      'docs/cli.md',
      /at start it reads every file ending in ([^.]*\.[\s\S]*?) there as a private key/,
    ],
    [
      'docs/key-rotation.md',
      /read from the `keys\/` folder at start \(files ending in ([\s\S]*?),\s*except/,
    ],
  ])('%s lists the same endings', (doc, sentence) => {
    const text = readFileSync(join(PACKAGE_ROOT, doc), 'utf8');
    const listed = sentence.exec(text)?.[1];
    expect(listed, `the sentence about the keys folder in ${doc}`).toBeDefined();
    expect([...listed!.matchAll(/`(\.[a-z]+)`/g)].map((m) => m[1])).toEqual([...KEY_FILE_ENDINGS]);
  });
});
