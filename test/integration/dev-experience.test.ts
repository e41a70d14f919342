import { request } from 'node:http';
import { PassThrough } from 'node:stream';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningIssuer } from '../../src/issuer.js';
import { createLogger } from '../../src/log.js';
import { Browser } from '../support/browser.js';
import { basic as basicAuth, submitPassword, tokenRequest } from '../support/flows.js';
import { spawnIssuer, startTestIssuer, waitFor } from '../support/issuer.js';

const CALLBACK = 'http://localhost:3001/callback';
const API = 'http://localhost:4000/api';
let issuer: RunningIssuer;

beforeAll(async () => {
  issuer = await startTestIssuer({
    login: { userPicker: true, anyUser: true, headless: true },
    resourceServers: [
      { audience: API, scopes: ['api:read', 'api:write'] },
      { audience: 'urn:opaque-api', scopes: ['opaque:read'], format: 'opaque' },
    ],
    clients: [
      {
        id: 'demo-web',
        secret: 'demo-web-secret',
        redirectUris: [CALLBACK],
        postLogoutRedirectUris: ['http://localhost:3001/'],
        grantTypes: ['authorization_code', 'refresh_token', 'device_code'],
        scopes: ['openid', 'profile', 'email', 'groups', 'offline_access', 'api:read'],
        resources: [API],
      },
      {
        id: 'first-party',
        secret: 'first-party-secret',
        redirectUris: [CALLBACK],
        skipConsent: true,
        scopes: ['openid', 'profile', 'email', 'groups'],
      },
      {
        id: 'opaque-svc',
        secret: 'opaque-svc-secret',
        grantTypes: ['client_credentials'],
        scopes: ['opaque:read'],
        resources: ['urn:opaque-api'],
      },
    ],
  });
});
afterAll(async () => {
  await issuer?.close();
});

const discover = (clientId: string, secret: string) =>
  oidc.discovery(new URL(issuer.url), clientId, secret, undefined, {
    execute: [oidc.allowInsecureRequests],
  });

async function startAuthorization(clientId: string, params: Record<string, string> = {}) {
  const config = await discover(clientId, `${clientId}-secret`);
  const verifier = oidc.randomPKCECodeVerifier();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: CALLBACK,
    scope: 'openid profile email groups',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state: 'x',
    ...params,
  });
  return { config, verifier, url: url.toString() };
}

