/**
 * Security checklist items 21 (metadata and keys) and 22 (hostile request shapes), plus the
 * limits on key import. Each hostile request must get a 4xx — never a 5xx, never a crash — and
 * the issuer must still serve afterwards.
 */
import { request as httpRequest } from 'node:http';
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyError } from '../../src/errors.js';
import type { RunningIssuer } from '../../src/issuer.js';
import {
  MAX_KEY_INPUT_BYTES,
  MAX_KEYS_PER_INPUT,
  parsePrivateKeys,
} from '../../src/keystore/material.js';
import { Browser, basic, redeem, signIn, tokenRequest, WEB } from '../support/flows.js';
import { startTestIssuer } from '../support/issuer.js';

const ADMIN = 'admin-token-for-security-tests';
let issuer: RunningIssuer;
let url: string;

beforeAll(async () => {
  issuer = await startTestIssuer({ admin: { token: ADMIN } });
  url = issuer.url;
});
afterAll(async () => {
  await issuer?.close();
});

const claimsOf = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
const headerOf = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split('.')[0]!, 'base64url').toString()) as Record<string, unknown>;

async function expectAlive() {
  const res = await fetch(`${url}/.well-known/openid-configuration`);
  expect(res.status).toBe(200);
  await res.arrayBuffer();
}

/** A raw HTTP/1.1 request, so bodies and headers can be anything (fetch normalizes them). */
function raw(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: Buffer | string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}${path}`, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
      );
    });
    req.on('error', reject);
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

describe('21. metadata and keys', () => {
  it('discovery issuer equals iss of every token; JWT kids are published; no private members', async () => {
    const discovery = (await (
      await fetch(`${url}/.well-known/openid-configuration`)
    ).json()) as Record<string, unknown>;
    expect(discovery.issuer).toBe(url);

    const { code, verifier } = await signIn(url, new Browser(), {
      params: { scope: 'openid offline_access api:read', resource: 'http://localhost:4000/api' },
    });
    const tokens = await redeem(url, code, verifier);
    expect(tokens.status).toBe(200);
    const cc = await tokenRequest(
      url,
      { grant_type: 'client_credentials', scope: 'api:read' },
      basic('demo-service', 'demo-service-secret'),
    );
    const jwts = [
      String(tokens.body.id_token),
      String(tokens.body.access_token),
      String(cc.body.access_token),
    ];
    const published = (await (await fetch(String(discovery.jwks_uri))).json()) as {
      keys: Record<string, unknown>[];
    };
    const kids = published.keys.map((k) => k.kid);
    for (const jwt of jwts) {
      expect(claimsOf(jwt).iss).toBe(discovery.issuer);
      expect(kids).toContain(headerOf(jwt).kid);
    }

    const rotated = await fetch(`${url}/admin/keys/rotate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    expect([200, 409]).toContain(rotated.status);
    for (const path of ['/jwks', '/.well-known/jwks.json']) {
      const set = (await (await fetch(`${url}${path}`)).json()) as {
        keys: Record<string, unknown>[];
      };
      const setKids = set.keys.map((k) => k.kid);
      expect(new Set(setKids).size).toBe(setKids.length);
      for (const key of set.keys) {
        for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth']) {
          expect(key[member], `${path} key ${key.kid} has ${member}`).toBeUndefined();
        }
        expect(key.kty).not.toBe('oct');
      }
    }
  });
});

