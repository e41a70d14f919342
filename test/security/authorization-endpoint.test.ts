/**
 * Security checklist, authorization endpoint (items 1–11): each test sends the bad request and
 * asserts the documented answer — an error page and no redirect where the redirect target is
 * not trusted, an OAuth error on the redirect where it is, and no session where none may exist.
 */
import { generateKeyPair, SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningIssuer } from '../../src/issuer.js';
import {
  authUrl,
  Browser,
  callbackParams,
  pkcePair,
  promptNone,
  redeem,
  signIn,
  untilConsent,
  WEB_CALLBACK,
  webAuthParams,
} from '../support/flows.js';
import { startTestIssuer } from '../support/issuer.js';

let issuer: RunningIssuer;
let url: string;

beforeAll(async () => {
  issuer = await startTestIssuer();
  url = issuer.url;
});
afterAll(async () => {
  await issuer?.close();
});

/** Asserts an HTML error page that redirects nowhere. */
function expectErrorPage(page: { status: number; headers: Headers; body: string }, text: RegExp) {
  expect(page.status, page.body).toBeGreaterThanOrEqual(400);
  expect(page.status).toBeLessThan(500);
  expect(page.headers.get('location')).toBeNull();
  expect(page.headers.get('content-type')).toMatch(/text\/html/);
  expect(page.body).toMatch(text);
}

const idTokenFor = async (username: string) => {
  const browser = new Browser();
  const { code, verifier } = await signIn(url, browser, { username });
  const tokens = await redeem(url, code, verifier);
  expect(tokens.status).toBe(200);
  return { idToken: String(tokens.body.id_token), browser };
};

describe('1. redirect_uri that is not exactly a registered one → error page, no redirect', () => {
  const variants: [string, string][] = [
    ['unregistered', 'http://evil.example/callback'],
    ['query added', `${WEB_CALLBACK}?next=http://evil.example`],
    ['trailing slash', `${WEB_CALLBACK}/`],
    ['path case changed', 'http://localhost:3001/Callback'],
    ['host case changed', 'http://LOCALHOST:3001/callback'],
    ['scheme changed', 'https://localhost:3001/callback'],
    ['port changed', 'http://localhost:3002/callback'],
    ['fragment added', `${WEB_CALLBACK}#x`],
    ['userinfo added', 'http://evil.example@localhost:3001/callback'],
    ['path traversal', 'http://localhost:3001/callback/../evil'],
  ];
  it.each(variants)('%s', async (_label, redirectUri) => {
    const { challenge } = pkcePair();
    const page = await new Browser().request(
      authUrl(url, webAuthParams(challenge, { redirect_uri: redirectUri })),
    );
    expectErrorPage(page, /redirect_uri/);
    expect(page.body).not.toContain('evil.example/callback"');
  });

  it('a registered URI with a query changed (client registered with a query)', async () => {
    const withQuery = await startTestIssuer({
      clients: [
        {
          id: 'q-client',
          secret: 'q-client-secret',
          redirectUris: ['http://localhost:3001/callback?tenant=a'],
          scopes: ['openid'],
        },
      ],
    });
    try {
      const { challenge } = pkcePair();
      const page = await new Browser().request(
        authUrl(
          withQuery.url,
          webAuthParams(challenge, {
            client_id: 'q-client',
            scope: 'openid',
            redirect_uri: 'http://localhost:3001/callback?tenant=b',
          }),
        ),
      );
      expectErrorPage(page, /redirect_uri/);
    } finally {
      await withQuery.close();
    }
  });
});

describe('2–3. missing redirect_uri, unknown client', () => {
  it('2. redirect_uri missing while the client has two registered → error page', async () => {
    const { challenge } = pkcePair();
    const page = await new Browser().request(
      authUrl(url, webAuthParams(challenge, { redirect_uri: undefined })),
    );
    expectErrorPage(page, /redirect_uri/);
  });

  it('3. unknown client_id → error page, no redirect', async () => {
    const { challenge } = pkcePair();
    const page = await new Browser().request(
      authUrl(url, webAuthParams(challenge, { client_id: 'no-such-client' })),
    );
    expectErrorPage(page, /client/);
  });
});