describe('login page modes', () => {
  it('lists the test users and signs one in with a single click', async () => {
    const { config, verifier, url } = await startAuthorization('first-party');
    const browser = new Browser();
    const login = await browser.follow(url, {}, CALLBACK);
    expect(login.body).toContain('data-user="alice"');
    expect(login.body).toContain('data-user="bob"');
    // first-party skips consent: the pick lands straight on the callback.
    const done = await browser.submit(login, /\/login$/, { action: 'pick' }, CALLBACK, 1);
    expect(done.status).toBe(0);
    const tokens = await oidc.authorizationCodeGrant(config, new URL(done.url), {
      pkceCodeVerifier: verifier,
      expectedState: 'x',
    });
    expect(tokens.claims()?.sub).toBe('bob');
  });

  it('signs in any username with claims typed on the page, visible in tokens and userinfo', async () => {
    const { config, verifier, url } = await startAuthorization('first-party');
    const browser = new Browser();
    const login = await browser.follow(url, {}, CALLBACK);
    const done = await browser.submit(
      login,
      /\/login$/,
      { username: 'carol', password: '', claims: '{"email":"carol@example.test","groups":["qa"]}' },
      CALLBACK,
      -1,
    );
    expect(done.status).toBe(0);
    const tokens = await oidc.authorizationCodeGrant(config, new URL(done.url), {
      pkceCodeVerifier: verifier,
      expectedState: 'x',
    });
    const idClaims = decodeJwt(tokens.id_token!);
    expect(idClaims).toMatchObject({
      sub: 'carol',
      email: 'carol@example.test',
      groups: ['qa'],
      preferred_username: 'carol',
    });
    expect(await oidc.fetchUserInfo(config, tokens.access_token, 'carol')).toMatchObject({
      email: 'carol@example.test',
    });
  });

  it('puts claims no scope releases into the access token, not the ID token', async () => {
    const { config, verifier, url } = await startAuthorization('demo-web', {
      scope: 'openid email api:read',
      resource: API,
    });
    const browser = new Browser();
    const login = await browser.follow(url, {}, CALLBACK);
    const consent = await browser.submit(
      login,
      /\/login$/,
      {
        username: 'dana',
        claims: '{"email":"dana@example.test","roles":["tester"],"iss":"forged"}',
      },
      CALLBACK,
      -1,
    );
    const done = await browser.submit(consent, /\/confirm$/, {}, CALLBACK);
    const tokens = await oidc.authorizationCodeGrant(config, new URL(done.url), {
      pkceCodeVerifier: verifier,
      expectedState: 'x',
    });
    const { payload } = await jwtVerify(
      tokens.access_token,
      createRemoteJWKSet(new URL(`${issuer.url}/jwks`)),
      {
        issuer: issuer.url,
        audience: API,
      },
    );
    expect(payload).toMatchObject({ sub: 'dana', roles: ['tester'], iss: issuer.url });
    expect(payload.email).toBeUndefined();
    const idClaims = decodeJwt(tokens.id_token!);
    expect(idClaims.email).toBe('dana@example.test');
    expect(idClaims.roles).toBeUndefined();
  });

  it('refuses a configured user with a wrong password, and claims that are not a JSON object', async () => {
    const { url } = await startAuthorization('first-party');
    const browser = new Browser();
    const login = await browser.follow(url, {}, CALLBACK);
    const wrong = await browser.submit(
      login,
      /\/login$/,
      { username: 'alice', password: 'nope' },
      CALLBACK,
      -1,
    );
    expect(wrong.status).toBe(401);
    // Any-user mode accepts unknown names, so the message says what was wrong: the password.
    expect(wrong.body).toContain(
      'Wrong password for alice, a configured test user. Any other username signs in without a password.',
    );
    expect(wrong.body).not.toContain('Unknown username');
    const badClaims = await browser.submit(
      login,
      /\/login$/,
      { username: 'dave', claims: '[1,2]' },
      CALLBACK,
      -1,
    );
    expect(badClaims.status).toBe(400);
    expect(badClaims.body).toContain('must be a JSON object');
    // The claims typed come back in the textarea, escaped, to be fixed rather than retyped.
    const typo = '{"email": "dave@example.test", "groups": ["a"],}';
    const kept = await browser.submit(
      login,
      /\/login$/,
      { username: 'dave', claims: typo },
      CALLBACK,
      -1,
    );
    expect(kept.status).toBe(400);
    expect(kept.body).toContain(
      '>{&quot;email&quot;: &quot;dave@example.test&quot;, &quot;groups&quot;: [&quot;a&quot;],}</textarea>',
    );
  });

  it('logs in headlessly with login_hint when enabled', async () => {
    const { config, verifier, url } = await startAuthorization('first-party', {
      login_hint: 'alice',
    });
    const done = await new Browser().follow(url, {}, CALLBACK);
    expect(done.status).toBe(0);
    const tokens = await oidc.authorizationCodeGrant(config, new URL(done.url), {
      pkceCodeVerifier: verifier,
      expectedState: 'x',
    });
    expect(tokens.claims()?.sub).toBe('alice');
  });

  it('headless login_hint also grants a pending consent: no page for a client without skipConsent', async () => {
    const { config, verifier, url } = await startAuthorization('demo-web', {
      login_hint: 'alice',
      scope: 'openid profile email',
    });
    const done = await new Browser().follow(url, {}, CALLBACK);
    expect(done.status, done.body).toBe(0);
    const tokens = await oidc.authorizationCodeGrant(config, new URL(done.url), {
      pkceCodeVerifier: verifier,
      expectedState: 'x',
    });
    // The ID token carries what each granted scope releases (the access token is the client's
    // default API's JWT, so the token response's scope lists that API's scopes, not these).
    expect(tokens.claims()).toMatchObject({ sub: 'alice', email: 'alice@example.com' });
    expect(tokens.claims()?.name).toEqual(expect.any(String));

    // Without login_hint the same client still meets the consent page.
    const browser = new Browser();
    const login = await browser.follow((await startAuthorization('demo-web')).url, {}, CALLBACK);
    const consent = await submitPassword(browser, login, 'alice', CALLBACK);
    expect(consent.body).toContain('Allow access?');
  });

  it('sends access_denied back to the client when the user aborts at consent', async () => {
    const { url } = await startAuthorization('demo-web');
    const browser = new Browser();
    const login = await browser.follow(url, {}, CALLBACK);
    const consent = await submitPassword(browser, login, 'alice', CALLBACK);
    const denied = await browser.submit(consent, /\/abort$/, {}, CALLBACK);
    expect(denied.status).toBe(0);
    expect(new URL(denied.url).searchParams.get('error')).toBe('access_denied');
  });
});

