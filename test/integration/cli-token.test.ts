import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, exportJWK, jwtVerify, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestIssuer, type TestIssuer } from '../../src/index.js';
import { runCli } from './cli-run.js';

const API = 'http://localhost:4000/api';
let issuer: TestIssuer;
let dir: string;
let configFile: string;

beforeAll(async () => {
  issuer = await createTestIssuer();
  dir = mkdtempSync(join(tmpdir(), 'oidc-issuer-cli-token-'));
  configFile = join(dir, 'issuer.yaml');
  writeFileSync(
    configFile,
    [
      'issuer: https://issuer.test',
      `keys: { dir: ${JSON.stringify(join(dir, 'keys'))}, algorithms: [RS256, ES256] }`,
      'resourceServers: [{ audience: "https://api.test", scopes: [read], accessTokenTtl: 10m }]',
      'clients: [{ id: web, secret: web-secret-123, redirectUris: ["http://localhost/cb"], idTokenSigningAlg: ES256 }]',
    ].join('\n'),
  );
});
afterAll(async () => {
  await issuer?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('token verify against a running issuer (discovery + JWKS)', () => {
  it('says VALID with the key, its publication and every claim, exit 0', async () => {
    const token = await issuer.mintToken({ sub: 'alice', scope: 'api:read' });
    const res = await runCli(['token', 'verify', token, '--aud', API, '--typ', 'at+jwt']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^VALID\n/);
    expect(res.stdout).toContain(`key      ${issuer.activeKid()} RSA RS256: published`);
    expect(res.stdout).toContain(`discovery ${issuer.url}/.well-known/openid-configuration`);
    expect(res.stdout).toContain('"scope": "api:read"');
    expect(res.stdout).toMatch(/exp\s+\d{4}-\d\d-\d\dT.*\(in (59m|1h)/);
    expect(res.stdout).toContain('from the token, not pinned');
  });

  it('reads the token from stdin with - and prints JSON with --json', async () => {
    const token = await issuer.mintToken({ sub: 'bob' });
    const res = await runCli(['token', 'verify', '-', '--issuer', issuer.url, '--json'], {
      input: `${token}\n`,
    });
    expect(res.code).toBe(0);
    const verdict = JSON.parse(res.stdout);
    expect(verdict).toMatchObject({ valid: true, problems: [], claims: { sub: 'bob' } });
    expect(verdict.key).toMatchObject({ kid: issuer.activeKid(), published: true });
  });

  it('explains an expired token and a wrong audience, exit 1', async () => {
    const token = await issuer.mintToken({ sub: 'alice', expiresIn: '-10m' });
    const res = await runCli(['token', 'verify', token, '--aud', 'https://other.example']);
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/^INVALID\n/);
    expect(res.stdout).toMatch(/EXPIRED: expired 10m (\ds )?ago .*beyond the 15s clock tolerance/);
    expect(res.stdout).toContain(`WRONG_AUDIENCE: aud is ${API}; expected https://other.example`);
  });

  it('honours --clock-tolerance', async () => {
    const token = await issuer.mintToken({ sub: 'alice', expiresIn: '-30s' });
    expect((await runCli(['token', 'verify', token])).code).toBe(1);
    expect((await runCli(['token', 'verify', token, '--clock-tolerance', '2m'])).code).toBe(0);
  });

  it('names a token signed by a foreign key: unknown kid, or bad signature under a published kid', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const claims = {
      iss: issuer.url,
      sub: 'mallory',
      aud: API,
      exp: Math.floor(Date.now() / 1000) + 600,
    };
    const foreign = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: 'attacker-key' })
      .sign(privateKey);
    const unknown = await runCli(['token', 'verify', foreign]);
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toContain('UNKNOWN_KID: kid attacker-key is not published');
    expect(unknown.stdout).toContain('key      attacker-key: NOT published');

    const forged = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: issuer.activeKid() })
      .sign(privateKey);
    const bad = await runCli(['token', 'verify', forged]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain(
      `BAD_SIGNATURE: the signature does not verify with the published key ${issuer.activeKid()}`,
    );
  });

  it('refuses alg none and HS256 tokens (exit 1); input that is no JWT exits 2', async () => {
    const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const body = b64({ iss: issuer.url, sub: 'x', exp: Math.floor(Date.now() / 1000) + 60 });
    const none = await runCli(['token', 'verify', `${b64({ alg: 'none' })}.${body}.`]);
    expect(none.code).toBe(1);
    expect(none.stdout).toContain('ALG_NONE: the token is unsigned');
    const hs = await runCli([
      'token',
      'verify',
      `${b64({ alg: 'HS256', kid: issuer.activeKid() })}.${body}.c2ln`,
    ]);
    expect(hs.code).toBe(1);
    expect(hs.stdout).toContain('ALG_SYMMETRIC');
    const malformed = await runCli(['token', 'verify', 'not-a-jwt']);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toBe(
      'oidc-issuer: malformed token: a JWT has 3 dot-separated parts, this has 1 (TOKEN_MALFORMED)\n',
    );
    expect(malformed.stdout).toBe('');
  });

  it('exits 3 when the issuer cannot be reached, 2 when the token has no usable issuer', async () => {
    const token = await issuer.mintToken({ sub: 'alice', claims: { iss: 'http://127.0.0.1:1' } });
    const down = await runCli(['token', 'verify', token]);
    expect(down.code).toBe(3);
    expect(down.stderr).toMatch(
      /cannot fetch the discovery document at http:\/\/127\.0\.0\.1:1\/.*\(DISCOVERY_FAILED\)/,
    );
    const noIss = await issuer.mintToken({ sub: 'alice', claims: { iss: 'urn:nope' } });
    const unusable = await runCli(['token', 'verify', noIss]);
    expect(unusable.code).toBe(2);
    expect(unusable.stderr).toContain('is not an http(s) URL; pass --jwks');
    // Pinning the issuer with --issuer says what is wrong with the token instead.
    const pinned = await runCli(['token', 'verify', noIss, '--issuer', issuer.url]);
    expect(pinned.code).toBe(1);
    expect(pinned.stdout).toContain(`WRONG_ISSUER: iss is "urn:nope", expected "${issuer.url}"`);
  });
});

