import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, validateConfig } from '../../src/config/load.js';
import { consoleEnabled } from '../../src/http/console-gate.js';

describe('console gate', () => {
  it('is on in the demo config, on any bind', () => {
    expect(consoleEnabled(loadConfig({ env: {} }))).toBe(true);
    expect(consoleEnabled(loadConfig({ env: { HOST: '0.0.0.0' } }))).toBe(true);
  });

  it('in a user config: on for loopback binds, off elsewhere unless console.enabled is true', () => {
    for (const host of ['127.0.0.1', '127.0.0.2', 'localhost', '::1']) {
      expect(consoleEnabled(validateConfig({ host })), host).toBe(true);
    }
    for (const host of ['0.0.0.0', '::', '10.0.0.5', 'issuer.internal']) {
      expect(consoleEnabled(validateConfig({ host })), host).toBe(false);
    }
    expect(consoleEnabled(validateConfig({ host: '0.0.0.0', console: { enabled: true } }))).toBe(
      true,
    );
    expect(consoleEnabled(validateConfig({ host: '127.0.0.1', console: { enabled: false } }))).toBe(
      false,
    );
  });

  it('is on under extends: demo, with the debugger client inherited', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'gate-')), 'issuer.yaml');
    writeFileSync(file, 'extends: demo\nhost: 0.0.0.0\n');
    const config = loadConfig({ file, env: {} });
    expect(consoleEnabled(config)).toBe(true);
    expect(config.clients.find((c) => c.id === 'debugger')?.redirectUris).toEqual([
      '/debugger/callback',
    ]);
  });

  it('rejects an unknown console setting by name', () => {
    expect(() => validateConfig({ console: { enable: true } })).toThrow(
      /console\.enable: unknown setting/,
    );
  });
});
