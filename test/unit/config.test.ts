import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { demoConfig } from '../../src/config/demo.js';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { problemsFrom, problemsOf } from '../support/config.js';
import { CLI } from '../support/issuer.js';

const DEMO_CLIENT_IDS = (demoConfig().clients ?? []).map((c) => c.id);

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
    // It extends the demo: the demo's clients, then its own.
    expect(config.clients.map((c) => c.id)).toEqual([
      ...DEMO_CLIENT_IDS,
      'my-spa',
      'my-web',
      'my-worker',
      'orders-api',
    ]);
    expect(config.keys.algorithms).toEqual(['RS256', 'ES256']);
    expect(config.demo).toBe(true);
    // Two hosted issuers below it, each with its own namespace.
    expect(config.issuers.map((i) => [i.issuer, i.keys.algorithms])).toEqual([
      ['http://localhost:3000/azure', ['RS256']],
      ['http://localhost:3000/google', ['ES256']],
    ]);
    expect(new Set([config, ...config.issuers].map((i) => i.redis.namespace)).size).toBe(3);
    // No pinned issuer: it follows the port.
    expect(
      loadConfig({
        file: join(import.meta.dirname, '..', '..', 'docs', 'config.example.yaml'),
        env: { PORT: '4321' },
      }).issuer,
    ).toBe('http://localhost:4321');
  });
});

describe('extends: demo', () => {
  const extend = (text: string, env: NodeJS.ProcessEnv = {}) =>
    parseConfig({ text: `extends: demo\n${text}`, path: '/cfg/tweak.yaml', env });

  it('is the demo config with the file on top: lists merge by identity, sections by key', () => {
    const config = extend(
      [
        'users:',
        '  - { username: bob, password: bob-new, claims: { name: Robert } }',
        '  - { username: carol, password: carol }',
        'clients:',
        '  - { id: demo-web, secret: my-own-secret, redirectUris: [http://localhost:9000/cb] }',
        '  - { id: extra, grantTypes: [client_credentials], secret: s, scopes: [api:read], resources: [http://localhost:4000/api] }',
        'resourceServers:',
        '  - { audience: http://localhost:4000/api, scopes: [api:read, api:write, api:admin] }',
        '  - { audience: https://other.test, scopes: [other:read] }',
        'scopes: { team: [team] }',
        'keys: { algorithms: [ES256] }',
        'login: { anyUser: false }',
      ].join('\n'),
    );
    // Replaced in place (whole entry), kept, and added at the end.
    expect(config.users.map((u) => [u.username, u.password])).toEqual([
      ['alice', 'alice'],
      ['bob', 'bob-new'],
      ['carol', 'carol'],
    ]);
    expect(config.users[1]?.claims).toEqual({ name: 'Robert' });
    expect(config.clients.map((c) => c.id)).toEqual([...DEMO_CLIENT_IDS, 'extra']);
    const web = config.clients.find((c) => c.id === 'demo-web');
    expect(web?.secret).toBe('my-own-secret');
    expect(web?.redirectUris).toEqual(['http://localhost:9000/cb']);
    expect(web?.resources).toEqual([]); // replaced whole, not merged field by field
    expect(config.resourceServers.map((r) => r.audience)).toEqual([
      'http://localhost:4000/api',
      'https://other.test',
    ]);
    expect(config.resourceServers[0]?.scopes).toContain('api:admin');
    // Sections merge key by key: the demo's scopes stay, the file's are added.
    expect(Object.keys(config.scopes)).toEqual(
      expect.arrayContaining(['profile', 'email', 'groups', 'team']),
    );
    expect(config.keys.algorithms).toEqual(['ES256']);
    expect(config.login.anyUser).toBe(false);
    expect(config.login.userPicker).toBe(true); // from the demo
    // The issuer follows the port, as in the demo.
    expect(config.issuer).toBe('http://localhost:3000');
    expect(extend('port: 4100').issuer).toBe('http://localhost:4100');
  });

  it('carries whatever the demo config holds, field for field', () => {
    const demo = parseConfig({ env: {} });
    const extended = extend('');
    expect({ ...extended, demo: true }).toEqual({ ...demo, demo: true });
  });

  it('stays in demo mode while demo credentials are served, and leaves it when none are', () => {
    expect(extend('').demo).toBe(true);
    expect(extend('users: [{ username: carol, password: carol }]').demo).toBe(true);
    const own = extend(
      [
        'users:',
        '  - { username: alice, password: a-real-password }',
        '  - { username: bob, password: another-one }',
        'clients:',
        '  - { id: demo-web, secret: web-secret-now, redirectUris: [http://localhost:3001/callback] }',
        '  - { id: demo-service, secret: svc-secret-now, grantTypes: [client_credentials], scopes: [api:read], resources: [http://localhost:4000/api] }',
      ].join('\n'),
    );
    expect(own.demo).toBe(false);
    // A file without `extends` never is.
    expect(parseConfig({ text: 'port: 3000', path: 'x.yaml', env: {} }).demo).toBe(false);
  });

  it('refuses any other base, naming the field', () => {
    expect(
      problemsFrom(() => parseConfig({ text: 'extends: prod', path: 'x.yaml', env: {} })),
    ).toEqual(['extends: must be "demo" (the built-in demo config), not "prod"']);
  });
});

