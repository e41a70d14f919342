import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { startIssuer } from '../../src/issuer.js';
import { ringFilePath } from '../../src/keystore/configured.js';
import { createLogger } from '../../src/log.js';
import { waitFor } from '../support/issuer.js';

const SECRET = 'a-keystore-secret-for-tests';

async function run(dir: string, keys: Record<string, unknown>) {
  const lines: string[] = [];
  const sink = new PassThrough();
  sink.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
  const config = validateConfig({
    port: 0,
    host: '127.0.0.1',
    keys: { dir, refreshInterval: '200ms', ...keys },
  });
  const issuer = await startIssuer(config, {
    issuerFromPort: true,
    logger: createLogger('info', sink),
  });
  return { issuer, logs: () => lines.join('\n') };
}

const kidsIn = (file: string) =>
  [...readFileSync(file, 'utf8').matchAll(/"kid":"([^"]+)"/g)].map((m) => m[1]);

describe('private keys at rest (file store)', () => {
  it('warns without a secret, refuses a plaintext ring once a secret is set, and encrypts it when told to', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'at-rest-'));
    // The ring file of the config run() starts (its namespace follows the default issuer URL).
    const file = ringFilePath(validateConfig({ port: 0, host: '127.0.0.1', keys: { dir } }));

    const plain = await run(dir, {});
    const kids = plain.issuer.keyRing
      .current()!
      .keys.map((k) => k.kid)
      .sort();
    await plain.issuer.close();
    expect(plain.logs()).toContain('private signing keys are stored unencrypted');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toContain('"d":');

    // A secret alone: the plaintext ring is refused (not overwritten) and the start stops.
    await expect(run(dir, { secret: SECRET })).rejects.toMatchObject({
      code: 'KEYRING_NOT_ENCRYPTED',
      message: expect.stringContaining('KEYSTORE_ACCEPT_PLAINTEXT'),
    });
    expect(readFileSync(file, 'utf8')).toContain('"d":');

    // Told to accept it once: the same keys, now sealed.
    const sealing = await run(dir, { secret: SECRET, acceptPlaintextRing: true });
    // (Ready within a few re-reads: a 200 ms refresh interval can look stale on a busy machine.)
    await waitFor(
      async () => (await fetch(`${sealing.issuer.url}/readyz`)).status === 200,
      5000,
      'ready after sealing',
    );
    await sealing.issuer.close();
    const stored = readFileSync(file, 'utf8');
    expect(stored).not.toContain('"d":');
    expect(kidsIn(file)).toEqual([]);

    const sealed = await run(dir, { secret: SECRET });
    try {
      await waitFor(
        async () => (await fetch(`${sealed.issuer.url}/readyz`)).status === 200,
        5000,
        'ready with the sealed ring',
      );
      expect(
        sealed.issuer.keyRing
          .current()!
          .keys.map((k) => k.kid)
          .sort(),
      ).toEqual(kids);
      expect(sealed.logs()).not.toContain('stored unencrypted');
    } finally {
      await sealed.issuer.close();
    }
  });
});