describe('grants and formats', () => {
  it('runs the device authorization grant through the verification page', async () => {
    const basic = `Basic ${Buffer.from('demo-web:demo-web-secret').toString('base64')}`;
    const start = await fetch(`${issuer.url}/device/auth`, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'scope=openid%20email',
    });
    expect(start.status).toBe(200);
    const device = (await start.json()) as {
      device_code: string;
      user_code: string;
      verification_uri: string;
    };
    const poll = () =>
      tokenRequest(
        issuer.url,
        {
          grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
          device_code: device.device_code,
        },
        basic,
      );
    expect((await poll()).body.error).toBe('authorization_pending');

    const browser = new Browser();
    const input = await browser.request(device.verification_uri);
    expect(input.status).toBe(200);
    const confirm = await browser.submit(input, /\/device$/, { user_code: device.user_code });
    expect(confirm.status, confirm.body).toBe(200);
    const login = await browser.submit(confirm, /\/device$/, {});
    const consent = await submitPassword(browser, login, 'bob');
    const success = await browser.submit(consent, /\/confirm$/, {});
    expect(success.status).toBe(200);
    expect(success.body).toContain('Your device is signed in');

    const tokens = await poll();
    expect(tokens.status).toBe(200);
    expect(decodeJwt(tokens.body.id_token as string).sub).toBe('bob');
  });

  it('issues opaque access tokens for a resource server that asks for them, introspectable', async () => {
    const auth = basicAuth('opaque-svc', 'opaque-svc-secret');
    const res = await tokenRequest(
      issuer.url,
      { grant_type: 'client_credentials', scope: 'opaque:read' },
      auth,
    );
    expect(res.status).toBe(200);
    const token = res.body.access_token as string;
    expect(token.split('.')).toHaveLength(1);
    const introspection = await fetch(`${issuer.url}/token/introspection`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }),
    });
    expect(await introspection.json()).toMatchObject({
      active: true,
      client_id: 'opaque-svc',
      aud: 'urn:opaque-api',
    });
  });

  it('refuses a resource the client is not allowed', async () => {
    const res = await tokenRequest(
      issuer.url,
      { grant_type: 'client_credentials', resource: API },
      basicAuth('opaque-svc', 'opaque-svc-secret'),
    );
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_target');
  });
});