describe('4. bad scope with a valid redirect_uri → redirect with invalid_scope, state, iss', () => {
  // A scope the issuer knows but this client may not ask for, and malformed scope strings.
  it.each([
    ['openid api:write'],
    ['openid offline_access api:write profile'],
    ['openid "profile"'],
    ['openid pröfile'],
  ])('scope=%s', async (scope) => {
    const { challenge } = pkcePair();
    const params = webAuthParams(challenge, { scope });
    const page = await new Browser().follow(authUrl(url, params), {}, WEB_CALLBACK);
    const got = callbackParams(page);
    expect(got.get('error')).toBe('invalid_scope');
    expect(got.get('state')).toBe(params.state);
    expect(got.get('iss')).toBe(url);
    expect(got.get('code')).toBeNull();
  });

  it('the redirect is a 303 straight from /auth', async () => {
    const { challenge } = pkcePair();
    const page = await new Browser().request(
      authUrl(url, webAuthParams(challenge, { scope: 'openid api:write' })),
    );
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toMatch(/^http:\/\/localhost:3001\/callback\?/);
  });
});

describe('4b. a scope value nobody declared is ignored (OIDC Core 3.1.2.1), never granted', () => {
  it('scope=openid admin:everything → tokens without admin:everything', async () => {
    const browser = new Browser();
    const { code, verifier } = await signIn(url, browser, {
      params: { scope: 'openid admin:everything' },
    });
    const tokens = await redeem(url, code, verifier);
    expect(tokens.status).toBe(200);
    expect(String(tokens.body.scope).split(' ')).not.toContain('admin:everything');
  });
});

describe('5. prompt=none', () => {
  it('without a session → login_required', async () => {
    const got = await promptNone(url, new Browser());
    expect(got.get('error')).toBe('login_required');
    expect(got.get('code')).toBeNull();
  });

  it('with a session but no consent for the client → consent_required', async () => {
    const browser = new Browser();
    const { consent } = await untilConsent(url, browser);
    expect(consent.body).toContain('Allow access');
    // Walk away from the consent page; the session exists, the grant does not.
    const got = await promptNone(url, browser);
    expect(got.get('error')).toBe('consent_required');
    expect(got.get('code')).toBeNull();
  });
});

describe('6. id_token_hint that does not match → error, never silent success', () => {
  it('a hint for another user with prompt=none → login_required', async () => {
    const { idToken: bobHint } = await idTokenFor('bob');
    const { browser } = await idTokenFor('alice');
    const got = await promptNone(url, browser, { id_token_hint: bobHint });
    expect(got.get('code')).toBeNull();
    expect(got.get('error')).toBe('login_required');
  });

  it('a hint for another user without prompt=none → the login page, not a code', async () => {
    const { idToken: bobHint } = await idTokenFor('bob');
    const { browser } = await idTokenFor('alice');
    const { challenge } = pkcePair();
    const page = await browser.follow(
      authUrl(url, webAuthParams(challenge, { id_token_hint: bobHint })),
      {},
      WEB_CALLBACK,
    );
    expect(page.status).toBe(200);
    expect(page.body).toContain('Sign in');
  });

  it('an unsigned (alg none) hint → invalid_request', async () => {
    const { browser } = await idTokenFor('alice');
    const unsigned = new UnsecuredJWT({ sub: 'alice', aud: 'demo-web' })
      .setIssuer(url)
      .setIssuedAt()
      .setExpirationTime('1h')
      .encode();
    const got = await promptNone(url, browser, { id_token_hint: unsigned });
    expect(got.get('code')).toBeNull();
    expect(got.get('error')).toBe('invalid_request');
  });

  it('a hint signed by a foreign key that claims a published kid → invalid_request', async () => {
    const { idToken, browser } = await idTokenFor('alice');
    const kid = JSON.parse(Buffer.from(idToken.split('.')[0]!, 'base64url').toString()).kid;
    const { privateKey } = await generateKeyPair('RS256');
    const forged = await new SignJWT({ sub: 'alice', aud: 'demo-web' })
      .setProtectedHeader({ alg: 'RS256', kid })
      .setIssuer(url)
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(privateKey);
    const got = await promptNone(url, browser, { id_token_hint: forged });
    expect(got.get('code')).toBeNull();
    expect(got.get('error')).toBe('invalid_request');
  });

  it('a foreign-key hint on end_session → error page, the session is kept', async () => {
    const { idToken, browser } = await idTokenFor('alice');
    const kid = JSON.parse(Buffer.from(idToken.split('.')[0]!, 'base64url').toString()).kid;
    const { privateKey } = await generateKeyPair('RS256');
    const forged = await new SignJWT({ sub: 'alice', aud: 'demo-web' })
      .setProtectedHeader({ alg: 'RS256', kid })
      .setIssuer(url)
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(privateKey);
    const page = await browser.request(
      `${url}/session/end?id_token_hint=${forged}&post_logout_redirect_uri=${encodeURIComponent('http://localhost:3001/')}`,
    );
    expectErrorPage(page, /id_token_hint/);
    expect((await promptNone(url, browser)).get('code')).toBeTruthy();
  });
});