describe('token decode', () => {
  it('prints header and claims with times as ISO dates, without verifying', async () => {
    const token = await issuer.mintToken({ sub: 'alice', expiresIn: '-1h' });
    const res = await runCli(['token', 'decode', token]);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('header (not verified):');
    expect(res.stdout).toContain('"typ": "at+jwt"');
    expect(res.stdout).toMatch(/exp\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z\s+\(1h (\ds )?ago\)/);
    const json = JSON.parse(
      (await runCli(['token', 'decode', '--json', '-'], { input: token })).stdout,
    );
    expect(json.claims.sub).toBe('alice');
    expect(json.times.exp).toBe(new Date(json.claims.exp * 1000).toISOString());
  });

  it('exits 2 with the reason for a malformed token', async () => {
    const res = await runCli(['token', 'decode', 'a.b']);
    expect(res.code).toBe(2);
    expect(res.stderr).toBe(
      'oidc-issuer: malformed token: a JWT has 3 dot-separated parts, this has 2 (TOKEN_MALFORMED)\n',
    );
  });
});

describe('token mint from the configured key ring (file store, no server)', () => {
  const env = () => ({ OIDC_CONFIG: configFile });

  it('signs an at+jwt with the active key that verifies against `keys jwks`', async () => {
    const res = await runCli(
      ['token', 'mint', '--sub', 'alice', '--scope', 'read', '--claims', '{"tenant":"t1"}'],
      { env: env() },
    );
    expect(res.code, res.stderr).toBe(0);
    const token = res.stdout.trim();
    const jwks = JSON.parse((await runCli(['keys', 'jwks'], { env: env() })).stdout);
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks), {
      issuer: 'https://issuer.test',
      audience: 'https://api.test',
      typ: 'at+jwt',
    });
    expect(protectedHeader.alg).toBe('RS256');
    expect(payload).toMatchObject({
      sub: 'alice',
      scope: 'read',
      tenant: 't1',
      client_id: 'oidc-issuer-mint',
    });
    expect((payload.exp as number) - (payload.iat as number)).toBe(600);
    const list = JSON.parse((await runCli(['keys', 'list', '--json'], { env: env() })).stdout);
    const active = list.keys.find(
      (k: { state: string; alg: string }) => k.state === 'active' && k.alg === 'RS256',
    );
    expect(protectedHeader.kid).toBe(active.kid);

    writeFileSync(join(dir, 'jwks.json'), JSON.stringify(jwks));
    const verified = await runCli([
      'token',
      'verify',
      token,
      '--jwks',
      join(dir, 'jwks.json'),
      '--issuer',
      'https://issuer.test',
      '--aud',
      'https://api.test',
    ]);
    expect(verified.code, verified.stdout).toBe(0);
  });

  it('mints ID tokens with the client’s algorithm, claims from @file, and --json', async () => {
    writeFileSync(join(dir, 'claims.json'), '{"email":"alice@example.com"}');
    const res = await runCli(
      [
        'token',
        'mint',
        '--type',
        'id',
        '--sub',
        'alice',
        '--client-id',
        'web',
        '--claims',
        `@${join(dir, 'claims.json')}`,
        '--expires-in',
        '90s',
        '--json',
      ],
      { env: env() },
    );
    expect(res.code, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout);
    expect(out.header.alg).toBe('ES256');
    expect(out.claims).toMatchObject({
      iss: 'https://issuer.test',
      aud: 'web',
      sub: 'alice',
      email: 'alice@example.com',
    });
    expect(out.claims.exp - out.claims.iat).toBe(90);
    expect(out.claims.auth_time).toBe(out.claims.iat);
    expect(decodeProtectedHeader(out.token)).toEqual(out.header);
  });

  it('refuses bad --claims JSON, bad durations and impossible tokens with exit 2', async () => {
    const badJson = await runCli(['token', 'mint', '--sub', 'a', '--claims', '{"a":'], {
      env: env(),
    });
    expect(badJson.code).toBe(2);
    expect(badJson.stderr).toMatch(
      /^oidc-issuer: --claims is not valid JSON: .+ \(JSON_INVALID\)\n$/,
    );
    expect(badJson.stderr).not.toMatch(/\bat .*\.js:\d+/);
    const notObject = await runCli(['token', 'mint', '--sub', 'a', '--claims', '[1]'], {
      env: env(),
    });
    expect(notObject.code).toBe(2);
    expect(notObject.stderr).toContain('--claims must be a JSON object');
    const badTtl = await runCli(['token', 'mint', '--sub', 'a', '--expires-in', 'soon'], {
      env: env(),
    });
    expect(badTtl.code).toBe(2);
    expect(badTtl.stderr).toContain('expiresIn must be seconds or a duration');
    const idWithoutSub = await runCli(['token', 'mint', '--type', 'id', '--client-id', 'web'], {
      env: env(),
    });
    expect(idWithoutSub.code).toBe(2);
    expect(idWithoutSub.stderr).toContain(
      'an ID token needs a subject (sub) (MINT_OPTIONS_INVALID)',
    );
  });
});

