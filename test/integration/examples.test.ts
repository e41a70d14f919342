import { importJWK, SignJWT } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_API_AUDIENCE, demoConfig } from '../../src/config/demo.js';
import type { RunningIssuer } from '../../src/issuer.js';
import { providerKeys } from '../../src/keystore/lifecycle.js';
import { type ExampleProcess, startExample } from '../e2e/example-process.js';
import { Browser } from '../support/browser.js';
import { startTestIssuer } from '../support/issuer.js';
import { freePort } from '../support/ports.js';

/** An API the example API is not: tokens for it must be refused there. */
const OTHER_AUDIENCE = 'http://localhost:4999/other';

let issuer: RunningIssuer;
let api: ExampleProcess;
let rp: ExampleProcess;

beforeAll(async () => {
  const rpPort = await freePort();
  const rpUrl = `http://localhost:${rpPort}`;
  const demo = demoConfig();
  issuer = await startTestIssuer({
    resourceServers: [
      ...(demo.resourceServers ?? []),
      { audience: OTHER_AUDIENCE, scopes: ['other:read'] },
    ],
    clients: [
      ...(demo.clients ?? []).map((c) =>
        c.id === 'demo-web'
          ? { ...c, redirectUris: [`${rpUrl}/callback`], postLogoutRedirectUris: [`${rpUrl}/`] }
          : c,
      ),
      {
        id: 'other-service',
        secret: 'other-service-secret',
        grantTypes: ['client_credentials'],
        scopes: ['other:read'],
        resources: [OTHER_AUDIENCE],
      },
    ],
  });
  [api, rp] = await Promise.all([
    startExample('api', { ISSUER: issuer.url, AUDIENCE: DEMO_API_AUDIENCE }),
    startExample('rp-web', { ISSUER: issuer.url, BASE_URL: rpUrl }, rpPort),
  ]);
});

afterAll(async () => {
  await Promise.all([rp?.stop(), api?.stop()]);
  await issuer?.close();
});

describe('examples/rp-web', () => {
  it('signs alice in through the login and consent pages, shows claims and userinfo, and signs out', async () => {
    const browser = new Browser();
    const start = await browser.follow(`${rp.url}/`);
    expect(start.body).toContain('Signed out.');

    const login = await browser.follow(`${rp.url}/login`);
    expect(login.status, login.body).toBe(200);
    expect(login.url).toContain(`${issuer.url}/interaction/`);
    expect(login.body).toContain('Demo web app');
    const consent = await browser.submit(login, /\/login$/, { action: 'pick' }, undefined, 0);
    expect(consent.status, consent.body).toBe(200);
    expect(consent.body).toContain('Allow access');

    const home = await browser.submit(consent, /\/confirm$/, {});
    expect(home.status, `${home.body}\n${rp.output()}`).toBe(200);
    expect(home.url).toBe(`${rp.url}/`);
    expect(home.body).toContain('Signed in as <strong id="sub">alice</strong>');
    const [claimsHtml, userinfoHtml] = [
      /<div id="claims"><pre>([\s\S]*?)<\/pre>/.exec(home.body)?.[1] ?? '',
      /<div id="userinfo"><pre>([\s\S]*?)<\/pre>/.exec(home.body)?.[1] ?? '',
    ];
    const claims = JSON.parse(unescapeHtml(claimsHtml));
    expect(claims).toMatchObject({ iss: issuer.url, aud: 'demo-web', sub: 'alice' });
    expect(claims.nonce).toBeTypeOf('string');
    expect(JSON.parse(unescapeHtml(userinfoHtml))).toMatchObject({
      sub: 'alice',
      email: 'alice@example.com',
      groups: ['admins', 'users'],
    });

    const confirm = await browser.follow(`${rp.url}/logout`);
    expect(confirm.status).toBe(200);
    expect(confirm.body).toContain('Sign out?');
    const out = await browser.submit(confirm, /\/session\/end\/confirm$/, { logout: 'yes' });
    expect(out.url).toBe(`${rp.url}/`);
    expect(out.body).toContain('Signed out.');

    // Both sessions ended: the RP shows signed out and the issuer asks for a login again.
    const again = await browser.follow(`${rp.url}/login`);
    expect(again.url).toContain(`${issuer.url}/interaction/`);
    expect(again.body).toContain('Sign in');
  });

  it('refuses a callback it did not start', async () => {
    const page = await new Browser().follow(`${rp.url}/callback?code=forged&state=forged`);
    expect(page.status).toBe(400);
    expect(page.body).toContain('No sign-in is in progress');
  });
});

