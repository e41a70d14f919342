import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningIssuer } from '../../src/issuer.js';
import { Browser } from '../support/browser.js';
import { startTestIssuer } from '../support/issuer.js';

const WEB_CALLBACK = 'http://localhost:3001/callback';
const API = 'http://localhost:4000/api';

let issuer: RunningIssuer;
let jwks: ReturnType<typeof createRemoteJWKSet>;

beforeAll(async () => {
  issuer = await startTestIssuer();
  jwks = createRemoteJWKSet(new URL(`${issuer.url}/jwks`));
});
afterAll(async () => {
  await issuer?.close();
});

const discover = (clientId: string, secret?: string) =>
  oidc.discovery(
    new URL(issuer.url),
    clientId,
    secret,
    secret ? oidc.ClientSecretBasic(secret) : oidc.None(),
    {
      execute: [oidc.allowInsecureRequests],
    },
  );

/** Runs authorize → login (as `username`) → consent, returning the callback URL the RP receives. */
async function signIn(
  config: oidc.Configuration,
  browser: Browser,
  params: Record<string, string>,
  username = 'alice',
): Promise<{ callback: URL; verifier: string; state: string }> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: WEB_CALLBACK,
    scope: 'openid profile email groups offline_access',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    ...params,
  });
  const login = await browser.follow(url.toString(), {}, WEB_CALLBACK);
  expect(login.status, login.body).toBe(200);
  expect(login.body).toContain('Sign in');
  expect(login.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  const consent = await browser.submit(
    login,
    /\/login$/,
    { username, password: username },
    WEB_CALLBACK,
    -1,
  );
  expect(consent.status, consent.body).toBe(200);
  expect(consent.body).toContain('Allow access');
  const done = await browser.submit(consent, /\/confirm$/, {}, WEB_CALLBACK);
  expect(done.status).toBe(0);
  return { callback: new URL(done.url), verifier, state };
}

describe('authorization code + PKCE, as a relying party runs it', () => {
  it('logs alice in and runs token, userinfo, refresh, introspection, revocation and logout', async () => {
    const config = await discover('demo-web', 'demo-web-secret');
    const browser = new Browser();
    const { callback, verifier, state } = await signIn(config, browser, {});
    expect(callback.searchParams.get('iss')).toBe(issuer.url);

    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    expect(tokens.id_token).toBeDefined();
    const { payload: idClaims, protectedHeader } = await jwtVerify(tokens.id_token!, jwks, {
      issuer: issuer.url,
      audience: 'demo-web',
    });
    expect(protectedHeader.alg).toBe('RS256');
    expect(idClaims.sub).toBe('alice');
    expect(idClaims.email).toBe('alice@example.com');
    expect(idClaims.groups).toEqual(['admins', 'users']);
    expect(idClaims.name).toBe('Alice Example');

    const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, 'alice');
    expect(userinfo).toMatchObject({
      sub: 'alice',
      email: 'alice@example.com',
      groups: ['admins', 'users'],
    });

    expect(tokens.refresh_token).toBeDefined();
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.access_token).not.toBe(tokens.access_token);
    await jwtVerify(refreshed.id_token!, jwks, { issuer: issuer.url, audience: 'demo-web' });

    // demo-web's access tokens are JWTs for its API (verified locally, not introspectable);
    // its refresh tokens are opaque: introspected and revoked here.
    const active = await oidc.tokenIntrospection(config, refreshed.refresh_token!);
    expect(active).toMatchObject({ active: true, sub: 'alice', client_id: 'demo-web' });

    await oidc.tokenRevocation(config, refreshed.refresh_token!);
    expect((await oidc.tokenIntrospection(config, refreshed.refresh_token!)).active).toBe(false);

    const end = oidc.buildEndSessionUrl(config, {
      id_token_hint: refreshed.id_token!,
      post_logout_redirect_uri: 'http://localhost:3001/',
      state: 'bye',
    });
    const confirm = await browser.follow(end.toString(), {}, 'http://localhost:3001/');
    expect(confirm.status).toBe(200);
    expect(confirm.body).toContain('Sign out?');
    const out = await browser.submit(
      confirm,
      /\/session\/end\/confirm$/,
      { logout: 'yes' },
      'http://localhost:3001/',
    );
    expect(out.status).toBe(0);
    expect(new URL(out.url).searchParams.get('state')).toBe('bye');

    // The session is gone: a new authorization request shows the login page again.
    const again = oidc.buildAuthorizationUrl(config, {
      redirect_uri: WEB_CALLBACK,
      scope: 'openid',
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    const page = await browser.follow(again.toString(), {}, WEB_CALLBACK);
    expect(page.status).toBe(200);
    expect(page.body).toContain('Sign in');
  });

  it('issues an at+jwt for a resource the client asks for', async () => {
    const config = await discover('demo-web', 'demo-web-secret');
    const { callback, verifier, state } = await signIn(config, new Browser(), {
      resource: API,
      scope: 'openid api:read',
    });
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    const { payload, protectedHeader } = await jwtVerify(tokens.access_token, jwks, {
      issuer: issuer.url,
      audience: API,
      typ: 'at+jwt',
    });
    expect(protectedHeader.typ).toBe('at+jwt');
    expect(payload.sub).toBe('alice');
    expect(payload.scope).toContain('api:read');
  });
});

