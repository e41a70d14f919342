import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheSentence } from '../../src/http/console.js';
import { guardedFetch, refusalFor } from '../../src/tools/guarded-fetch.js';
import { convertKeys } from '../../src/tools/jwk-convert.js';
import { inspectKeys } from '../../src/tools/jwk-inspect.js';
import { fetchKeyDocument } from '../../src/tools/key-source.js';
import { verifyToken } from '../../src/tools/verify.js';
import { certificateThumbprint, selfSignedCertificate } from '../support/certificates.js';

const codes = (findings: { code: string }[]) => findings.map((f) => f.code);

describe('jwk inspect (shared by the CLI and /tools)', () => {
  it('reports use and key_ops that disagree', async () => {
    const { publicKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'a', alg: 'ES256', use: 'sig' };
    const bad = await inspectKeys({ ...jwk, key_ops: ['verify', 'encrypt'] });
    expect(codes(bad.keys[0]!.findings)).toContain('USE_KEY_OPS_CONFLICT');
    const good = await inspectKeys({ ...jwk, key_ops: ['verify'] });
    expect(codes(good.keys[0]!.findings)).not.toContain('USE_KEY_OPS_CONFLICT');
  });

  it('reports an x5c leaf that holds another key, and x5t hashes that do not match', async () => {
    const { cert } = selfSignedCertificate('inspect-test');
    const [converted] = await convertKeys(cert);
    const fromCert = converted!.jwk as JWK & { x5c: string[] };
    expect(codes((await inspectKeys({ ...fromCert, alg: 'ES256' })).keys[0]!.findings)).not.toEqual(
      expect.arrayContaining(['X5C_KEY_MISMATCH']),
    );
    const { publicKey } = await generateKeyPair('ES256', { extractable: true });
    const other = await exportJWK(publicKey);
    const swapped = await inspectKeys({ ...other, alg: 'ES256', kid: 'x', x5c: fromCert.x5c });
    expect(codes(swapped.keys[0]!.findings)).toContain('X5C_KEY_MISMATCH');
    const wrongHash = await inspectKeys({ ...fromCert, alg: 'ES256', x5t: 'AAAA' });
    expect(codes(wrongHash.keys[0]!.findings)).toContain('X5T_MISMATCH');
  });

  it('warns when a set has more keys than AWS ALB accepts, and names the verifiers an unknown kty breaks', async () => {
    const { publicKey } = await generateKeyPair('ES256', { extractable: true });
    const base = await exportJWK(publicKey);
    const keys = Array.from({ length: 11 }, (_, i) => ({ ...base, kid: `k${i}`, alg: 'ES256' }));
    const many = await inspectKeys({ keys });
    expect(codes(many.findings)).toContain('TOO_MANY_KEYS');
    expect(codes((await inspectKeys({ keys: keys.slice(0, 10) })).findings)).not.toContain(
      'TOO_MANY_KEYS',
    );
    const odd = await inspectKeys({ keys: [{ kty: 'PQC', kid: 'q' }] });
    expect(odd.keys[0]!.findings[0]!.message).toMatch(/go-jose and Go's jwkset before v0\.11/);
  });
});

describe('jwk convert', () => {
  it('turns a certificate into a JWK with x5c, x5t and x5t#S256 as openssl computes them', async () => {
    const { cert } = selfSignedCertificate('convert-test');
    const [k] = await convertKeys(cert);
    expect(k!.jwk).toMatchObject({
      kty: 'EC',
      crv: 'P-256',
      x5t: certificateThumbprint(cert, 'sha1'),
      'x5t#S256': certificateThumbprint(cert, 'sha256'),
    });
    expect(k!.subject).toBe('CN=convert-test');
    expect(k!.privatePem).toBeUndefined();
  });

  it('turns a private PEM into private and public JWKs and back to the same PEM', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const [fromPem] = await convertKeys(pem);
    expect(fromPem!.jwk.d).toBeTypeOf('string');
    expect(fromPem!.publicJwk?.d).toBeUndefined();
    expect(fromPem!.jwk.kid).toBe(fromPem!.publicJwk?.kid);
    const [back] = await convertKeys(JSON.stringify({ ...fromPem!.jwk, alg: 'RS256' }));
    expect(back!.privatePem).toBe(pem);
    expect(back!.jwk.alg).toBe('RS256');
  });

  it('refuses input that is neither PEM nor JWK, with the reason', async () => {
    await expect(convertKeys('hello')).rejects.toMatchObject({ code: 'INPUT_INVALID' });
    await expect(convertKeys('{"kty":"oct","k":"AA"}')).rejects.toThrow(
      /not an RSA, EC or OKP JWK/,
    );
  });
});