describe('examples/api', () => {
  const clientFor = (id: string, secret: string) =>
    oidc.discovery(new URL(issuer.url), id, secret, oidc.ClientSecretBasic(secret), {
      execute: [oidc.allowInsecureRequests],
    });
  const call = (token: string | undefined, method = 'GET', path = '/api/whoami') =>
    fetch(`${api.url}${path}`, {
      method,
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    });

  it('accepts a client_credentials token from demo-service, checking scope per route', async () => {
    const config = await clientFor('demo-service', 'demo-service-secret');
    const full = await oidc.clientCredentialsGrant(config, { scope: 'api:read api:write' });
    const read = await call(full.access_token);
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({
      sub: 'demo-service',
      client_id: 'demo-service',
      scope: 'api:read api:write',
    });
    expect((await call(full.access_token, 'POST', '/api/items')).status).toBe(200);

    const readOnly = await oidc.clientCredentialsGrant(config, { scope: 'api:read' });
    expect((await call(readOnly.access_token)).status).toBe(200);
    const write = await call(readOnly.access_token, 'POST', '/api/items');
    expect(write.status).toBe(403);
    expect(write.headers.get('www-authenticate')).toContain('insufficient_scope');
  });

  it('rejects a missing, malformed, expired, wrong-audience or foreign token with 401', async () => {
    const missing = await call(undefined);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer');
    expect((await call('not-a-jwt')).status).toBe(401);

    // Signed with the issuer's own active key and correct in every way except `exp`.
    const [key] = providerKeys(issuer.keyRing.current(), Date.now());
    if (!key) throw new Error('the test issuer has no signing key');
    const signingKey = await importJWK(key, key.alg);
    const now = Math.floor(Date.now() / 1000);
    const accessToken = (exp: number, iss = issuer.url) =>
      new SignJWT({ client_id: 'demo-service', scope: 'api:read', jti: `t-${exp}` })
        .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt' })
        .setIssuer(iss)
        .setSubject('demo-service')
        .setAudience(DEMO_API_AUDIENCE)
        .setIssuedAt(now - 7200)
        .setExpirationTime(exp)
        .sign(signingKey);
    expect((await call(await accessToken(now + 600))).status).toBe(200);
    const expired = await call(await accessToken(now - 3600));
    expect(expired.status).toBe(401);
    expect(expired.headers.get('www-authenticate')).toContain('ERR_JWT_EXPIRED');
    const otherIssuer = await call(await accessToken(now + 600, 'http://evil.example'));
    expect(otherIssuer.status).toBe(401);

    const other = await clientFor('other-service', 'other-service-secret');
    const wrongAudience = await oidc.clientCredentialsGrant(other, {
      scope: 'other:read',
      resource: OTHER_AUDIENCE,
    });
    const refused = await call(wrongAudience.access_token);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toContain('ERR_JWT_CLAIM_VALIDATION_FAILED');

    // Another issuer claiming the same issuer URL: its key is not in the JWKS the API trusts.
    const foreign = await startTestIssuer({ issuer: issuer.url });
    try {
      const res = await fetch(`http://127.0.0.1:${foreign.port}/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from('demo-service:demo-service-secret').toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: 'grant_type=client_credentials&scope=api%3Aread',
      });
      const { access_token } = (await res.json()) as { access_token: string };
      const forged = await call(access_token);
      expect(forged.status).toBe(401);
      expect(forged.headers.get('www-authenticate')).toContain('ERR_JWKS_NO_MATCHING_KEY');
    } finally {
      await foreign.close();
    }
  });
});

function unescapeHtml(s: string): string {
  return s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}
