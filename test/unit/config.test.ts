import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, validateConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { CLI } from '../support/issuer.js';

const problemsOf = (raw: unknown): string[] => {
  try {
    validateConfig(raw);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
};

describe('configuration', () => {
  it('uses the demo config when no file is given', () => {
    const config = loadConfig({ env: {} });
    expect(config.demo).toBe(true);
    expect(config.issuer).toBe('http://localhost:3000');
    expect(config.users.map((u) => u.username)).toEqual(['alice', 'bob']);
    expect(config.clients.map((c) => c.id)).toEqual([
      'demo-spa',
      'demo-web',
      'debugger',
      'demo-service',
    ]);
    expect(config.clients.find((c) => c.id === 'demo-service')?.secret).toBe('demo-service-secret');
    expect(config.keys.algorithms).toEqual(['RS256']);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('applies environment overrides, and the default issuer follows the port', () => {
    const config = loadConfig({
      env: {
        PORT: '4100',
        REDIS_URL: 'redis://127.0.0.1:6390',
        LOG_LEVEL: 'debug',
        ADMIN_TOKEN: 'x'.repeat(20),
      },
    });
    expect(config.port).toBe(4100);
    expect(config.issuer).toBe('http://localhost:4100');
    expect(config.redis.url).toBe('redis://127.0.0.1:6390');
    expect(config.logLevel).toBe('debug');
    expect(config.admin.token).toBe('x'.repeat(20));
    expect(loadConfig({ env: { PORT: '4100', ISSUER: 'http://issuer.test' } }).issuer).toBe(
      'http://issuer.test',
    );
  });

  it('reads YAML files, parses durations and is not in demo mode', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'issuer.yaml');
    writeFileSync(
      file,
      [
        'issuer: https://id.example.test',
        'ttl: { accessToken: 10m, idToken: 900 }',
        'keys: { rotationPeriod: 7d, prePublication: 1d, retention: 2d }',
        'users: [{ username: carol, password: pw, claims: { email: carol@example.test } }]',
      ].join('\n'),
    );
    const config = loadConfig({ file, env: {} });
    expect(config.demo).toBe(false);
    expect(config.ttl.accessToken).toBe(600_000);
    expect(config.ttl.idToken).toBe(900_000);
    expect(config.keys.rotationPeriod).toBe(7 * 86_400_000);
    expect(config.users[0]?.sub).toBe('carol');
    expect(config.login.anyUser).toBe(false);
  });

  it('reports every bad field at once, by path, including unknown settings', () => {
    const problems = problemsOf({
      issuer: 'not a url',
      port: 70000,
      colour: 'blue',
      keys: { algorithms: ['HS256'], rotationPeriod: 'soon' },
      clients: [{ id: 'a', redirectUris: ['x'], grantTypes: ['implicit'], extra: 1 }],
    });
    const text = problems.join('\n');
    expect(text).toMatch(/^issuer: /m);
    expect(text).toMatch(/^port: /m);
    expect(text).toMatch(/^colour: unknown setting/m);
    expect(text).toMatch(/^keys\.algorithms\[0\]: /m);
    expect(text).toMatch(/^keys\.rotationPeriod: must be a duration/m);
    expect(text).toMatch(/^clients\[0\]\.redirectUris\[0\]: /m);
    expect(text).toMatch(/^clients\[0\]\.grantTypes\[0\]: /m);
    expect(text).toMatch(/^clients\[0\]\.extra: unknown setting/m);
  });

  it('refuses a key policy that would drop keys before their tokens expire', () => {
    const problems = problemsOf({
      ttl: { accessToken: '2h' },
      keys: { retention: '1h', rotationPeriod: '1h', prePublication: '2h' },
    });
    expect(problems.some((p) => p.startsWith('keys.retention:'))).toBe(true);
    expect(problems.some((p) => p.startsWith('keys.rotationPeriod:'))).toBe(true);
  });

  it('checks references between clients, resource servers and algorithms', () => {
    const problems = problemsOf({
      clients: [
        {
          id: 'svc',
          grantTypes: ['client_credentials'],
          resources: ['http://nowhere'],
          scopes: ['api:read'],
        },
        { id: 'svc', secret: 's', grantTypes: ['authorization_code'], idTokenSigningAlg: 'ES256' },
      ],
    });
    const text = problems.join('\n');
    expect(text).toContain('clients: duplicate id "svc"');
    expect(text).toContain('clients[0].secret: client_credentials needs a confidential client');
    expect(text).toContain(
      'clients[0].resources[0]: no resource server has audience "http://nowhere"',
    );
    expect(text).toContain('clients[0].scopes[0]: unknown scope "api:read"');
    expect(text).toContain('clients[1].redirectUris: required for the authorization_code grant');
    expect(text).toContain('clients[1].idTokenSigningAlg: ES256 is not in keys.algorithms');
  });

  it('makes the CLI exit non-zero with a message naming each bad field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ port: 'eighty', typo: true, users: [{ username: 'x' }] }));
    const run = spawnSync(process.execPath, [CLI, 'start', '--config', file], {
      encoding: 'utf8',
      timeout: 15_000,
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('invalid configuration');
    expect(run.stderr).toMatch(/port: /);
    expect(run.stderr).toMatch(/typo: unknown setting/);
    expect(run.stderr).toMatch(/users\[0\]\.password: /);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('docs/config.example.yaml', () => {
  it('is a valid configuration', () => {
    const config = loadConfig({
      file: join(import.meta.dirname, '..', '..', 'docs', 'config.example.yaml'),
      env: {},
    });
    expect(config.clients.map((c) => c.id)).toEqual([
      'my-spa',
      'my-web',
      'my-worker',
      'orders-api',
    ]);
    expect(config.keys.algorithms).toEqual(['RS256', 'ES256']);
  });
});