describe('7. max_age', () => {
  it('max_age=1 two seconds after login → login page again, then a newer auth_time', async () => {
    const browser = new Browser();
    const first = await signIn(url, browser, { params: { scope: 'openid', max_age: '60' } });
    const firstTokens = await redeem(url, first.code, first.verifier);
    const firstAuthTime = claimsOf(String(firstTokens.body.id_token)).auth_time as number;
    await new Promise((r) => setTimeout(r, 2100));
    const { challenge } = pkcePair();
    const page = await browser.follow(
      authUrl(url, webAuthParams(challenge, { max_age: '1', scope: 'openid' })),
      {},
      WEB_CALLBACK,
    );
    expect(page.status).toBe(200);
    expect(page.body).toContain('Sign in');
    const second = await signIn(url, browser, { params: { max_age: '1', scope: 'openid' } });
    const tokens = await redeem(url, second.code, second.verifier);
    expect(claimsOf(String(tokens.body.id_token)).auth_time).toBeGreaterThan(firstAuthTime);
  });
});

describe('8. PKCE at the authorization endpoint → invalid_request', () => {
  const valid43 = 'a'.repeat(43);
  const cases: [string, Record<string, string | undefined>][] = [
    ['method plain', { code_challenge: valid43, code_challenge_method: 'plain' }],
    ['challenge of 42 chars', { code_challenge: 'a'.repeat(42) }],
    ['challenge of 129 chars', { code_challenge: 'a'.repeat(129) }],
    ['challenge with a bad charset', { code_challenge: `${'a'.repeat(42)}+` }],
    ['no challenge (confidential client: PKCE is required for all)', { code_challenge: undefined }],
    ['unknown method', { code_challenge: valid43, code_challenge_method: 'S512' }],
  ];
  it.each(cases)('%s', async (_label, extra) => {
    const params = webAuthParams('x'.repeat(43), extra);
    const page = await new Browser().follow(authUrl(url, params), {}, WEB_CALLBACK);
    const got = callbackParams(page);
    expect(got.get('error')).toBe('invalid_request');
    expect(got.get('state')).toBe(params.state);
  });

  it('public client with no challenge', async () => {
    const page = await new Browser().follow(
      authUrl(url, {
        client_id: 'demo-spa',
        response_type: 'code',
        redirect_uri: 'http://localhost:5173/callback',
        scope: 'openid',
        state: 's1',
      }),
      {},
      'http://localhost:5173/callback',
    );
    const got = callbackParams(page);
    expect(got.get('error')).toBe('invalid_request');
    expect(got.get('error_description')).toMatch(/PKCE/);
  });
});

