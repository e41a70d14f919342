import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { runCli } from './cli-run.js';

const EXAMPLE = join(PACKAGE_ROOT, 'docs', 'config.example.yaml');

function writeConfig(text: string, name = 'issuer.yaml'): string {
  const file = join(mkdtempSync(join(tmpdir(), 'cfg-cli-')), name);
  writeFileSync(file, text);
  return file;
}

/** A config of its own (no demo), with a secret in every place one can be. */
const OWN = [
  'users: [{ username: carol, password: carol-pass-123 }]',
  'resourceServers: [{ audience: https://api.test, scopes: [api:read] }]',
  'clients:',
  '  - { id: web, secret: web-secret-123, redirectUris: [http://localhost:8080/cb] }',
  '  - { id: svc, secret: svc-secret-123, grantTypes: [client_credentials], scopes: [api:read], resources: [https://api.test] }',
  'keys: { secret: keystore-secret-123456, rotationPeriod: 7d }',
  'admin: { token: admin-token-1234567890 }',
  'redis: { url: "redis+sentinel://:redis-pass@127.0.0.1:26390/mymaster", sentinel: { password: sentinel-pass-123 } }',
].join('\n');
const SECRETS = [
  'carol-pass-123',
  'web-secret-123',
  'svc-secret-123',
  'keystore-secret-123456',
  'admin-token-1234567890',
  'redis-pass',
  'sentinel-pass-123',
];

describe('oidc-issuer config print', () => {
  it('prints the effective config as YAML with every secret masked', async () => {
    const file = writeConfig(OWN);
    const run = await runCli(['config', 'print', '--config', file], {
      env: { KEYS_RETENTION: '40d' },
    });
    expect(run.code, run.stderr).toBe(0);
    for (const secret of SECRETS) expect(run.stdout).not.toContain(secret);
    const printed = parse(run.stdout);
    expect(printed.users[0]).toMatchObject({ username: 'carol', password: '***' });
    expect(printed.clients.map((c: { secret: string }) => c.secret)).toEqual(['***', '***']);
    expect(printed.keys).toMatchObject({ secret: '***', rotationPeriod: '7d', retention: '40d' });
    expect(printed.admin.token).toBe('***');
    expect(printed.redis.url).toBe('redis+sentinel://***@127.0.0.1:26390/mymaster');
    expect(printed.redis.sentinel).toEqual({ password: '***' });
    // Defaults filled in, durations written as a config file says them.
    expect(printed.ttl).toMatchObject({ accessToken: '1h', authorizationCode: '1m' });
  });

  it('shows secrets with --show-secrets, and what it prints loads back to the same config', async () => {
    const file = writeConfig(OWN);
    const run = await runCli(['config', 'print', '--config', file, '--show-secrets']);
    expect(run.code, run.stderr).toBe(0);
    for (const secret of SECRETS) expect(run.stdout).toContain(secret);
    const again = parseConfig({ text: run.stdout, path: 'printed.yaml', env: {} });
    const original = parseConfig({ text: readFileSync(file, 'utf8'), path: file, env: {} });
    // keys.dir is printed where it really is (the default is the working directory's keys/).
    expect(again.keys.dir).toBe(resolve(original.keys.dir));
    const withoutDir = (c: typeof again) => ({ ...c, keys: { ...c.keys, dir: '' } });
    expect(withoutDir(again)).toEqual(withoutDir(original));
  });

  it('shows the demo credentials a config still serves (they are public), and masks its own', async () => {
    const file = writeConfig(
      'extends: demo\nusers: [{ username: carol, password: carol-pass-123 }]\n',
    );
    const run = await runCli(['config', 'print', '--config', file]);
    expect(run.code, run.stderr).toBe(0);
    const users = parse(run.stdout).users as { username: string; password: string }[];
    expect(users.map((u) => [u.username, u.password])).toEqual([
      ['alice', 'alice'],
      ['bob', 'bob'],
      ['carol', '***'],
    ]);
    expect(run.stdout).toContain('demo-web-secret');
  });
});

describe('oidc-issuer config check', () => {
  it('exits 0 for a valid config', async () => {
    const run = await runCli(['config', 'check', '--config', EXAMPLE]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('valid');
    expect((await runCli(['config', 'check'])).code).toBe(0);
  });

  it('exits 2 naming every problem: fields of the file and variables of the environment', async () => {
    const file = writeConfig('extends: demo\nclients: [{ id: x, scopes: [nope] }]\ncolour: blue\n');
    const run = await runCli(['config', 'check', '--config', file], {
      env: { PORT: 'abc', LOGIN_ANY_USER: 'perhaps' },
    });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('invalid configuration');
    expect(run.stderr).toContain('colour: unknown setting');
    expect(run.stderr).toContain('PORT (sets port): must be a port number from 0 to 65535');
    expect(run.stderr).toContain('LOGIN_ANY_USER: must be true or false');
    expect(run.stderr).not.toMatch(/\n\s+at /);
    const missing = await runCli(['config', 'check', '--config', '/nonexistent/issuer.yaml']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('/nonexistent/issuer.yaml: cannot read the config file');
  });
});

describe('oidc-issuer config schema', () => {
  const validator = async () => {
    const run = await runCli(['config', 'schema']);
    expect(run.code, run.stderr).toBe(0);
    const ajv = new Ajv2020({ allErrors: true });
    addFormats.default(ajv);
    return { text: run.stdout, validate: ajv.compile(JSON.parse(run.stdout)) };
  };

  it('accepts the example config and every file the issuer accepts', async () => {
    const { validate } = await validator();
    expect(validate(parse(readFileSync(EXAMPLE, 'utf8'))), JSON.stringify(validate.errors)).toBe(
      true,
    );
    expect(validate(parse(OWN)), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({}), JSON.stringify(validate.errors)).toBe(true);
  });

  it('rejects what the issuer rejects: unknown settings, wrong types, bad values', async () => {
    const { validate } = await validator();
    expect(validate({ extends: 'demo', colour: 'blue' })).toBe(false);
    expect(validate({ port: true })).toBe(false);
    expect(validate({ keys: { algorithms: ['HS256'] } })).toBe(false);
    expect(validate({ clients: [{ id: 'x', grantTypes: ['implicit'] }] })).toBe(false);
    expect(validate({ extends: 'prod' })).toBe(false);
    expect(validate({ users: [{ username: 'x' }] })).toBe(false);
  });

  it('ships in the package as dist/config.schema.json, the same as the command prints', async () => {
    const { text } = await validator();
    expect(readFileSync(join(PACKAGE_ROOT, 'dist', 'config.schema.json'), 'utf8')).toBe(text);
    const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8'));
    expect(pkg.files).toContain('dist/config.schema.json');
    // Secrets are marked for editors too.
    expect(JSON.parse(text).properties.admin.properties.token.writeOnly).toBe(true);
  });
});
