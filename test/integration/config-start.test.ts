import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnIssuer, waitFor } from '../support/issuer.js';

function configFile(text: string): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'cfg-start-'));
  mkdirSync(join(dir, 'conf'));
  const file = join(dir, 'conf', 'issuer.yaml');
  writeFileSync(file, text);
  return { dir, file };
}

describe('starting from a config file', () => {
  it('extends the demo: stays in demo mode while demo credentials are served, keys next to the file', async () => {
    const { dir, file } = configFile(
      [
        'extends: demo',
        'keys: { dir: ring }',
        'users: [{ username: alice, password: alice-has-her-own }, { username: carol, password: carol }]',
      ].join('\n'),
    );
    const child = await spawnIssuer({ OIDC_CONFIG: file, HOST: '0.0.0.0' });
    try {
      await waitFor(async () => child.output().includes('NON-LOOPBACK'), 5000, 'the warning');
      const out = child.output();
      const ring = join(dir, 'conf', 'ring');
      // Where the key ring really is: relative to the file, not to the working directory.
      expect(out).toMatch(new RegExp(`key ring +file ${ring}/\\S+\\.json`));
      expect(existsSync(ring)).toBe(true);
      // The banner lists what is served: bob is still the demo's, alice is not any more.
      expect(out).toContain('bob / bob');
      expect(out).not.toContain('alice / alice');
      expect(out).toContain('demo-service  secret demo-service-secret');
      expect(out).toContain('DEMO CREDENTIALS ARE BEING SERVED ON A NON-LOOPBACK ADDRESS');
    } finally {
      await child.stop();
    }
  });

  it('leaves demo mode once no demo credential is served', async () => {
    const { file } = configFile(
      [
        'extends: demo',
        'keys: { dir: ring }',
        'users:',
        '  - { username: alice, password: alice-own-1 }',
        '  - { username: bob, password: bob-own-1 }',
        'clients:',
        '  - { id: demo-web, secret: own-web-secret, redirectUris: [http://localhost:3001/callback] }',
        '  - { id: demo-service, secret: own-svc-secret, grantTypes: [client_credentials], scopes: [api:read], resources: [http://localhost:4000/api] }',
      ].join('\n'),
    );
    const child = await spawnIssuer({ OIDC_CONFIG: file, HOST: '0.0.0.0' });
    try {
      await waitFor(async () => child.output().includes('key ring'), 5000, 'the banner');
      // Give a warning the time it would take to appear.
      await new Promise((r) => setTimeout(r, 300));
      const out = child.output();
      expect(out).not.toContain('DEMO');
      expect(out).not.toContain('own-svc-secret');
    } finally {
      await child.stop();
    }
  });
});
