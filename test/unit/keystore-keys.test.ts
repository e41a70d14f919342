import { execFileSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { calculateJwkThumbprint, compactVerify, importJWK, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIGNING_ALGS, type SigningAlg } from '../../src/algorithms.js';
import { KeyError } from '../../src/errors.js';
import { publicKeyPem, toPublicJwk } from '../../src/keystore/jwks.js';
import {
  generateSigningKey,
  generateSigningKeyQuickly,
  normalizePrivateJwk,
  parsePrivateKeys,
  rsaFromPrimesIsQuicker,
} from '../../src/keystore/material.js';

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'];

function openssl(args: string[]): void {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(
        'openssl was not found on PATH; install it (Debian/Ubuntu: apt-get install -y openssl)',
      );
    }
    throw e;
  }
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(KeyError);
    return (e as KeyError).code;
  }
  return 'resolved';
}

/** Signs with the private JWK and verifies with its public form, as a relying party would. */
async function signsAndVerifies(jwk: JWK): Promise<void> {
  const alg = jwk.alg!;
  const jwt = await new SignJWT({ sub: 'x' })
    .setProtectedHeader({ alg, kid: jwk.kid! })
    .sign(await importJWK(jwk, alg));
  await compactVerify(jwt, await importJWK(toPublicJwk(jwk), alg));
}

describe('generateSigningKey', () => {
  it.each(SIGNING_ALGS.map((a) => [a]))('%s: a private JWK with kid, alg and use', async (alg) => {
    const jwk = await generateSigningKey(alg as SigningAlg);
    expect(jwk).toMatchObject({ alg, use: 'sig' });
    expect(jwk.d).toEqual(expect.any(String));
    expect(jwk.kid).toBe(await calculateJwkThumbprint(jwk, 'sha256'));
    await signsAndVerifies(jwk);
  });

  it('makes RSA keys of 2048 bits and the expected curves', async () => {
    const rsa = await generateSigningKey('RS256');
    expect(Buffer.from(rsa.n!, 'base64url').length * 8).toBe(2048);
    expect((await generateSigningKey('ES256')).crv).toBe('P-256');
    expect((await generateSigningKey('ES384')).crv).toBe('P-384');
    expect((await generateSigningKey('EdDSA')).crv).toBe('Ed25519');
  });

  it('never gives two keys the same kid', async () => {
    const kids = await Promise.all(
      Array.from({ length: 20 }, async () => (await generateSigningKey('ES256')).kid),
    );
    expect(new Set(kids).size).toBe(20);
  });
});

describe('generateSigningKeyQuickly', () => {
  const uint = (member: string | undefined) =>
    BigInt(`0x${Buffer.from(member!, 'base64url').toString('hex')}`);
  const gcd = (a: bigint, b: bigint): bigint => (b === 0n ? a : gcd(b, a % b));

  it('builds RSA from primes on OpenSSL 3.0 only, where that is the quicker way', () => {
    expect(rsaFromPrimesIsQuicker('3.0.19')).toBe(true);
    expect(rsaFromPrimesIsQuicker('3.0.15+quic')).toBe(true);
    expect(rsaFromPrimesIsQuicker('3.5.9')).toBe(false);
    expect(rsaFromPrimesIsQuicker('3.10.0')).toBe(false);
  });

  it.each([['RS256'], ['PS256']])(
    '%s from primes: a 2048-bit key meeting FIPS 186-4 B.3.1, that openssl checks as valid',
    async (alg) => {
      const jwk = await generateSigningKeyQuickly(alg as SigningAlg, true);
      expect(jwk).toMatchObject({ kty: 'RSA', e: 'AQAB', alg, use: 'sig' });
      expect(jwk.kid).toBe(await calculateJwkThumbprint(jwk, 'sha256'));
      await signsAndVerifies(jwk);
      const [n, e, d, p, q] = [jwk.n, jwk.e, jwk.d, jwk.p, jwk.q].map(uint) as bigint[];
      const [p1, q1] = [p! - 1n, q! - 1n];
      expect(p! * q!).toBe(n);
      expect(n!.toString(2)).toHaveLength(2048);
      for (const prime of [p!, q!]) {
        expect(prime >> 1022n).toBe(3n);
        expect(gcd(prime - 1n, e!)).toBe(1n);
      }
      const gap = p! > q! ? p! - q! : q! - p!;
      expect(gap > 1n << 924n).toBe(true);
      const lcm = (p1 * q1) / gcd(p1, q1);
      expect(d! > 1n << 1024n && d! < lcm).toBe(true);
      expect((e! * d!) % lcm).toBe(1n);
      expect(uint(jwk.dp)).toBe(d! % p1);
      expect(uint(jwk.dq)).toBe(d! % q1);
      expect((uint(jwk.qi) * q!) % p!).toBe(1n);
      // OpenSSL's own key check: p and q prime, n = pq, d, dp, dq and qi consistent.
      const pem = createPrivateKey({ key: jwk, format: 'jwk' }).export({
        type: 'pkcs8',
        format: 'pem',
      });
      const checked = execFileSync('openssl', ['pkey', '-check', '-noout'], { input: pem });
      expect(checked.toString()).toContain('Key is valid');
    },
  );

  it('never makes the same key twice, and other algorithms as generateSigningKey does', async () => {
    const keys = await Promise.all(
      Array.from({ length: 4 }, () => generateSigningKeyQuickly('RS256', true)),
    );
    expect(new Set(keys.flatMap((k) => [k.kid, k.p, k.q])).size).toBe(12);
    expect((await generateSigningKeyQuickly('ES256', true)).crv).toBe('P-256');
    expect((await generateSigningKeyQuickly('EdDSA', true)).crv).toBe('Ed25519');
  });
});

