import { execFileSync } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  calculateJwkThumbprint,
  createRemoteJWKSet,
  decodeProtectedHeader,
  type JWK,
  jwtVerify,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { type RunningIssuer, startIssuer } from '../../src/issuer.js';
import { createLogger } from '../../src/log.js';
import { Browser, rpClient, rpSignIn } from '../support/flows.js';
import { startTestIssuer, waitFor } from '../support/issuer.js';

const ADMIN = 'admin-token-for-tests-0123456789';
let issuer: RunningIssuer;

beforeAll(async () => {
  issuer = await startTestIssuer({
    admin: { token: ADMIN },
    keys: { rotationPeriod: '1h', prePublication: '1s', retention: '2h' },
  });
});
afterAll(async () => {
  await issuer?.close();
});

const admin = (path: string, init: RequestInit = {}, token = ADMIN) =>
  fetch(`${issuer.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, ...(init.headers ?? {}) },
  });

async function idTokenFor(username: string): Promise<{ idToken: string; browser: Browser }> {
  const browser = new Browser();
  const tokens = await rpSignIn(
    await rpClient(issuer.url, 'demo-web', 'demo-web-secret'),
    browser,
    {
      username,
      scope: 'openid',
    },
  );
  return { idToken: tokens.id_token!, browser };
}

describe('the JWKS response', () => {
  it('is public-only, cacheable, ETagged and the same on both paths', async () => {
    const res = await fetch(`${issuer.url}/jwks`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/jwk-set+json');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('cache-control')).toMatch(
      /^public, max-age=\d+, stale-while-revalidate=\d+, stale-if-error=\d+$/,
    );
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const etag = res.headers.get('etag')!;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    const body = await res.text();
    expect(res.headers.get('content-length')).toBe(String(Buffer.byteLength(body)));
    const { keys } = JSON.parse(body) as { keys: JWK[] };
    expect(keys.length).toBe(2);
    for (const key of keys) {
      for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'])
        expect(key).not.toHaveProperty(member);
      expect(key.use).toBe('sig');
      expect(key.alg).toBe('RS256');
      expect(key.kid).toBe(await calculateJwkThumbprint(key));
    }
    expect(new Set(keys.map((k) => k.kid)).size).toBe(keys.length);

    const wellKnown = await fetch(`${issuer.url}/.well-known/jwks.json`);
    expect(await wellKnown.text()).toBe(body);
    expect(wellKnown.headers.get('etag')).toBe(etag);

    const notModified = await fetch(`${issuer.url}/jwks`, { headers: { 'if-none-match': etag } });
    expect(notModified.status).toBe(304);
    expect(await notModified.text()).toBe('');
    // A 304 carries what a cache refreshes its entry with (RFC 9110 §15.4.5).
    for (const name of ['etag', 'cache-control', 'access-control-allow-origin']) {
      expect(notModified.headers.get(name), name).toBe(res.headers.get(name));
    }
    expect(notModified.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const stale = await fetch(`${issuer.url}/jwks`, {
      headers: { 'if-none-match': '"something-else"' },
    });
    expect(stale.status).toBe(200);

    const discovery = (await (
      await fetch(`${issuer.url}/.well-known/openid-configuration`)
    ).json()) as { jwks_uri: string };
    expect(discovery.jwks_uri).toBe(`${issuer.url}/jwks`);
  });
});

describe('the admin API', () => {
  it('is guarded by the bearer token', async () => {
    const anonymous = await fetch(`${issuer.url}/admin/keys`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer realm="oidc-issuer admin"');
    expect(anonymous.headers.get('cache-control')).toBe('no-store');
    expect(await anonymous.json()).toEqual({
      error: 'invalid_token',
      error_description: 'a valid admin bearer token is required',
      code: 'ADMIN_TOKEN_INVALID',
    });
    expect((await admin('/admin/keys', {}, 'wrong-token-wrong-token-wrong')).status).toBe(401);
    const list = await admin('/admin/keys');
    expect(list.status).toBe(200);
    const body = (await list.json()) as { keys: { state: string; publicJwk: JWK }[] };
    expect(body.keys.map((k) => k.state).sort()).toEqual(['active', 'next']);
    expect(JSON.stringify(body)).not.toMatch(/"d":/);
  });

  it('answers 404 when no admin token is configured', async () => {
    const plain = await startTestIssuer();
    try {
      expect(
        (await fetch(`${plain.url}/admin/keys`, { headers: { authorization: 'Bearer x' } })).status,
      ).toBe(404);
    } finally {
      await plain.close();
    }
  });
});

describe('rotation seen by clients', () => {
  it('accepts an id_token_hint signed by a retiring key at logout', async () => {
    await new Promise((r) => setTimeout(r, 1100)); // the next key must be published for 1 s first
    const { idToken, browser } = await idTokenFor('alice');
    const oldKid = decodeProtectedHeader(idToken).kid!;
    const rotated = await admin('/admin/keys/rotate', { method: 'POST' });
    expect(rotated.status, await rotated.clone().text()).toBe(200);
    const states = (await rotated.json()) as { keys: { kid: string; state: string }[] };
    expect(states.keys.find((k) => k.kid === oldKid)?.state).toBe('retiring');

    // New tokens are signed by the new active key; the old one is still published.
    const { idToken: newer } = await idTokenFor('bob');
    expect(decodeProtectedHeader(newer).kid).not.toBe(oldKid);
    const published = (await (await fetch(`${issuer.url}/jwks`)).json()) as { keys: JWK[] };
    expect(published.keys.map((k) => k.kid)).toContain(oldKid);
    await jwtVerify(idToken, createRemoteJWKSet(new URL(`${issuer.url}/jwks`)), {
      issuer: issuer.url,
    });

    const end = `${issuer.url}/session/end?id_token_hint=${idToken}&post_logout_redirect_uri=${encodeURIComponent('http://localhost:3001/')}`;
    const confirm = await browser.follow(end, {}, 'http://localhost:3001/');
    expect(confirm.status, confirm.body).toBe(200);
    expect(confirm.body).toContain('Sign out?');
    const out = await browser.submit(
      confirm,
      /\/session\/end\/confirm$/,
      { logout: 'yes' },
      'http://localhost:3001/',
    );
    expect(out.status).toBe(0);
  });

  it('refuses a rotation before the next key was published for the lead, and revokes a kid at once', async () => {
    const early = await admin('/admin/keys/rotate', { method: 'POST' });
    expect(early.status).toBe(409);
    expect(((await early.json()) as { error: string }).error).toBe('rotation_too_early');

    const before = (await (await admin('/admin/keys')).json()) as {
      keys: { kid: string; state: string }[];
    };
    const active = before.keys.find((k) => k.state === 'active')!.kid;
    const revoked = await admin(`/admin/keys/${active}/revoke`, { method: 'POST' });
    expect(revoked.status).toBe(200);
    const jwks = (await (await fetch(`${issuer.url}/jwks`)).json()) as { keys: JWK[] };
    expect(jwks.keys.map((k) => k.kid)).not.toContain(active);
    await waitFor(
      async () => {
        const { idToken } = await idTokenFor('alice');
        return decodeProtectedHeader(idToken).kid !== active;
      },
      5000,
      'a token signed by another key',
    );
    expect((await admin('/admin/keys/unknown-kid/revoke', { method: 'POST' })).status).toBe(404);
  });
});

describe('POST /admin/keys/rotate {"now": true}', () => {
  it('promotes a next key far younger than the lead, says who may fail, and signs with it', async () => {
    const young = await startTestIssuer({
      admin: { token: ADMIN },
      keys: { rotationPeriod: '2h', prePublication: '1h', retention: '3h' },
    });
    try {
      const post = (body: unknown) =>
        fetch(`${young.url}/admin/keys/rotate`, {
          method: 'POST',
          headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      expect((await post({})).status).toBe(409);
      const bad = await post({ now: 'yes' });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error_description: string }).error_description).toBe(
        'now must be true or false',
      );
      const waiting = young.keyRing.current()!.keys.find((k) => k.activateAt > Date.now())!.kid;
      const res = await post({ now: true, alg: 'RS256' });
      expect(res.status, await res.clone().text()).toBe(200);
      const body = (await res.json()) as {
        keys: { kid: string; state: string }[];
        rotation: Record<string, unknown>;
      };
      expect(body.rotation).toMatchObject({ alg: 'RS256', activeKid: waiting, early: true });
      expect(body.rotation.warning).toMatch(/keys.prePublication asks for 1h/);
      expect(body.rotation.warning).toContain('does not refetch on an unknown kid');
      expect(body.keys.find((k) => k.kid === waiting)?.state).toBe('active');
      await waitFor(
        async () => {
          const minted = await fetch(`${young.url}/admin/tokens`, {
            method: 'POST',
            headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
            body: JSON.stringify({ sub: 'probe' }),
          });
          return ((await minted.json()) as { header: { kid: string } }).header.kid === waiting;
        },
        3000,
        'a token signed by the early-promoted key',
      );
    } finally {
      await young.close();
    }
  });
});

describe('keys imported from the keys folder at start', () => {
  it('publishes openssl-made RSA, P-256 and Ed25519 keys as next keys', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keys-'));
    const make = (file: string, ...args: string[]) => {
      try {
        execFileSync('openssl', ['genpkey', ...args, '-out', join(dir, file)], { stdio: 'ignore' });
      } catch {
        throw new Error('openssl is needed for this test (Debian: apt-get install -y openssl)');
      }
    };
    make('rsa.pem', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048');
    make('ec.pem', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256');
    make('ed.pem', '-algorithm', 'ED25519');
    const expected = await Promise.all(
      ['rsa.pem', 'ec.pem', 'ed.pem'].map(async (f) => {
        const jwk = createPublicKey({
          key: execFileSync('openssl', ['pkey', '-in', join(dir, f)]),
          format: 'pem',
        }).export({ format: 'jwk' });
        return calculateJwkThumbprint(jwk as JWK);
      }),
    );
    const config = validateConfig({
      port: 0,
      host: '127.0.0.1',
      logLevel: 'silent',
      keys: { dir, algorithms: ['RS256', 'ES256', 'EdDSA'] },
    });
    const running = await startIssuer(config, {
      issuerFromPort: true,
      logger: createLogger('silent'),
    });
    try {
      const jwks = (await (await fetch(`${running.url}/jwks`)).json()) as { keys: JWK[] };
      const kids = jwks.keys.map((k) => k.kid);
      for (const kid of expected) expect(kids).toContain(kid);
      const states = running.keyRing.current()!.keys.filter((k) => expected.includes(k.kid));
      expect(states.every((k) => k.activateAt > Date.now())).toBe(true);
    } finally {
      await running.close();
    }
    // A restart keeps the same ring (kept in keys/keyring-<namespace>.json) and does not import twice.
    const again = await startIssuer(config, {
      issuerFromPort: true,
      logger: createLogger('silent'),
    });
    try {
      const kids = again.keyRing.current()!.keys.map((k) => k.kid);
      expect(kids.filter((k) => expected.includes(k))).toHaveLength(3);
    } finally {
      await again.close();
    }
  });
});
