/**
 * A user login through a relying-party library that sends no `resource` (as openid-client,
 * oidc-client-ts and Auth.js do) gets an RFC 9068 JWT access token for the client's default
 * resource, which the client's API verifies against the JWKS and which also works at userinfo.
 */
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_API_AUDIENCE, demoConfig } from '../../src/config/demo.js';
import type { RunningIssuer } from '../../src/issuer.js';
import { type ExampleProcess, startExample } from '../e2e/example-process.js';
import {
  Browser,
  basic,
  rpClient,
  rpSignIn,
  submitPassword,
  tokenRequest,
  WEB,
  WEB_CALLBACK,
} from '../support/flows.js';
import { startTestIssuer } from '../support/issuer.js';

const OTHER_API = 'https://other-api.test';
let issuer: RunningIssuer;
let api: ExampleProcess;

beforeAll(async () => {
  const demo = demoConfig();
  issuer = await startTestIssuer({
    resourceServers: [
      ...(demo.resourceServers ?? []),
      { audience: OTHER_API, scopes: ['other:read'] },
    ],
    clients: [
      ...(demo.clients ?? []),
      {
        // Two APIs, the second chosen as the default.
        id: 'two-apis',
        secret: 'two-apis-secret',
        redirectUris: [WEB_CALLBACK],
        scopes: ['openid', 'profile', 'offline_access', 'api:read', 'other:read'],
        resources: [DEMO_API_AUDIENCE, OTHER_API],
        defaultResource: OTHER_API,
      },
      {
        // No API: today's behaviour, an opaque token for userinfo only.
        id: 'no-api',
        secret: 'no-api-secret',
        redirectUris: [WEB_CALLBACK],
        scopes: ['openid', 'profile', 'offline_access'],
      },
    ],
  });
  api = await startExample('api', { ISSUER: issuer.url, AUDIENCE: DEMO_API_AUDIENCE });
});
afterAll(async () => {
  await api?.stop();
  await issuer?.close();
});

/** What examples/api answers for `token` (it verifies with jose against the issuer's JWKS). */
async function callApi(token: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${api.url}/api/whoami`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('a user login with no resource parameter', () => {
  it('code and refresh: a JWT for the API that the API accepts and userinfo answers', async () => {
    const config = await rpClient(issuer.url, WEB.id, WEB.secret);
    const tokens = await rpSignIn(config, new Browser(), {
      scope: 'openid profile email offline_access api:read',
    });
    expect(decodeProtectedHeader(tokens.access_token).typ).toBe('at+jwt');
    const jwks = createRemoteJWKSet(new URL(`${issuer.url}/jwks`));
    const { payload } = await jwtVerify(tokens.access_token, jwks, {
      issuer: issuer.url,
      audience: DEMO_API_AUDIENCE,
      typ: 'at+jwt',
    });
    expect(payload).toMatchObject({ sub: 'alice', client_id: 'demo-web', scope: 'api:read' });
    // The token response's `scope` is the access token's (oidc-provider's rule for resources).
    expect(tokens.scope).toBe('api:read');

    expect(await oidc.fetchUserInfo(config, tokens.access_token, 'alice')).toMatchObject({
      sub: 'alice',
      email: 'alice@example.com',
      name: 'Alice Example',
    });
    expect(await callApi(tokens.access_token)).toMatchObject({
      status: 200,
      body: { sub: 'alice', client_id: 'demo-web', scope: 'api:read' },
    });

    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token as string);
    expect(decodeJwt(refreshed.access_token).aud).toBe(DEMO_API_AUDIENCE);
    expect(refreshed.access_token).not.toBe(tokens.access_token);
    expect((await oidc.fetchUserInfo(config, refreshed.access_token, 'alice')).email).toBe(
      'alice@example.com',
    );
    expect((await callApi(refreshed.access_token)).status).toBe(200);

    // Userinfo releases what the grant's scopes release, not more: a narrower refresh.
    const narrow = await oidc.refreshTokenGrant(config, refreshed.refresh_token as string, {
      scope: 'openid api:read',
    });
    const claims = await oidc.fetchUserInfo(config, narrow.access_token, 'alice');
    expect(claims.sub).toBe('alice');
    expect(claims.email).toBeUndefined();
  });

  it('device code: the same JWT for the API, working at userinfo', async () => {
    const auth = basic(WEB.id, WEB.secret);
    const start = await fetch(`${issuer.url}/device/auth`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ scope: 'openid email api:read' }),
    });
    const device = (await start.json()) as {
      device_code: string;
      user_code: string;
      verification_uri: string;
    };
    const browser = new Browser();
    const input = await browser.request(device.verification_uri);
    const confirm = await browser.submit(input, /\/device$/, { user_code: device.user_code });
    const login = await browser.submit(confirm, /\/device$/, {});
    const consent = await submitPassword(browser, login, 'bob');
    const success = await browser.submit(consent, /\/confirm$/, {});
    expect(success.body).toContain('Your device is signed in');
    const tokens = await tokenRequest(
      issuer.url,
      {
        grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
        device_code: device.device_code,
      },
      auth,
    );
    expect(tokens.status, JSON.stringify(tokens.body)).toBe(200);
    const accessToken = String(tokens.body.access_token);
    expect(decodeJwt(accessToken)).toMatchObject({ aud: DEMO_API_AUDIENCE, sub: 'bob' });
    expect(await callApi(accessToken)).toMatchObject({ status: 200, body: { sub: 'bob' } });
    const me = await fetch(`${issuer.url}/me`, {
      headers: { authorization: `Bearer ${accessToken}` },
    });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ sub: 'bob', email: 'bob@example.com' });
  });

  it('uses the client’s defaultResource among several; a client with no API keeps an opaque token', async () => {
    const two = await rpClient(issuer.url, 'two-apis', 'two-apis-secret');
    const tokens = await rpSignIn(two, new Browser(), {
      scope: 'openid profile api:read other:read',
    });
    expect(decodeJwt(tokens.access_token)).toMatchObject({ aud: OTHER_API, scope: 'other:read' });
    expect((await oidc.fetchUserInfo(two, tokens.access_token, 'alice')).name).toBe(
      'Alice Example',
    );
    // A token for another audience is refused by the API.
    expect((await callApi(tokens.access_token)).status).toBe(401);

    const none = await rpClient(issuer.url, 'no-api', 'no-api-secret');
    const opaque = await rpSignIn(none, new Browser(), { scope: 'openid profile' });
    expect(opaque.access_token.split('.')).toHaveLength(1);
    expect((await oidc.fetchUserInfo(none, opaque.access_token, 'alice')).name).toBe(
      'Alice Example',
    );
  });

  it('userinfo refuses a JWT access token that is not exactly one it issued', async () => {
    const config = await rpClient(issuer.url, WEB.id, WEB.secret);
    const tokens = await rpSignIn(config, new Browser(), { scope: 'openid profile api:read' });
    const [header, payload, signature] = tokens.access_token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const forged = [
      header,
      Buffer.from(JSON.stringify({ ...claims, sub: 'bob' })).toString('base64url'),
      signature,
    ].join('.');
    const truncated = `${header}.${payload}.${signature.slice(0, -2)}`;
    for (const token of [forged, truncated, `${header}.${payload}.`]) {
      const me = await fetch(`${issuer.url}/me`, { headers: { authorization: `Bearer ${token}` } });
      expect(me.status, token).toBe(401);
      expect(((await me.json()) as { error?: string }).error).toBe('invalid_token');
    }
    // The real one still works: the checks above did not consume anything.
    const me = await fetch(`${issuer.url}/me`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    expect(me.status).toBe(200);
  });
});