describe('the home page', () => {
  it('shows the endpoints, demo users and clients, a sign-in link and a token command', async () => {
    const res = await fetch(`${issuer.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    const html = await res.text();
    expect(html).toContain(`${issuer.url}/.well-known/openid-configuration`);
    expect(html).toContain('first-party-secret');
    // With the console on (a loopback bind), "Sign in" opens the debugger, not a dead redirect URI.
    expect(html).toMatch(/<a href="\/debugger">Sign in<\/a>/);
    const page = await fetch(`${issuer.url}/debugger`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Sign in');
  });

  it('shows no client secret outside the demo config', async () => {
    const own = await startTestIssuer(
      {
        clients: [
          {
            id: 'svc',
            secret: 'a-real-secret',
            grantTypes: ['client_credentials'],
            scopes: ['openid'],
          },
        ],
      },
      false,
    );
    try {
      const html = await (await fetch(`${own.url}/`)).text();
      expect(html).toContain('svc');
      expect(html).not.toContain('a-real-secret');
      expect(html).toContain('&lt;secret&gt;');
    } finally {
      await own.close();
    }
  });
});

describe('observability', () => {
  it('exposes Prometheus metrics for requests, tokens, logins, keys and the JWKS', async () => {
    await tokenRequest(
      issuer.url,
      { grant_type: 'client_credentials', scope: 'opaque:read' },
      basicAuth('opaque-svc', 'opaque-svc-secret'),
    );
    await fetch(`${issuer.url}/jwks`);
    const res = await fetch(`${issuer.url}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(
      /oidc_issuer_tokens_issued_total\{issuer="\/",grant_type="client_credentials"\} [1-9]/,
    );
    expect(text).toMatch(
      /oidc_issuer_http_requests_total\{issuer="\/",endpoint="token",method="POST",status="200"\} [1-9]/,
    );
    expect(text).toMatch(/oidc_issuer_jwks_requests_total\{issuer="\/",status="200"\} [1-9]/);
    expect(text).toMatch(
      /oidc_issuer_logins_total\{issuer="\/",method="(pick|password|any-user|headless)"\} [1-9]/,
    );
    expect(text).toMatch(
      /oidc_issuer_signing_key_age_seconds\{issuer="\/",kid="[^"]+",alg="RS256",state="active"\}/,
    );
    expect(text).toMatch(/oidc_issuer_key_next_transition_seconds\{issuer="\/"\} \d/);
  });

  it('renders the latency histogram cumulatively, with the process metrics, as Prometheus text', async () => {
    for (let i = 0; i < 3; i++) await fetch(`${issuer.url}/healthz`);
    const res = await fetch(`${issuer.url}/metrics`);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    expect(text).toContain('# TYPE oidc_issuer_http_request_duration_seconds histogram');
    const series = '{issuer="/",endpoint="healthz"';
    const buckets = [
      ...text.matchAll(/^oidc_issuer_http_request_duration_seconds_bucket(\{[^}]*\}) (\d+)$/gm),
    ]
      .filter((m) => m[1]?.startsWith(series))
      .map((m) => ({ le: /le="([^"]+)"/.exec(m[1] ?? '')?.[1], count: Number(m[2]) }));
    expect(buckets.map((b) => b.le)).toEqual([
      '0.001',
      '0.0025',
      '0.005',
      '0.01',
      '0.025',
      '0.05',
      '0.1',
      '0.25',
      '0.5',
      '1',
      '2.5',
      '+Inf',
    ]);
    const counts = buckets.map((b) => b.count);
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    const count = Number(
      new RegExp(
        `^oidc_issuer_http_request_duration_seconds_count${series.replace(/[{}]/g, '\\$&')}\\} (\\d+)$`,
        'm',
      ).exec(text)?.[1],
    );
    expect(count).toBeGreaterThanOrEqual(3);
    expect(counts.at(-1)).toBe(count);
    expect(text).toMatch(
      /^oidc_issuer_http_request_duration_seconds_sum\{issuer="\/",endpoint="healthz"\} [0-9.e-]+$/m,
    );
    // Collected from the first read on: the process's own CPU, memory and event loop.
    expect(text).toMatch(/^oidc_issuer_process_cpu_user_seconds_total [0-9.e-]+$/m);
    expect(text).toMatch(/^oidc_issuer_process_resident_memory_bytes \d+$/m);
    expect(text).toContain('# TYPE oidc_issuer_nodejs_eventloop_lag_seconds gauge');
  });

  it('answers with a request id, echoing a well-formed one', async () => {
    const own = await fetch(`${issuer.url}/healthz`, { headers: { 'x-request-id': 'trace-123' } });
    expect(own.headers.get('x-request-id')).toBe('trace-123');
    const minted = await fetch(`${issuer.url}/healthz`, {
      headers: { 'x-request-id': 'bad id\twith spaces' },
    });
    expect(minted.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('gives every answer its request id, and logs it with the status: provider, JWKS, refusals', async () => {
    const lines: { msg?: string; reqId?: string; path?: string; status?: number }[] = [];
    const sink = new PassThrough();
    sink.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line));
    });
    const own = await startTestIssuer({}, true, createLogger('info', sink));
    try {
      const token = await fetch(`${own.url}/token`, {
        method: 'POST',
        headers: {
          authorization: basicAuth('demo-service', 'demo-service-secret'),
          'content-type': 'application/x-www-form-urlencoded',
          'x-request-id': 'trace-token',
        },
        body: 'grant_type=client_credentials&scope=api:read',
      });
      expect(token.status).toBe(200);
      expect(token.headers.get('x-request-id')).toBe('trace-token');
      const jwks = await fetch(`${own.url}/jwks`, { headers: { 'x-request-id': 'trace-jwks' } });
      expect(jwks.headers.get('x-request-id')).toBe('trace-jwks');
      const refused = await new Promise<{ status?: number; id: unknown }>((resolve, reject) => {
        const req = request(
          `${own.url}/token`,
          { method: 'POST', headers: { host: 'evil.example', 'x-request-id': 'trace-host' } },
          (res) => {
            res.resume();
            resolve({ status: res.statusCode, id: res.headers['x-request-id'] });
          },
        );
        req.on('error', reject);
        req.end();
      });
      expect(refused).toEqual({ status: 400, id: 'trace-host' });
      const logged = (reqId: string) => lines.find((l) => l.msg === 'request' && l.reqId === reqId);
      await waitFor(async () => logged('trace-host') !== undefined, 2000, 'the access log lines');
      expect(logged('trace-token')).toMatchObject({ path: '/token', status: 200 });
      expect(logged('trace-jwks')).toMatchObject({ path: '/jwks', status: 200 });
      expect(logged('trace-host')).toMatchObject({ path: '/token', status: 400 });
    } finally {
      await own.close();
    }
  });
});

