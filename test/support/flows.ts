/**
 * Flow helpers the tests share: building authorization URLs by hand (so a test can send exactly
 * the bad parameter it is about), signing in through the real pages, redeeming codes and calling
 * the token endpoint with raw fetch — and the same as a relying party runs it, with
 * openid-client from discovery.
 */
import { createHash, randomBytes } from 'node:crypto';
import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';
import { expect } from 'vitest';
import { Browser, type Page } from './browser.js';

export const WEB = { id: 'demo-web', secret: 'demo-web-secret' } as const;
export const WEB_CALLBACK = 'http://localhost:3001/callback';
export const SPA_CALLBACK = 'http://localhost:5173/callback';

export const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

/** `${issuer}/auth?…` with the given parameters (undefined values are left out). */
export function authUrl(issuer: string, params: Record<string, string | undefined>): string {
  const url = new URL('/auth', issuer);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v);
  return url.toString();
}

/** A complete, valid authorization request for demo-web; override any parameter. */
export function webAuthParams(
  challenge: string,
  extra: Record<string, string | undefined> = {},
): Record<string, string | undefined> {
  return {
    client_id: WEB.id,
    response_type: 'code',
    redirect_uri: WEB_CALLBACK,
    scope: 'openid profile',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: randomBytes(8).toString('hex'),
    nonce: randomBytes(8).toString('hex'),
    ...extra,
  };
}

/** The parameters the RP got back on its redirect URI (status 0 = stopped at the callback). */
export function callbackParams(page: Page): URLSearchParams {
  expect(page.status, `expected a redirect to the client, got ${page.status}: ${page.body}`).toBe(
    0,
  );
  return new URL(page.url).searchParams;
}

/** Posts the login page's username/password form (its last login form) with `fields`. */
export function submitLogin(
  browser: Browser,
  login: Page,
  fields: Record<string, string>,
  callback = WEB_CALLBACK,
): Promise<Page> {
  return browser.submit(login, /\/login$/, fields, callback, -1);
}

/** Posts the login page's password form as `username` (password = username, like the demo users). */
export function submitPassword(
  browser: Browser,
  login: Page,
  username = 'alice',
  callback = WEB_CALLBACK,
): Promise<Page> {
  return submitLogin(browser, login, { username, password: username }, callback);
}

/**
 * Follows a fresh demo-web authorization request with `extra` parameters: the page it ends on
 * (the login page, or the callback with status 0) and the request's PKCE verifier.
 */
export async function authorizeWeb(
  issuer: string,
  browser: Browser,
  extra: Record<string, string> = {},
): Promise<{ page: Page; verifier: string }> {
  const { verifier, challenge } = pkcePair();
  const page = await browser.follow(
    authUrl(issuer, webAuthParams(challenge, extra)),
    {},
    WEB_CALLBACK,
  );
  return { page, verifier };
}

/** After a login: consents when asked, redeems the code as demo-web, returns the ID token's sub. */
export async function subjectAfterLogin(
  issuer: string,
  browser: Browser,
  page: Page,
  verifier: string,
): Promise<string> {
  let at = page;
  if (at.status === 200 && at.body.includes('Allow access')) {
    at = await browser.submit(at, /\/confirm$/, {}, WEB_CALLBACK);
  }
  const tokens = await redeem(issuer, callbackParams(at).get('code') ?? '', verifier);
  expect(tokens.status, JSON.stringify(tokens.body)).toBe(200);
  return String(decodeJwt(String(tokens.body.id_token)).sub);
}

/** A valid demo-web authorization request, signed in as `username`, stopped at the consent page. */
export async function untilConsent(
  issuer: string,
  browser: Browser,
  username = 'alice',
): Promise<{ login: Page; consent: Page }> {
  const { challenge } = pkcePair();
  const login = await browser.follow(authUrl(issuer, webAuthParams(challenge)), {}, WEB_CALLBACK);
  return { login, consent: await submitPassword(browser, login, username) };
}

/**
 * Signs `username` in through the login and consent pages and returns the code the RP
 * receives, with its verifier. Leaves the session in `browser`.
 */
