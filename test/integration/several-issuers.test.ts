import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoConfig } from '../../src/config/demo.js';
import { ROOT_ROUTE_SEGMENTS } from '../../src/config/issuers.js';
import { validateConfig } from '../../src/config/load.js';
import { ownRoutes } from '../../src/http/app.js';
import type { RunningIssuer } from '../../src/issuer.js';
import {
  Browser,
  callbackParams,
  rpClient,
  rpSignIn,
  WEB,
  WEB_CALLBACK,
} from '../support/flows.js';
import { startTestIssuer } from '../support/issuer.js';

const API = 'http://localhost:4000/api';
const GOOGLE_WEB = { id: 'g-web', secret: 'g-web-secret-0123' };
const googleEntry = {
  path: '/google',
  users: [{ username: 'gina', password: 'gina', claims: { email: 'gina@example.com' } }],
  clients: [
    {
      id: GOOGLE_WEB.id,
      secret: GOOGLE_WEB.secret,
      redirectUris: [WEB_CALLBACK],
      grantTypes: ['authorization_code'],
      scopes: ['openid', 'profile', 'email'],
    },
  ],
  keys: { algorithms: ['ES256'] },
};

let issuer: RunningIssuer;
const at = (path: string) => `${issuer.url}${path}`;

beforeAll(async () => {
  issuer = await startTestIssuer({ issuers: [{ path: '/azure', extends: 'demo' }, googleEntry] });
});
afterAll(async () => {
  await issuer?.close();
});

async function serviceToken(base: string): Promise<string> {
  const rp = await rpClient(base, 'demo-service', 'demo-service-secret');
  const tokens = await oidc.clientCredentialsGrant(rp, { scope: 'api:read', resource: API });
  return tokens.access_token;
}

/** A prompt=none authorization for `client` at `base`: a code only while the browser is signed in there. */
async function silentCode(base: string, client: { id: string; secret: string }, browser: Browser) {
  const rp = await rpClient(base, client.id, client.secret);
  const url = oidc.buildAuthorizationUrl(rp, {
    redirect_uri: WEB_CALLBACK,
    scope: 'openid',
    prompt: 'none',
    code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
  });
  return callbackParams(await browser.follow(url.toString(), {}, WEB_CALLBACK));
}

describe('several issuers on one server', () => {
  it('names the hosted issuer in its pages: the full path of a 404, the issuers: entry of a client field', async () => {
    const html = { Accept: 'text/html' };
    const missing = await fetch(at('/azure/nope'), { headers: html });
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain('nothing is served at /azure/nope');

    const auth = new URL(at('/azure/auth'));
    auth.search = new URLSearchParams({
      client_id: 'demo-web',
      response_type: 'code',
      scope: 'openid',
      redirect_uri: `${WEB_CALLBACK}x`,
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeKt8URW9Gq_ptR1r4Ak',
      code_challenge_method: 'S256',
    }).toString();
    const page = await (await fetch(auth, { headers: html })).text();
    expect(page).toContain('invalid_redirect_uri');
    expect(page).toMatch(/clients\[\d+\]\.redirectUris of the issuers: entry with path azure/);
  });

  it('serves each under its path with its own discovery, endpoints and JWKS', async () => {
    for (const path of ['/azure', '/google']) {
      const rp = await rpClient(at(path), 'demo-web');
      const meta = rp.serverMetadata();
      expect(meta.issuer).toBe(at(path));
      expect(meta.jwks_uri).toBe(at(`${path}/jwks`));
      expect(meta.token_endpoint).toBe(at(`${path}/token`));
      expect(meta.authorization_endpoint).toBe(at(`${path}/auth`));
      expect(meta.userinfo_endpoint).toBe(at(`${path}/me`));
      expect(meta.end_session_endpoint).toBe(at(`${path}/session/end`));
    }
    const root = (await rpClient(issuer.url, 'demo-web')).serverMetadata();
    expect(root.issuer).toBe(issuer.url);
    const kids = async (path: string) =>
      ((await (await fetch(at(`${path}/jwks`))).json()) as { keys: { kid: string; alg: string }[] })
        .keys;
    const [top, azure, google] = await Promise.all([kids(''), kids('/azure'), kids('/google')]);
    const all = [...top, ...azure, ...google].map((k) => k.kid);
    expect(new Set(all).size).toBe(all.length);
    expect(google.every((k) => k.alg === 'ES256')).toBe(true);
  });

  it('keeps each key ring to its issuer: a token of one does not verify with the other’s JWKS', async () => {
    const token = await serviceToken(at('/azure'));
    const azureKeys = createRemoteJWKSet(new URL(at('/azure/jwks')));
    const { payload } = await jwtVerify(token, azureKeys, { issuer: at('/azure'), audience: API });
    expect(payload.client_id).toBe('demo-service');
    await expect(
      jwtVerify(token, createRemoteJWKSet(new URL(`${issuer.url}/jwks`)), { audience: API }),
    ).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
    const rootToken = await serviceToken(issuer.url);
    expect(decodeProtectedHeader(rootToken).kid).not.toBe(decodeProtectedHeader(token).kid);
    await expect(jwtVerify(rootToken, azureKeys, { audience: API })).rejects.toMatchObject({
      code: 'ERR_JWKS_NO_MATCHING_KEY',
    });
  });

  it('signs in through each issuer’s own pages with openid-client', async () => {
    const browser = new Browser();
    const tokens = await rpSignIn(
      await rpClient(at('/google'), GOOGLE_WEB.id, GOOGLE_WEB.secret),
      browser,
      {
        username: 'gina',
        scope: 'openid email',
      },
    );
    expect(tokens.claims()).toMatchObject({
      iss: at('/google'),
      sub: 'gina',
      email: 'gina@example.com',
    });
    // gina is google's user only: the azure issuer (the demo's users) refuses her.
    const azure = await rpClient(at('/azure'), WEB.id, WEB.secret);
    const again = await rpSignIn(azure, new Browser(), { username: 'alice' });
    expect(again.claims()?.iss).toBe(at('/azure'));
  });

  it('keeps the sessions of two issuers in one browser apart (path-scoped cookies)', async () => {
    const browser = new Browser();
    await rpSignIn(await rpClient(issuer.url, WEB.id, WEB.secret), browser, { username: 'alice' });
    await rpSignIn(await rpClient(at('/azure'), WEB.id, WEB.secret), browser, { username: 'bob' });
    const azureCookies = browser.cookies.filter((c) => c.path.startsWith('/azure'));
    expect(azureCookies.length).toBeGreaterThan(0);
    expect(
      azureCookies.every((c) => c.name.endsWith('_azure') || c.name.endsWith('_azure.sig')),
    ).toBe(true);
    // Both sessions are still there: each issuer answers prompt=none with a code.
    expect((await silentCode(issuer.url, WEB, browser)).get('code')).toBeTruthy();
    expect((await silentCode(at('/azure'), WEB, browser)).get('code')).toBeTruthy();
    // The google issuer has no session in this browser.
    expect((await silentCode(at('/google'), GOOGLE_WEB, browser)).get('error')).toBe(
      'login_required',
    );
  });

  it('reports every issuer in /readyz', async () => {
    const res = await fetch(at('/readyz'));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { issuers: Record<string, string> };
    expect(body.issuers).toEqual({ '/azure': 'ready', '/google': 'ready' });
    expect((await fetch(at('/azure/readyz'))).status).toBe(200);
  });

  it('adds and removes issuers on a reload', async () => {
    const next = validateConfig(
      {
        ...demoConfig(),
        port: 0,
        host: '127.0.0.1',
        logLevel: 'silent',
        issuers: [
          { path: '/azure', extends: 'demo' },
          { path: '/okta', extends: 'demo' },
        ],
      },
      { demo: true },
    );
    const outcome = await issuer.reconfigure(next);
    expect(outcome.changed).toBe(true);
    expect([...issuer.hosted.keys()]).toEqual(['/azure', '/okta']);
    const okta = (await (await fetch(at('/okta/.well-known/openid-configuration'))).json()) as {
      issuer: string;
    };
    expect(okta.issuer).toBe(at('/okta'));
    expect((await fetch(at('/google/.well-known/openid-configuration'))).status).toBe(404);
    const body = (await (await fetch(at('/readyz'))).json()) as { issuers: Record<string, string> };
    expect(body.issuers).toEqual({ '/azure': 'ready', '/okta': 'ready' });
  });
});