describe('the process', () => {
  it('stops cleanly, leaving no handles behind', async () => {
    const before = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').length;
    const extra = await startTestIssuer();
    await fetch(`${extra.url}/.well-known/openid-configuration`);
    await extra.close();
    await new Promise((r) => setTimeout(r, 50));
    const after = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').length;
    expect(after).toBeLessThanOrEqual(before);
  });

  it('prints the issuer, discovery URL and demo credentials, and warns on a non-loopback address', async () => {
    const child = await spawnIssuer({ HOST: '0.0.0.0' });
    try {
      await waitFor(
        async () => child.output().includes('NON-LOOPBACK'),
        5000,
        'the start-up banner and warning',
      );
      const out = child.output();
      expect(out).toContain(`discovery   ${child.url}/.well-known/openid-configuration`);
      expect(out).toContain('demo-service-secret');
      expect(out).toContain('DEMO CREDENTIALS ARE BEING SERVED ON A NON-LOOPBACK ADDRESS');
      const jwks = createRemoteJWKSet(new URL(`${child.url}/jwks`));
      const res = await fetch(`${child.url}/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from('demo-service:demo-service-secret').toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: 'grant_type=client_credentials',
      });
      const { access_token: token } = (await res.json()) as { access_token: string };
      await jwtVerify(token, jwks, { issuer: child.url, audience: API });
    } finally {
      await child.stop();
    }
    const quiet = await spawnIssuer({ HOST: '127.0.0.1' });
    try {
      await waitFor(async () => quiet.output().includes('discovery'), 5000, 'the start-up banner');
      expect(quiet.output()).not.toContain('NON-LOOPBACK');
    } finally {
      await quiet.stop();
    }
  });
});