describe('parsePrivateKeys from PEM files written by openssl', () => {
  let dir: string;
  const file = (name: string) => readFileSync(join(dir, name), 'utf8');

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'keystore-pem-'));
    const at = (n: string) => join(dir, n);
    openssl([
      'genpkey',
      '-algorithm',
      'RSA',
      '-pkeyopt',
      'rsa_keygen_bits:2048',
      '-out',
      at('rsa.pem'),
    ]);
    openssl(['pkey', '-in', at('rsa.pem'), '-traditional', '-out', at('rsa-pkcs1.pem')]);
    openssl([
      'genpkey',
      '-algorithm',
      'EC',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-out',
      at('p256.pem'),
    ]);
    openssl([
      'genpkey',
      '-algorithm',
      'EC',
      '-pkeyopt',
      'ec_paramgen_curve:P-384',
      '-out',
      at('p384.pem'),
    ]);
    openssl(['ec', '-in', at('p256.pem'), '-out', at('p256-sec1.pem')]);
    openssl(['genpkey', '-algorithm', 'ED25519', '-out', at('ed25519.pem')]);
    openssl(['pkey', '-in', at('rsa.pem'), '-pubout', '-out', at('rsa-public.pem')]);
    openssl([
      'genpkey',
      '-algorithm',
      'RSA',
      '-pkeyopt',
      'rsa_keygen_bits:1024',
      '-out',
      at('rsa1024.pem'),
    ]);
    openssl([
      'genpkey',
      '-algorithm',
      'EC',
      '-pkeyopt',
      'ec_paramgen_curve:P-521',
      '-out',
      at('p521.pem'),
    ]);
    openssl(['genpkey', '-algorithm', 'X25519', '-out', at('x25519.pem')]);
    openssl([
      'genpkey',
      '-algorithm',
      'RSA',
      '-pkeyopt',
      'rsa_keygen_bits:2048',
      '-aes-128-cbc',
      '-pass',
      'pass:secret',
      '-out',
      at('rsa-encrypted.pem'),
    ]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    ['rsa.pem', 'BEGIN PRIVATE KEY', 'RSA', 'RS256'],
    ['rsa-pkcs1.pem', 'BEGIN RSA PRIVATE KEY', 'RSA', 'RS256'],
    ['p256.pem', 'BEGIN PRIVATE KEY', 'EC', 'ES256'],
    ['p256-sec1.pem', 'BEGIN EC PRIVATE KEY', 'EC', 'ES256'],
    ['p384.pem', 'BEGIN PRIVATE KEY', 'EC', 'ES384'],
    ['ed25519.pem', 'BEGIN PRIVATE KEY', 'OKP', 'EdDSA'],
  ])('%s (%s) → %s %s', async (name, header, kty, alg) => {
    const pem = file(name);
    expect(pem).toContain(header);
    const [jwk, ...rest] = await parsePrivateKeys(pem);
    expect(rest).toEqual([]);
    expect(jwk).toMatchObject({ kty, alg, use: 'sig' });
    expect(jwk!.kid).toBe(await calculateJwkThumbprint(jwk!, 'sha256'));
    await signsAndVerifies(jwk!);
  });

  it('reads PKCS#8 and PKCS#1 of the same RSA key to the same kid, and PS256 when asked', async () => {
    const [a] = await parsePrivateKeys(file('rsa.pem'));
    const [b] = await parsePrivateKeys(file('rsa-pkcs1.pem'), { alg: 'PS256' });
    expect(b!.kid).toBe(a!.kid);
    expect(b!.alg).toBe('PS256');
    await signsAndVerifies(b!);
  });

  it('exports the public PEM (SPKI) that openssl derives', async () => {
    const [jwk] = await parsePrivateKeys(file('rsa.pem'));
    expect(publicKeyPem(jwk!)).toBe(file('rsa-public.pem'));
  });

  it.each([
    ['rsa-public.pem', 'KEY_NOT_PRIVATE'],
    ['rsa1024.pem', 'KEY_TOO_SMALL'],
    ['p521.pem', 'KEY_TYPE_UNSUPPORTED'],
    ['x25519.pem', 'KEY_TYPE_UNSUPPORTED'],
    ['rsa-encrypted.pem', 'KEY_ENCRYPTED'],
  ])('refuses %s with %s', async (name, code) => {
    expect(await codeOf(parsePrivateKeys(file(name)))).toBe(code);
  });

  it('refuses an algorithm that does not fit the key', async () => {
    expect(await codeOf(parsePrivateKeys(file('p256.pem'), { alg: 'ES384' }))).toBe(
      'KEY_ALG_MISMATCH',
    );
    expect(await codeOf(parsePrivateKeys(file('rsa.pem'), { alg: 'EdDSA' }))).toBe(
      'KEY_ALG_MISMATCH',
    );
  });
});