describe('9. interaction pages cannot be framed', () => {
  it('login page, interaction error page and provider error page', async () => {
    const browser = new Browser();
    const { challenge } = pkcePair();
    const login = await browser.follow(authUrl(url, webAuthParams(challenge)), {}, WEB_CALLBACK);
    const uid = /\/interaction\/([^/"]+)\/login/.exec(login.body)?.[1];
    const interactionError = await new Browser().request(`${url}/interaction/${uid}`);
    const providerError = await new Browser().request(
      authUrl(url, webAuthParams(challenge, { client_id: 'nope' })),
    );
    for (const page of [login, interactionError, providerError]) {
      expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      expect(page.headers.get('x-frame-options')).toBe('DENY');
    }
    expect(interactionError.status).toBeGreaterThanOrEqual(400);
  });
});

describe('10. login POST without the interaction cookie, or for another uid', () => {
  async function loginPage(browser: Browser) {
    const { challenge } = pkcePair();
    const page = await browser.follow(authUrl(url, webAuthParams(challenge)), {}, WEB_CALLBACK);
    expect(page.body).toContain('Sign in');
    const uid = /\/interaction\/([^/"]+)\/login/.exec(page.body)?.[1];
    const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)?.[1];
    return { page, uid: uid!, csrf: csrf! };
  }
  const post = (browser: Browser, path: string, fields: Record<string, string>) =>
    browser.request(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields),
    });

  it('without the cookie → error page, nobody is logged in', async () => {
    const owner = new Browser();
    const { uid, csrf } = await loginPage(owner);
    const stranger = new Browser();
    const res = await post(stranger, `/interaction/${uid}/login`, {
      csrf,
      username: 'alice',
      password: 'alice',
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.headers.get('location')).toBeNull();
    expect((await promptNone(url, stranger)).get('error')).toBe('login_required');
    expect((await promptNone(url, owner)).get('error')).toBe('login_required');
  });

  it("for another uid (the browser's own interaction cookie, someone else's uid) → error", async () => {
    const victim = await loginPage(new Browser());
    const attacker = new Browser();
    const own = await loginPage(attacker);
    for (const csrf of [own.csrf, victim.csrf]) {
      const res = await post(attacker, `/interaction/${victim.uid}/login`, {
        csrf,
        username: 'alice',
        password: 'alice',
      });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(res.headers.get('location')).toBeNull();
    }
    expect((await promptNone(url, attacker)).get('error')).toBe('login_required');
  });

  it('without or with a wrong csrf field → 403, nothing logged in', async () => {
    const browser = new Browser();
    const { uid } = await loginPage(browser);
    for (const fields of [{}, { csrf: 'x'.repeat(43) }, { csrf: '' }] as Record<string, string>[]) {
      const res = await post(browser, `/interaction/${uid}/login`, {
        ...fields,
        username: 'alice',
        password: 'alice',
      });
      expect(res.status).toBe(403);
    }
    for (const path of ['confirm', 'abort']) {
      const res = await post(browser, `/interaction/${uid}/${path}`, { csrf: 'nope' });
      expect(res.status).toBe(403);
    }
    expect((await promptNone(url, browser)).get('error')).toBe('login_required');
  });
});

describe('11. logout confirmation needs the xsrf value', () => {
  it('missing or wrong xsrf → error, the session is kept', async () => {
    const { idToken, browser } = await idTokenFor('alice');
    const confirm = await browser.follow(
      `${url}/session/end?id_token_hint=${idToken}&post_logout_redirect_uri=${encodeURIComponent('http://localhost:3001/')}`,
    );
    expect(confirm.status).toBe(200);
    expect(confirm.body).toContain('name="xsrf"');
    for (const xsrf of [undefined, 'wrong', '']) {
      const body = new URLSearchParams({ logout: 'yes' });
      if (xsrf !== undefined) body.set('xsrf', xsrf);
      const res = await browser.request(`${url}/session/end/confirm`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(res.headers.get('location')).toBeNull();
    }
    expect((await promptNone(url, browser)).get('code')).toBeTruthy();
  });
});

function claimsOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString());
}