describe('issuers: config errors name the field', () => {
  it('knows every first segment of the top-level issuer’s routes (ours and oidc-provider’s)', async () => {
    const ours = ownRoutes(issuer.app).map((r) => r.path);
    const doc = (await (await fetch(at('/.well-known/openid-configuration'))).json()) as Record<
      string,
      unknown
    >;
    const provider = Object.entries(doc)
      .filter(([k, v]) => (k.endsWith('_endpoint') || k === 'jwks_uri') && typeof v === 'string')
      .map(([, v]) => new URL(String(v)).pathname);
    expect(provider.length).toBeGreaterThan(5);
    for (const path of [...ours, ...provider, '/.well-known/openid-configuration']) {
      const first = path.split('/')[1] ?? '';
      if (first) expect(ROOT_ROUTE_SEGMENTS, path).toContain(first);
    }
  });

  const problems = (issuers: unknown[]) => {
    try {
      validateConfig({ issuers });
    } catch (err) {
      return (err as { problems: string[] }).problems;
    }
    return [];
  };
  it('refuses two issuers with the same path', () => {
    expect(problems([{ path: '/a' }, { path: 'a' }])).toEqual([
      'issuers[1].path: /a is the path of issuers[0] too',
    ]);
  });
  it('refuses a path that is not one clean segment', () => {
    for (const path of ['/a/b', '', '/', '..', '/a?b', '/%2F', 7]) {
      expect(problems([{ path }])).toEqual([
        expect.stringMatching(/^issuers\[0\]\.path: must be one clean path segment/),
      ]);
    }
  });
  it('refuses a path that shadows a top-level route', () => {
    for (const path of ['/token', '/jwks', '/.well-known', '/interaction', '/healthz', '/admin']) {
      expect(problems([{ path }])).toEqual([
        expect.stringMatching(/^issuers\[0\]\.path: \/\S+ would shadow the top-level issuer's \//),
      ]);
    }
  });
  it('names the field of a problem inside an entry, and what only the top level may set', () => {
    expect(problems([{ path: '/a', port: 4000 }])).toEqual([
      'issuers[0].port: set at the top level only (the process owns it)',
    ]);
    expect(problems([{ path: '/a', clients: [{ id: 'x', grantTypes: ['nope'] }] }])).toEqual([
      expect.stringMatching(/^issuers\[0\]\.clients\[0\]\.grantTypes/),
    ]);
  });
});
