import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, importJWK, jwtVerify, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestIssuer, type TestIssuer } from '../../src/index.js';
import { runCli } from './cli-run.js';

let dir: string;
let issuer: TestIssuer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'oidc-issuer-cli-jwk-'));
  issuer = await createTestIssuer({ demo: false });
});
afterAll(async () => {
  await issuer?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const inspect = async (value: unknown, name = 'input.json') => {
  const file = join(dir, name);
  writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
  const text = await runCli(['jwk', 'inspect', file]);
  const json = await runCli(['jwk', 'inspect', file, '--json']);
  return { ...text, report: json.stdout ? JSON.parse(json.stdout) : undefined };
};
const codes = (report: {
  keys: { findings: { code: string }[] }[];
  findings: { code: string }[];
}) => [
  ...report.findings.map((f) => f.code),
  ...report.keys.flatMap((k) => k.findings.map((f) => f.code)),
];
const rsaPublic = async (bits = 2048) => {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  const jwk = await exportJWK(publicKey);
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), alg: 'RS256', use: 'sig' };
};

describe('jwk generate', () => {
  it.each(['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'])(
    'makes a %s pair that signs and verifies',
    async (alg) => {
      const res = await runCli(['jwk', 'generate', '--alg', alg, '--json']);
      expect(res.code, res.stderr).toBe(0);
      const out = JSON.parse(res.stdout);
      expect(out).toMatchObject({
        alg,
        privateJwk: { alg, use: 'sig', kid: out.kid },
        publicJwk: { kid: out.kid, alg },
      });
      expect(out.publicJwk.d).toBeUndefined();
      expect(await calculateJwkThumbprint(out.publicJwk)).toBe(out.kid);
      expect(out.privatePem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
      expect(createPublicKey(out.privatePem).export({ format: 'jwk' })).toMatchObject(
        createPublicKey(out.publicPem).export({ format: 'jwk' }),
      );
      const token = await new SignJWT({ sub: 'x' })
        .setProtectedHeader({ alg })
        .sign(await importJWK(out.privateJwk, alg));
      await jwtVerify(token, await importJWK(out.publicJwk, alg));
    },
  );

  it('writes the four files with private ones at mode 0600, ', async () => {
    const out = join(dir, 'gen');
    const res = await runCli(['jwk', 'generate', '--alg', 'ES256', '--out-dir', out]);
    expect(res.code, res.stderr).toBe(0);
    const files = readdirSync(out).sort();
    expect(files).toHaveLength(4);
    const kid = files[0]!.split('.')[0]!;
    expect(files).toEqual([
      `${kid}.private.jwk`,
      `${kid}.private.pem`,
      `${kid}.public.jwk`,
      `${kid}.public.pem`,
    ]);
    expect(statSync(join(out, `${kid}.private.pem`)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(join(out, `${kid}.public.jwk`), 'utf8')).kid).toBe(kid);
    // The generated private PEM is accepted by `keys import`'s parser through inspect.
    const check = await runCli(['jwk', 'inspect', join(out, `${kid}.private.pem`)]);
    expect(check.code).toBe(0);
    expect(check.stdout).toContain('PRIVATE');
  });
});

describe('jwk inspect', () => {
  it('describes a clean public set: kty, size, alg, use, kid, thumbprint; exit 0', async () => {
    const key = await rsaPublic();
    const { code, stdout, report } = await inspect({ keys: [key] });
    expect(code).toBe(0);
    expect(stdout).toContain('JWK set with 1 key(s)');
    expect(stdout).toContain('[0] RSA 2048 bits  public');
    expect(stdout).toContain(`thumbprint  ${key.kid}`);
    expect(stdout).toContain('0 error(s), 0 warning(s)');
    expect(report.keys[0]).toMatchObject({
      kty: 'RSA',
      bits: 2048,
      alg: 'RS256',
      use: 'sig',
      kid: key.kid,
      thumbprint: key.kid,
      private: false,
    });
  });

  it('fails on duplicate kids (exit 1)', async () => {
    const a = await rsaPublic();
    const b = { ...(await rsaPublic()), kid: a.kid };
    const { code, stdout, report } = await inspect({ keys: [a, b] });
    expect(code).toBe(1);
    expect(stdout).toContain(`✗ error DUPLICATE_KID: kid ${a.kid} appears 2 times`);
    expect(codes(report)).toContain('DUPLICATE_KID');
  });

  it('fails on private members in a set, RSA under 2048 bits, unknown kty and symmetric keys', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const priv = { ...(await exportJWK(privateKey)), kid: 'ec', alg: 'ES256' };
    const small = await rsaPublic(1024);
    const { code, report } = await inspect({
      keys: [priv, small, { kty: 'XYZ', kid: 'x' }, { kty: 'oct', k: 'c2VjcmV0', kid: 'hs' }],
    });
    expect(code).toBe(1);
    expect(codes(report)).toEqual(
      expect.arrayContaining(['PRIVATE_IN_SET', 'RSA_TOO_SMALL', 'UNKNOWN_KTY', 'SYMMETRIC_KEY']),
    );
    expect(report.keys[1].bits).toBe(1024);
    expect(report.errors).toBeGreaterThanOrEqual(5);
  });

  it('notes a kid that is not the thumbprint and warns about a missing kid, still exit 0', async () => {
    const named = { ...(await rsaPublic()), kid: 'my-key-2024' };
    const noted = await inspect(named, 'one.json');
    expect(noted.code).toBe(0);
    expect(noted.stdout).toContain('· note KID_NOT_THUMBPRINT');
    const { kid: _kid, ...anonymous } = await rsaPublic();
    const warned = await inspect(anonymous, 'anon.json');
    expect(warned.code).toBe(0);
    expect(warned.stdout).toMatch(
      /! warning MISSING_KID: no kid \(its RFC 7638 thumbprint would be \S+\)/,
    );
  });

  it('flags an alg that does not fit the key, and a private part that does not match', async () => {
    const { code, report } = await inspect(
      { ...(await rsaPublic()), alg: 'ES256' },
      'mismatch.json',
    );
    expect(code).toBe(1);
    expect(codes(report)).toContain('ALG_MISMATCH');
    const a = await exportJWK(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
    const b = await exportJWK(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
    const mixed = await inspect({ ...a, d: b.d, kid: 'm', alg: 'ES256' }, 'mixed.json');
    expect(mixed.code).toBe(1);
    expect(codes(mixed.report)).toContain('KEY_INCONSISTENT');
  });

  it('reads PEM public keys and follows a discovery URL to the JWKS', async () => {
    const pem = createPublicKey(generateKeyPairSync('ed25519').privateKey).export({
      type: 'spki',
      format: 'pem',
    });
    const fromPem = await inspect(pem.toString(), 'ed.pem');
    expect(fromPem.code).toBe(0);
    expect(fromPem.report.keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', private: false });
    const live = await runCli([
      'jwk',
      'inspect',
      `${issuer.url}/.well-known/openid-configuration`,
      '--json',
    ]);
    expect(live.code, live.stderr).toBe(0);
    const report = JSON.parse(live.stdout);
    expect(report.kind).toBe('jwks');
    expect(report.keys.map((k: { kid: string }) => k.kid)).toContain(issuer.activeKid());
  });

  it('reads inline JSON and stdin; exits 2 for input that is no key at all', async () => {
    const inline = await runCli(['jwk', 'inspect', JSON.stringify(await rsaPublic())]);
    expect(inline.code).toBe(0);
    const stdin = await runCli(['jwk', 'inspect', '-'], {
      input: JSON.stringify({ keys: [await rsaPublic()] }),
    });
    expect(stdin.code).toBe(0);
    const garbage = await inspect('hello', 'garbage.txt');
    expect(garbage.code).toBe(2);
    expect(garbage.stderr).toBe(
      'oidc-issuer: expected a JWK, a JWK set or PEM text (INPUT_INVALID)\n',
    );
    const missing = await runCli(['jwk', 'inspect', join(dir, 'missing.json')]);
    expect(missing.code).toBe(2);
  });
});
