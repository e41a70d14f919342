import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestIssuer, type TestIssuer } from '../../src/index.js';

const API = 'http://localhost:4000/api';
const ADMIN = 'test-admin-token-0123456789';

let issuer: TestIssuer;
let jwks: ReturnType<typeof createRemoteJWKSet>;

beforeAll(async () => {
  issuer = await createTestIssuer({ adminToken: ADMIN });
  jwks = createRemoteJWKSet(new URL(issuer.jwksUrl));
});
afterAll(async () => {
  await issuer?.stop();
});

describe('createTestIssuer', () => {
  it('listens on a free loopback port and serves discovery with its own URL as issuer', async () => {
    expect(issuer.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(issuer.port).toBeGreaterThan(0);
    const doc = (await (await fetch(issuer.discoveryUrl)).json()) as Record<string, unknown>;
    expect(doc.issuer).toBe(issuer.url);
    expect(doc.jwks_uri).toBe(issuer.jwksUrl);
  });

  it('mints an RFC 9068 access token that a jose verifier accepts through the JWKS', async () => {
    const token = await issuer.mintToken({
      sub: 'alice',
      scope: 'api:read',
      claims: { tenant: 't1' },
    });
    const { payload, protectedHeader } = await jwtVerify(token, jwks, {
      issuer: issuer.url,
      audience: API,
      typ: 'at+jwt',
    });
    expect(protectedHeader.kid).toBe(issuer.activeKid());
    expect(payload).toMatchObject({ sub: 'alice', scope: 'api:read', tenant: 't1' });
    expect(payload.client_id).toBe('oidc-issuer-mint');
    expect(typeof payload.jti).toBe('string');
    expect((payload.exp as number) - (payload.iat as number)).toBe(3600);
  });

  it('mints ID tokens with aud = client id and auth_time, and already expired tokens', async () => {
    const minted = await issuer.mint({ type: 'id', sub: 'bob', clientId: 'demo-web', nonce: 'n1' });
    expect(minted.header.typ).toBeUndefined();
    const { payload } = await jwtVerify(minted.token, jwks, {
      issuer: issuer.url,
      audience: 'demo-web',
    });
    expect(payload).toMatchObject({ sub: 'bob', nonce: 'n1' });
    expect(payload.auth_time).toBe(payload.iat);

    const expired = await issuer.mintToken({ sub: 'alice', expiresIn: '-5m' });
    await expect(jwtVerify(expired, jwks, { issuer: issuer.url })).rejects.toThrow(/exp/);
    const verdict = await issuer.verify(expired, { audience: API });
    expect(verdict.valid).toBe(false);
    expect(verdict.problems.map((p) => p.code)).toEqual(['EXPIRED']);
    expect(verdict.problems[0]?.message).toMatch(/^expired 5m (\ds )?ago/);
  });

  it('refuses mint options that cannot make a token', async () => {
    await expect(issuer.mintToken({ type: 'id', clientId: 'demo-web' })).rejects.toMatchObject({
      code: 'MINT_OPTIONS_INVALID',
    });
    await expect(issuer.mintToken({ expiresIn: 'soon' })).rejects.toMatchObject({
      code: 'MINT_OPTIONS_INVALID',
    });
  });

  it('logs alice in through the real pages and returns tokens that verify', async () => {
    const tokens = await issuer.login({ username: 'alice', resource: API });
    expect(tokens.token_type).toBe('Bearer');
    expect(tokens.refresh_token).toBeDefined();
    expect(tokens.idTokenClaims).toMatchObject({
      sub: 'alice',
      aud: 'demo-web',
      email: 'alice@example.com',
    });
    const { payload } = await jwtVerify(tokens.access_token, jwks, {
      issuer: issuer.url,
      audience: API,
      typ: 'at+jwt',
    });
    expect(payload.sub).toBe('alice');
    expect(String(payload.scope)).toContain('api:read');
  });

  it('logs in a public PKCE client and an ad-hoc user with typed claims', async () => {
    const tokens = await issuer.login({
      username: 'carol',
      clientId: 'demo-spa',
      claims: { email: 'carol@example.com', groups: ['qa'] },
      scope: 'openid email groups',
    });
    expect(tokens.idTokenClaims).toMatchObject({
      sub: 'carol',
      aud: 'demo-spa',
      email: 'carol@example.com',
      groups: ['qa'],
    });
  });

  it('reports a wrong password as a login failure', async () => {
    await expect(issuer.login({ username: 'alice', password: 'wrong' })).rejects.toMatchObject({
      code: 'LOGIN_FAILED',
      message: expect.stringMatching(/login refused.*wrong password/i),
    });
  });

  it('runs client_credentials for a confidential client', async () => {
    const tokens = await issuer.clientCredentials({ clientId: 'demo-service', scope: 'api:read' });
    const { payload } = await jwtVerify(tokens.access_token, jwks, {
      issuer: issuer.url,
      audience: API,
    });
    expect(payload.client_id).toBe('demo-service');
  });

  it('rotates keys at once: the new key signs, the old one stays published and verifying', async () => {
    const before = issuer.activeKid();
    const oldToken = await issuer.mintToken({ sub: 'alice' });
    const summary = await issuer.rotateKeys();
    const after = issuer.activeKid();
    expect(after).toBeDefined();
    expect(after).not.toBe(before);
    expect(summary.keys.find((k) => k.kid === before)?.state).toBe('retiring');
    const published = (await issuer.jwks()).keys.map((k) => k.kid);
    expect(published).toContain(before);
    expect(published).toContain(after);
    const served = (await (await fetch(issuer.jwksUrl)).json()) as { keys: { kid: string }[] };
    expect(served.keys.map((k) => k.kid)).toEqual(published);
    // The provider signs with the new key too.
    const cc = await issuer.clientCredentials({ clientId: 'demo-service' });
    expect(decodeProtectedHeader(cc.access_token).kid).toBe(after);
    expect(decodeProtectedHeader(await issuer.mintToken({ sub: 'x' })).kid).toBe(after);
    expect((await issuer.verify(oldToken, { audience: API })).valid).toBe(true);
  });

  it("rotates on a frozen clock: the issuer's clock is moved past the pre-publication lead", async () => {
    const frozen = Date.now();
    // The clock never moves by itself, so waiting out the lead could not make the next key sign.
    const still = await createTestIssuer({ clock: () => frozen, keys: { prePublication: '2s' } });
    try {
      const before = still.activeKid();
      const summary = await still.rotateKeys();
      expect(still.activeKid()).not.toBe(before);
      expect(summary.keys.find((k) => k.kid === before)?.state).toBe('retiring');
    } finally {
      await still.stop();
    }
  });

  it('revokes a key: tokens it signed stop verifying', async () => {
    const token = await issuer.mintToken({ sub: 'alice' });
    const kid = issuer.activeKid(); // a string, what revokeKey takes
    expect(decodeProtectedHeader(token).kid).toBe(kid);
    await issuer.revokeKey(kid);
    expect((await issuer.jwks()).keys.map((k) => k.kid)).not.toContain(kid);
    const verdict = await issuer.verify(token);
    expect(verdict.problems.map((p) => p.code)).toEqual(['UNKNOWN_KID']);
    // An algorithm that does not sign here is an error, not an undefined kid.
    expect(() => issuer.activeKid('ES384')).toThrow(
      expect.objectContaining({ code: 'NO_ACTIVE_KEY' }),
    );
  });
});

describe('POST /admin/tokens', () => {
  const post = (body: unknown, token: string | null = ADMIN, url = issuer.url) =>
    fetch(`${url}/admin/tokens`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  it('mints the same tokens as the CLI for a caller holding the admin token', async () => {
    const res = await post({ sub: 'alice', aud: API, scope: 'api:write', expires_in: '10m' });
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as {
      token: string;
      header: { typ: string };
      claims: { exp: number; iat: number };
    };
    expect(body.header.typ).toBe('at+jwt');
    expect(body.claims.exp - body.claims.iat).toBe(600);
    // A fresh key set: the shared one may hold a copy from before the revocation above.
    const fresh = createRemoteJWKSet(new URL(issuer.jwksUrl));
    const { payload } = await jwtVerify(body.token, fresh, { issuer: issuer.url, audience: API });
    expect(payload.scope).toBe('api:write');
  });

  it('answers 401 without the bearer token and 400 for bad options or bad JSON', async () => {
    expect((await post({ sub: 'a' }, null)).status).toBe(401);
    expect((await post({ sub: 'a' }, 'wrong-token-wrong-token')).status).toBe(401);
    const bad = await post({ type: 'refresh', nope: 1 });
    expect(bad.status).toBe(400);
    const body = (await bad.json()) as { error: string; code: string; error_description: string };
    expect(body).toMatchObject({ error: 'invalid_request', code: 'MINT_OPTIONS_INVALID' });
    expect(body.error_description).toMatch(/type/);
    expect(body.error_description).toMatch(/nope: unknown option/);
    expect((await post('{"sub": ')).status).toBe(400);
    // An algorithm the issuer is not configured for is the caller's mistake, not an outage.
    const alg = await post({ sub: 'a', alg: 'ES384' });
    expect(alg.status).toBe(400);
    expect(await alg.json()).toMatchObject({ error: 'invalid_request', code: 'ALG_NOT_IN_POLICY' });
  });

  it('is absent (404) when no admin token is configured', async () => {
    const plain = await createTestIssuer({ demo: false, clients: [], users: [] });
    try {
      const res = await post({ sub: 'a' }, ADMIN, plain.url);
      expect(res.status).toBe(404);
    } finally {
      await plain.stop();
    }
  });
});

describe('createTestIssuer options', () => {
  it('starts from an empty config with my users and clients, headless login via login_hint', async () => {
    const own = await createTestIssuer({
      demo: false,
      users: [{ username: 'dana', claims: { email: 'dana@example.com' } }],
      clients: [
        {
          id: 'my-app',
          secret: 'my-app-secret',
          redirectUris: ['http://localhost:9999/cb'],
          scopes: ['openid', 'email'],
          skipConsent: true,
        },
      ],
      login: { headless: true },
    });
    try {
      expect(own.config.users.map((u) => u.username)).toEqual(['dana']);
      const tokens = await own.login({ username: 'dana', params: { login_hint: 'dana' } });
      expect(tokens.idTokenClaims).toMatchObject({
        sub: 'dana',
        aud: 'my-app',
        email: 'dana@example.com',
      });
      // No resource server: an access token needs an explicit audience.
      await expect(own.mintToken({ sub: 'dana' })).rejects.toMatchObject({
        code: 'MINT_OPTIONS_INVALID',
      });
      const token = await own.mintToken({ sub: 'dana', aud: 'urn:my-api' });
      expect((await own.verify(token, { audience: 'urn:my-api' })).valid).toBe(true);
    } finally {
      await own.stop();
    }
  });

  it('rejects an invalid config with every problem listed', async () => {
    await expect(
      createTestIssuer({
        config: { port: -1 },
        logLevel: 'loud' as 'info',
      }),
    ).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      problems: expect.arrayContaining([
        expect.stringMatching(/^port:/),
        expect.stringMatching(/^logLevel:/),
      ]),
    });
  });
});