describe('environment knobs', () => {
  it('set the key policy and login options', () => {
    const config = parseConfig({
      env: {
        KEYS_ALGORITHMS: 'ES256, RS256',
        KEYS_ROTATION_PERIOD: '30s',
        KEYS_PREPUBLICATION: '10s',
        KEYS_RETENTION: '2h',
        LOGIN_HEADLESS: 'true',
        LOGIN_ANY_USER: 'no',
        LOGIN_CONFIRM_LOGOUT: 'off',
      },
    });
    expect(config.keys.algorithms).toEqual(['ES256', 'RS256']);
    expect(config.keys.rotationPeriod).toBe(30_000);
    expect(config.keys.prePublication).toBe(10_000);
    expect(config.keys.retention).toBe(7_200_000);
    expect(config.login.headless).toBe(true);
    expect(config.login.anyUser).toBe(false);
    expect(config.login.confirmLogout).toBe(false);
    // They win over the file.
    const overFile = parseConfig({
      text: 'extends: demo\nkeys: { rotationPeriod: 7d }\nlogin: { headless: false }',
      path: 'f.yaml',
      env: { KEYS_ROTATION_PERIOD: '3d', LOGIN_HEADLESS: '1' },
    });
    expect(overFile.keys.rotationPeriod).toBe(3 * 86_400_000);
    expect(overFile.login.headless).toBe(true);
  });

  it('name the variable, not the field, when a value is wrong', () => {
    const problems = problemsFrom(() =>
      parseConfig({
        env: {
          PORT: 'abc',
          KEYS_ALGORITHMS: 'RS256,HS256',
          KEYS_ROTATION_PERIOD: 'soon',
          LOGIN_HEADLESS: 'maybe',
          LOGIN_ANY_USER: '2',
          TRUST_PROXY: 'yes please',
        },
      }),
    );
    expect(problems).toContain(
      'PORT (sets port): must be a port number from 0 to 65535 (got "abc")',
    );
    expect(problems.join('\n')).toMatch(/^KEYS_ALGORITHMS \(sets keys\.algorithms\[1\]\): /m);
    expect(problems.join('\n')).toMatch(
      /^KEYS_ROTATION_PERIOD \(sets keys\.rotationPeriod\): must be a duration/m,
    );
    expect(problems.join('\n')).toMatch(/^LOGIN_HEADLESS: must be true or false/m);
    expect(problems.join('\n')).toMatch(/^LOGIN_ANY_USER: must be true or false/m);
    expect(problems.join('\n')).toMatch(/^TRUST_PROXY: must be true or false/m);
    // No second, misleading complaint about an issuer made of the bad port.
    expect(problems.join('\n')).not.toMatch(/issuer/);
    // Rules across fields name the variable too.
    expect(problemsFrom(() => parseConfig({ env: { KEYS_RETENTION: '1m' } })).join('\n')).toMatch(
      /^KEYS_RETENTION \(sets keys\.retention\): 1m is shorter than the longest token/m,
    );
  });

  it('reads nothing but its arguments', () => {
    process.env.PORT = '4999';
    try {
      expect(parseConfig({ env: {} }).port).toBe(3000);
    } finally {
      delete process.env.PORT;
    }
  });
});

describe('clients.defaultResource', () => {
  it('must be one of the client’s resources', () => {
    const problems = problemsFrom(() =>
      parseConfig({
        text: [
          'extends: demo',
          'clients:',
          '  - { id: demo-web, secret: s, redirectUris: [http://localhost:3001/callback], resources: [http://localhost:4000/api], defaultResource: https://elsewhere.test }',
        ].join('\n'),
        path: 'x.yaml',
        env: {},
      }),
    );
    expect(problems.join('\n')).toMatch(
      /defaultResource: "https:\/\/elsewhere\.test" is not one of this client's resources/,
    );
  });
});

describe('paths in a config file', () => {
  it('are relative to the file, not the working directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'sub', 'issuer.yaml');
    const config = parseConfig({ text: 'keys: { dir: my-keys }', path: file, env: {} });
    expect(config.keys.dir).toBe(join(dir, 'sub', 'my-keys'));
    expect(parseConfig({ text: 'keys: { dir: /abs/keys }', path: file, env: {} }).keys.dir).toBe(
      '/abs/keys',
    );
    // The default is not a path written in the file: it stays where the issuer runs.
    expect(parseConfig({ text: 'port: 3000', path: file, env: {} }).keys.dir).toBe('keys');
  });
});