describe('token verify with a key set at hand (the console passes the issuer’s own)', () => {
  it('verifies against the given set and names the key', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    const token = await new SignJWT({ sub: 'alice' })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer('http://issuer.test')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
    const keys = { keys: [jwk], location: 'http://issuer.test/jwks' };
    const ok = await verifyToken(token, { issuer: 'http://issuer.test', jwks: keys });
    expect(ok).toMatchObject({ valid: true, key: { kid: 'k1', published: true } });
    expect(ok.jwksUri).toBe('http://issuer.test/jwks');
    const other = await verifyToken(token, { issuer: 'http://other.test', jwks: keys });
    expect(other.problems.map((p) => p.code)).toEqual(['WRONG_ISSUER']);
  });
});

describe('the console’s URL fetcher', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/big') {
        res.end('x'.repeat(5000));
      } else if (req.url === '/slow') {
        setTimeout(() => res.end('{}'), 2000);
      } else if (req.url === '/to-private') {
        res.writeHead(302, { location: 'http://10.0.0.1/jwks' }).end();
      } else {
        res.setHeader('content-type', 'application/json');
        res.end('{"keys":[]}');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  it('reaches loopback addresses', async () => {
    const fetchGuarded = guardedFetch();
    expect(await fetchKeyDocument(`${base}/jwks`, { fetch: fetchGuarded })).toEqual({ keys: [] });
    const byName = base.replace('127.0.0.1', 'localhost');
    expect(await (await fetchGuarded(`${byName}/jwks`)).json()).toEqual({ keys: [] });
  });

  it('refuses private and reserved addresses before connecting', async () => {
    const fetchGuarded = guardedFetch({ timeoutMs: 10_000 });
    for (const url of [
      'http://10.0.0.1/jwks',
      'http://0x0a000001/jwks',
      'http://192.168.1.1/',
      'http://169.254.169.254/latest/meta-data/',
      'http://[::ffff:10.0.0.1]/',
      'http://[fd00::1]/',
      'http://0.0.0.0:80/',
    ]) {
      const started = Date.now();
      const err = await fetchGuarded(url).then(
        () => undefined,
        (e: Error) => e,
      );
      // No connection is attempted: the refusal is immediate, not a connect timeout.
      expect(Date.now() - started, url).toBeLessThan(200);
      expect(((err as Error).cause as Error).message, url).toMatch(/private or reserved address/);
    }
    expect(refusalFor('127.0.0.1')).toBeUndefined();
    expect(refusalFor('8.8.8.8')).toBeUndefined();
  });

  it('refuses a redirect to a private address, a body over the bound and a slow answer', async () => {
    const small = guardedFetch({ maxBytes: 1000, timeoutMs: 500 });
    const why = async (path: string) =>
      small(`${base}${path}`).then(
        () => 'fetched',
        (e: Error) => (e.cause as Error).message,
      );
    expect(await why('/to-private')).toMatch(/10\.0\.0\.1 is a private or reserved address/);
    expect(await why('/big')).toMatch(/over 1000 bytes/);
    expect(await why('/slow')).toMatch(/no answer within 500 ms/);
    expect(await why('/jwks')).toBe('fetched');
    const file = await small('file:///etc/passwd').catch((e: Error) => (e.cause as Error).message);
    expect(file).toMatch(/http and https only/);
  });
});

describe('the /keys Cache-Control sentence', () => {
  it('says how long caches may keep the JWKS and how that fits the pre-publication lead', () => {
    const sentence = cacheSentence(
      'public, max-age=3600, stale-while-revalidate=3600, stale-if-error=7200',
      2 * 86_400_000,
    );
    expect(sentence).toContain('for 1h');
    expect(sentence).toContain('at most 3h stale');
    expect(sentence).toContain('published 2d before it signs');
  });
});