describe('client_credentials', () => {
  it('gives demo-service an RFC 9068 access token that verifies against the jwks_uri', async () => {
    const res = await fetch(`${issuer.url}/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from('demo-service:demo-service-secret').toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'api:read' }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      access_token: string;
      token_type: string;
      expires_in: number;
    };
    expect(body.token_type).toBe('Bearer');
    const discovery = (await (
      await fetch(`${issuer.url}/.well-known/openid-configuration`)
    ).json()) as { jwks_uri: string; issuer: string };
    expect(discovery.issuer).toBe(issuer.url);
    const remote = createRemoteJWKSet(new URL(discovery.jwks_uri));
    const { payload, protectedHeader } = await jwtVerify(body.access_token, remote, {
      issuer: issuer.url,
      audience: API,
      typ: 'at+jwt',
    });
    expect(protectedHeader.kid).toBeDefined();
    expect(payload.client_id).toBe('demo-service');
    expect(payload.scope).toBe('api:read');
  });

  it('refuses a wrong secret with 401 invalid_client', async () => {
    const res = await fetch(`${issuer.url}/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from('demo-service:wrong').toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ grant_type: 'client_credentials' }),
    });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toBe('invalid_client');
  });
});

describe('refusals', () => {
  it('shows an error page, not a redirect, for an unregistered redirect_uri', async () => {
    const config = await discover('demo-web', 'demo-web-secret');
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: 'http://evil.example/callback',
      scope: 'openid',
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    const page = await new Browser().request(url.toString());
    expect(page.status).toBe(400);
    expect(page.headers.get('location')).toBeNull();
    expect(page.body).toContain('redirect_uri');
    expect(page.body).not.toMatch(/at .*\.js:\d+/);
  });

  it('refuses a post_logout_redirect_uri the client did not register, without redirecting', async () => {
    const config = await discover('demo-web', 'demo-web-secret');
    const browser = new Browser();
    const { callback, verifier, state } = await signIn(config, browser, {});
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    for (const target of ['http://evil.example/', 'http://localhost:3001/other']) {
      const end = oidc.buildEndSessionUrl(config, {
        id_token_hint: tokens.id_token!,
        post_logout_redirect_uri: target,
      });
      const page = await browser.request(end.toString());
      expect(page.status).toBe(400);
      expect(page.headers.get('location')).toBeNull();
      expect(page.body).toContain('post_logout_redirect_uri');
    }
  });

  it('answers invalid_grant to a reused code and revokes the tokens issued from it', async () => {
    const config = await discover('demo-web', 'demo-web-secret');
    const { callback, verifier, state } = await signIn(config, new Browser(), {});
    const first = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    await expect(
      oidc.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: verifier,
        expectedState: state,
      }),
    ).rejects.toMatchObject({ error: 'invalid_grant' });
    // The access token (a JWT) no longer works at userinfo.
    await expect(oidc.fetchUserInfo(config, first.access_token, 'alice')).rejects.toBeDefined();
    await expect(oidc.refreshTokenGrant(config, first.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
  });

  it('answers invalid_grant to a wrong PKCE verifier', async () => {
    const config = await discover('demo-web', 'demo-web-secret');
    const { callback, state } = await signIn(config, new Browser(), {});
    await expect(
      oidc.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: oidc.randomPKCECodeVerifier(),
        expectedState: state,
      }),
    ).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('signs ID tokens with a kid that the JWKS publishes', async () => {
    const config = await discover('demo-web', 'demo-web-secret');
    const { callback, verifier, state } = await signIn(config, new Browser(), {}, 'bob');
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    const { kid } = decodeProtectedHeader(tokens.id_token!);
    const published = (await (await fetch(`${issuer.url}/.well-known/jwks.json`)).json()) as {
      keys: { kid: string; d?: string }[];
    };
    expect(published.keys.map((k) => k.kid)).toContain(kid);
    expect(published.keys.every((k) => k.d === undefined)).toBe(true);
  });
});