describe('22. hostile request shapes → 4xx, never 5xx', () => {
  it('oversized bodies on every body-reading endpoint', async () => {
    const big = `a=${'x'.repeat(2 * 1024 * 1024)}`;
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    for (const path of [
      '/token',
      '/token/introspection',
      '/token/revocation',
      '/request',
      '/device/auth',
      '/session/end/confirm',
      '/interaction/abc/login',
    ]) {
      const res = await raw(
        'POST',
        path,
        { ...form, authorization: basic(WEB.id, WEB.secret) },
        big,
      );
      expect(res.status, `${path}: ${res.body.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
      expect(res.status, path).toBeLessThan(500);
    }
    const json = await raw(
      'POST',
      '/admin/keys/rotate',
      { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` },
      `{"alg":"${'x'.repeat(2 * 1024 * 1024)}"}`,
    );
    expect(json.status).toBe(413);
    await expectAlive();
  });

  it('wrong content types and bodies that do not match them', async () => {
    const auth = basic(WEB.id, WEB.secret);
    const cases: [string, string][] = [
      ['application/json', '{"grant_type":"client_credentials"}'],
      ['text/plain', 'grant_type=client_credentials'],
      ['multipart/form-data; boundary=x', '--x\r\n\r\n--x--'],
      ['application/x-www-form-urlencoded; charset=no-such-charset', 'grant_type=a'],
      ['application/x-www-form-urlencoded', '%%%=%zz&&=='],
      ['', 'grant_type=client_credentials'],
    ];
    for (const [type, body] of cases) {
      const headers: Record<string, string> = { authorization: auth };
      if (type) headers['content-type'] = type;
      for (const path of ['/token', '/token/introspection', '/token/revocation', '/request']) {
        const res = await raw('POST', path, headers, body);
        expect(res.status, `${path} ${type}: ${res.body.slice(0, 200)}`).toBeGreaterThanOrEqual(
          400,
        );
        expect(res.status, `${path} ${type}`).toBeLessThan(500);
      }
    }
    const admin = await raw(
      'POST',
      '/admin/keys/rotate',
      { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` },
      '{"alg":',
    );
    expect(admin.status).toBe(400);
    await expectAlive();
  });

  it('invalid UTF-8 in query strings, form bodies and JSON', async () => {
    const bad = Buffer.from([0x67, 0x3d, 0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80]);
    for (const path of ['/token', '/token/introspection', '/request', '/interaction/x/login']) {
      const res = await raw(
        'POST',
        path,
        {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: basic(WEB.id, WEB.secret),
        },
        Buffer.concat([Buffer.from('grant_type=client_credentials&scope='), bad]),
      );
      expect(res.status, path).toBeGreaterThanOrEqual(400);
      expect(res.status, path).toBeLessThan(500);
    }
    for (const query of ['%ff%fe', '%c3%28', '%ed%a0%80', '%', '%%', 'scope=%E0%A4%A']) {
      for (const path of ['/auth', '/session/end', '/device', '/interaction/x', '/me']) {
        const res = await raw('GET', `${path}?client_id=demo-web&${query}`, {});
        expect(res.status, `${path}?${query}`).toBeLessThan(500);
      }
    }
    const admin = await raw(
      'POST',
      '/admin/keys/rotate',
      { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` },
      Buffer.concat([Buffer.from('{"alg":"'), bad, Buffer.from('"}')]),
    );
    expect(admin.status).toBe(400);
    await expectAlive();
  });

  it('deeply nested JSON in admin bodies, the claims parameter and the login claims field', async () => {
    const deepArray = `${'['.repeat(30_000)}${']'.repeat(30_000)}`;
    const admin = await raw(
      'POST',
      '/admin/keys/rotate',
      { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` },
      `{"alg":${deepArray}}`,
    );
    expect(admin.status).toBe(400);

    const deepObject = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
    const auth = await new Browser().request(
      `${url}/auth?client_id=demo-web&response_type=code&scope=openid&redirect_uri=${encodeURIComponent('http://localhost:3001/callback')}&code_challenge=${'a'.repeat(43)}&code_challenge_method=S256&claims=${encodeURIComponent(`{"userinfo":${deepObject(2000)}}`)}`,
    );
    expect(auth.status).toBeLessThan(500);

    // The "any user" login form takes a JSON object of claims (8 KiB at most).
    const browser = new Browser();
    const login = await browser.follow(
      `${url}/auth?client_id=demo-web&response_type=code&scope=openid&redirect_uri=${encodeURIComponent('http://localhost:3001/callback')}&code_challenge=${'a'.repeat(43)}&code_challenge_method=S256`,
    );
    for (const claims of [`{"x":${deepObject(1500)}}`, `{"x":${deepArray.slice(0, 8000)}}`]) {
      const page = await browser.submit(
        login,
        /\/login$/,
        { username: 'deep-claims-user', password: '', claims },
        'http://localhost:3001/callback',
        -1,
      );
      expect(page.status === 0 || page.status < 500, `status ${page.status}`).toBe(true);
    }
    await expectAlive();
  });

  it('huge headers → 431, and the server keeps serving', async () => {
    const res = await raw('GET', '/.well-known/openid-configuration', {
      'x-padding': 'p'.repeat(32 * 1024),
    });
    expect(res.status).toBe(431);
    const many: Record<string, string> = {};
    for (let i = 0; i < 2000; i += 1) many[`x-h${i}`] = 'v'.repeat(10);
    const res2 = await raw('GET', '/jwks', many);
    expect(res2.status).toBe(431);
    const cookie = await raw('GET', '/auth', { cookie: `_session=${'c'.repeat(15 * 1024)}` });
    expect(cookie.status).toBeLessThan(500);
    await expectAlive();
  });

  it('a hostile X-Request-Id is replaced, not echoed', async () => {
    const res = await fetch(`${url}/healthz`, { headers: { 'x-request-id': 'a b<script>' } });
    expect(res.headers.get('x-request-id')).not.toContain('<');
  });
});

describe('key import limits', () => {
  it(`refuses more than ${MAX_KEYS_PER_INPUT} keys in one input`, async () => {
    const keys = await Promise.all(
      Array.from({ length: MAX_KEYS_PER_INPUT + 1 }, async () => {
        const { privateKey } = await generateKeyPair('ES256', { extractable: true });
        return exportJWK(privateKey);
      }),
    );
    await expect(parsePrivateKeys(JSON.stringify({ keys }))).rejects.toMatchObject({
      code: 'KEY_TOO_MANY',
    });
    const accepted = await parsePrivateKeys(JSON.stringify({ keys: keys.slice(0, 2) }));
    expect(accepted).toHaveLength(2);
  });

  it('refuses too many PEM blocks', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const { exportPKCS8 } = await import('jose');
    const pem = await exportPKCS8(privateKey);
    await expect(
      parsePrivateKeys(
        Array(MAX_KEYS_PER_INPUT + 1)
          .fill(pem)
          .join('\n'),
      ),
    ).rejects.toMatchObject({ code: 'KEY_TOO_MANY' });
  });

  it(`refuses inputs over ${MAX_KEY_INPUT_BYTES} bytes before parsing`, async () => {
    const huge = `{"keys":[${'{}'.padEnd(MAX_KEY_INPUT_BYTES, ' ')}]}`;
    await expect(parsePrivateKeys(huge)).rejects.toMatchObject({ code: 'KEY_INPUT_TOO_LARGE' });
  });

  it('refuses RSA keys larger than 8192 bits (they would stall every signature)', async () => {
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    const jwk = await exportJWK(privateKey);
    const n = Buffer.alloc(1152, 0xab);
    n[0] = 0xc1;
    const err = await parsePrivateKeys(
      JSON.stringify({ ...jwk, n: n.toString('base64url') }),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeyError);
    expect((err as KeyError).code).toBe('KEY_TOO_LARGE');
  });

  it('a deeply nested JWK set fails cleanly', async () => {
    const nested = `{"keys":[${'['.repeat(50_000)}${']'.repeat(50_000)}]}`;
    await expect(parsePrivateKeys(nested)).rejects.toBeInstanceOf(KeyError);
  });
});