export async function signIn(
  issuer: string,
  browser: Browser,
  options: {
    username?: string;
    params?: Record<string, string | undefined>;
    callback?: string;
  } = {},
): Promise<{ code: string; verifier: string; state: string; redirectUri: string }> {
  const { verifier, challenge } = pkcePair();
  const params = webAuthParams(challenge, options.params);
  const callback = options.callback ?? String(params.redirect_uri);
  const username = options.username ?? 'alice';
  let page = await browser.follow(authUrl(issuer, params), {}, callback);
  if (page.status === 200 && page.body.includes('Sign in')) {
    page = await submitPassword(browser, page, username, callback);
  }
  if (page.status === 200 && page.body.includes('Allow access')) {
    page = await browser.submit(page, /\/confirm$/, {}, callback);
  }
  const got = callbackParams(page);
  const code = got.get('code');
  expect(code, `no code in ${page.url}`).toBeTruthy();
  return {
    code: code!,
    verifier,
    state: String(params.state),
    redirectUri: String(params.redirect_uri),
  };
}

export interface TokenAnswer {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

/** POST /token with a form body; `auth` is an Authorization header value. */
export async function tokenRequest(
  issuer: string,
  form: Record<string, string>,
  auth?: string,
): Promise<TokenAnswer> {
  const res = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(auth ? { authorization: auth } : {}),
    },
    body: new URLSearchParams(form),
  });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { raw: text };
  }
  return { status: res.status, body, headers: res.headers };
}

export function redeem(
  issuer: string,
  code: string,
  verifier: string,
  redirectUri = WEB_CALLBACK,
  auth = basic(WEB.id, WEB.secret),
): Promise<TokenAnswer> {
  return tokenRequest(
    issuer,
    { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: redirectUri },
    auth,
  );
}

/** GET /me with a bearer token; the status only. */
export async function userinfoStatus(issuer: string, accessToken: string): Promise<number> {
  const res = await fetch(`${issuer}/me`, { headers: { authorization: `Bearer ${accessToken}` } });
  await res.arrayBuffer();
  return res.status;
}

/** POST /token/introspection as demo-web; returns `active`. */
export async function introspectActive(issuer: string, token: string): Promise<boolean> {
  const res = await fetch(`${issuer}/token/introspection`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: basic(WEB.id, WEB.secret),
    },
    body: new URLSearchParams({ token }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { active: boolean }).active;
}

/** A session probe: prompt=none for demo-web answers a code only while the browser is signed in. */
export async function promptNone(
  issuer: string,
  browser: Browser,
  extra: Record<string, string | undefined> = {},
): Promise<URLSearchParams> {
  const { challenge } = pkcePair();
  const page = await browser.follow(
    authUrl(issuer, webAuthParams(challenge, { prompt: 'none', ...extra })),
    {},
    String(extra.redirect_uri ?? WEB_CALLBACK),
  );
  return callbackParams(page);
}

/**
 * An openid-client configuration for `clientId` from the issuer's discovery. With `via`, every
 * request goes to that base URL instead (another instance of the same issuer).
 */
export async function rpClient(
  issuer: string,
  clientId: string,
  secret?: string,
  via?: string,
): Promise<oidc.Configuration> {
  const config = await oidc.discovery(new URL(issuer), clientId, secret, undefined, {
    execute: [oidc.allowInsecureRequests],
  });
  if (via) {
    config[oidc.customFetch] = (url, options) => {
      const target = new URL(url);
      target.host = new URL(via).host;
      return fetch(target, options as RequestInit);
    };
  }
  return config;
}

/**
 * Authorize → login as `username` → consent (when asked) → code redemption, as a relying party
 * runs it: openid-client builds the request and checks the response. Leaves the session in
 * `browser`.
 */
export async function rpSignIn(
  config: oidc.Configuration,
  browser: Browser,
  options: {
    username?: string;
    scope?: string;
    params?: Record<string, string>;
    callback?: string;
  } = {},
): Promise<oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers> {
  const callback = options.callback ?? WEB_CALLBACK;
  const username = options.username ?? 'alice';
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: callback,
    scope: options.scope ?? 'openid profile email',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    ...options.params,
  });
  let page = await browser.follow(url.toString(), {}, callback);
  if (page.status === 200 && page.body.includes('Sign in')) {
    page = await submitPassword(browser, page, username, callback);
  }
  if (page.status === 200 && page.body.includes('Allow access')) {
    page = await browser.submit(page, /\/confirm$/, {}, callback);
  }
  callbackParams(page);
  return oidc.authorizationCodeGrant(config, new URL(page.url), {
    pkceCodeVerifier: verifier,
    expectedState: state,
  });
}

export { Browser, type Page };