describe('the command line itself', () => {
  it('names an unknown command and exits 2', async () => {
    const res = await runCli(['tokens']);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("unknown command 'tokens'");
    const sub = await runCli(['token', 'sign']);
    expect(sub.code).toBe(2);
    expect(sub.stderr).toContain("unknown command 'sign'");
  });

  it('prints help with exit 0 and loads no oidc-provider for tool commands', async () => {
    const res = await runCli(['token', 'mint', '--help']);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('--expires-in <duration>');
    const decode = await runCli(['token', 'decode', await issuer.mintToken({ sub: 'a' })]);
    expect(decode.stderr).toBe('');
  });

  it('exits 2 for an invalid config file, listing the problem', async () => {
    writeFileSync(join(dir, 'bad.yaml'), 'port: nope\n');
    const res = await runCli(['token', 'mint', '--sub', 'a', '--config', join(dir, 'bad.yaml')]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('invalid configuration');
    expect(res.stderr).toContain('port:');
  });

  it('verifies an EdDSA token signed with a key given as a JWKS file', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'ed', alg: 'EdDSA', use: 'sig' };
    writeFileSync(join(dir, 'ed.json'), JSON.stringify({ keys: [jwk] }));
    const token = await new SignJWT({ sub: 'svc', exp: Math.floor(Date.now() / 1000) + 60 })
      .setProtectedHeader({ alg: 'EdDSA', kid: 'ed' })
      .sign(privateKey);
    const res = await runCli(['token', 'verify', token, '--jwks', join(dir, 'ed.json')]);
    expect(res.code, res.stdout).toBe(0);
    expect(res.stdout).toContain('the token has no iss claim');
  });
});