describe('parsePrivateKeys from JWKs', () => {
  const ec = () =>
    generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }) as JWK;

  it('accepts a single private JWK and a JWK set, replacing a foreign kid by the thumbprint', async () => {
    const one = { ...ec(), kid: 'my-key' };
    const [jwk] = await parsePrivateKeys(JSON.stringify(one));
    expect(jwk!.kid).toBe(await calculateJwkThumbprint(one, 'sha256'));
    const set = await parsePrivateKeys(JSON.stringify({ keys: [ec(), ec()] }));
    expect(set).toHaveLength(2);
    for (const k of set) expect(k).toMatchObject({ alg: 'ES256', use: 'sig' });
  });

  it('keeps only the key members', async () => {
    const jwk = await normalizePrivateJwk({ ...ec(), x5u: 'https://evil.example/x', ext: true });
    expect(Object.keys(jwk).sort()).toEqual(['alg', 'crv', 'd', 'kid', 'kty', 'use', 'x', 'y']);
  });

  it.each([
    ['symmetric', { kty: 'oct', k: 'c2VjcmV0' }, 'KEY_SYMMETRIC'],
    ['public only', { kty: 'EC', crv: 'P-256', x: 'a', y: 'b' }, 'KEY_NOT_PRIVATE'],
    ['unknown kty', { kty: 'XYZ', d: 'a' }, 'KEY_TYPE_UNSUPPORTED'],
    ['encryption key', { kty: 'EC', d: 'a', use: 'enc' }, 'KEY_USE_INVALID'],
    ['unsupported alg', { kty: 'RSA', d: 'a', alg: 'RS512' }, 'KEY_ALG_UNSUPPORTED'],
    ['garbage members', { kty: 'EC', crv: 'P-256', x: 'a', y: 'b', d: 'c' }, 'KEY_PARSE_FAILED'],
  ])('refuses a %s JWK', async (_name, jwk, code) => {
    expect(await codeOf(parsePrivateKeys(JSON.stringify(jwk)))).toBe(code);
  });

  it('refuses a JWK whose private part belongs to another key', async () => {
    const a = ec();
    const b = ec();
    expect(await codeOf(normalizePrivateJwk({ ...a, d: b.d }))).toBe('KEY_INCONSISTENT');
  });

  it('refuses input that is neither PEM nor JSON, broken JSON and an empty set', async () => {
    expect(await codeOf(parsePrivateKeys('hello'))).toBe('KEY_PARSE_FAILED');
    expect(await codeOf(parsePrivateKeys('{"kty":'))).toBe('KEY_PARSE_FAILED');
    expect(await codeOf(parsePrivateKeys('{"keys":[]}'))).toBe('KEY_PARSE_FAILED');
  });
});

describe('toPublicJwk', () => {
  it.each(SIGNING_ALGS.map((a) => [a]))('%s: no private member, canonical order', async (alg) => {
    const jwk = await generateSigningKey(alg as SigningAlg);
    const pub = toPublicJwk({ ...jwk, k: 'leak', x5u: 'https://x' } as JWK);
    for (const m of [...PRIVATE_MEMBERS, 'x5u']) expect(pub).not.toHaveProperty(m);
    expect(Object.keys(pub).slice(0, 4)).toEqual(['kid', 'kty', 'alg', 'use']);
    createPublicKey({ key: pub as never, format: 'jwk' });
  });

  it('refuses a symmetric key', () => {
    expect(() => toPublicJwk({ kty: 'oct', k: 'x' })).toThrow(
      expect.objectContaining({ code: 'KEY_TYPE_UNSUPPORTED' }),
    );
  });
});
