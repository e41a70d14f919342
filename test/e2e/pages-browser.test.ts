/**
 * Every page a user can meet, rendered in real Chromium: home, 404, login (plain, wrong
 * password, any-user with a JSON typo), consent, logout confirmation and done, device code
 * entry (plain and with an error), device confirmation and done, and the error pages (redirect
 * URI near misses, unknown client, bad interaction, unregistered post-logout URI, hostile
 * values). Each must show no `undefined`, `null`, `[object Object]` or `NaN`, cause no console
 * error (CSP refusals included) and no failed load (the favicon included). Screenshots go to
 * test-output/page-*.png for a person to look at.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoConfig } from '../../src/config/demo.js';
import type { RawConfig } from '../../src/config/schema.js';
import type { RunningIssuer } from '../../src/issuer.js';
import { launchChromium, screenshot, strayValues, watchPage } from '../support/chromium.js';
import { authUrl, basic, pkcePair, tokenRequest, WEB, webAuthParams } from '../support/flows.js';
import { startTestIssuer } from '../support/issuer.js';

let browser: Browser;
let app: Server;
/** The relying party's origin: a tiny server standing in for the app at its redirect URIs. */
let rp: string;
let issuer: RunningIssuer;

/** The demo config with demo-web registered at the stand-in app's real origin. */
function config(login: RawConfig['login'] = {}): Partial<RawConfig> {
  const demo = demoConfig();
  return {
    login: { ...demo.login, ...login },
    clients: (demo.clients ?? []).map((c) =>
      c.id === 'demo-web'
        ? { ...c, redirectUris: [`${rp}/callback`], postLogoutRedirectUris: [`${rp}/`] }
        : c,
    ),
  };
}

beforeAll(async () => {
  app = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(
      `<!doctype html><title>app</title><link rel="icon" href="data:,"><p>app at ${req.url}</p>`,
    );
  });
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  rp = `http://localhost:${(app.address() as AddressInfo).port}`;
  issuer = await startTestIssuer(config());
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await issuer?.close();
  await new Promise((resolve) => app?.close(resolve));
});

/** A fresh browser profile whose console and network problems are collected. */
async function open(expected?: (status: number, url: string) => boolean) {
  const context = await browser.newContext({ viewport: { width: 720, height: 900 } });
  const page = await context.newPage();
  // Fail with the locator that did not show up, well inside the test's own timeout.
  page.setDefaultTimeout(8000);
  const problems = watchPage(page, expected);
  const dialogs: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  return { context, page, problems, dialogs };
}

/** Checks the page a user sees now for leaked placeholders and saves its screenshot. */
async function look(page: Page, name: string): Promise<string> {
  await page.waitForLoadState('load');
  expect(await strayValues(page), name).toEqual([]);
  await screenshot(page, `page-${name}`);
  return (await page.locator('body').textContent()) ?? '';
}

async function expectHomeLink(page: Page) {
  const home = page.getByRole('link', { name: 'Issuer home page' });
  expect(await home.getAttribute('href')).toBe('/');
}

/** Signs in through the pages as `username` (picker) and returns the tokens the app gets. */
async function signInAsApp(page: Page, base: string, username = 'alice') {
  const { verifier, challenge } = pkcePair();
  const redirect = `${rp}/callback`;
  await page.goto(
    authUrl(base, webAuthParams(challenge, { redirect_uri: redirect, scope: 'openid profile' })),
  );
  await page.click(`button[data-user="${username}"]`);
  if (await page.getByRole('heading', { name: 'Allow access?' }).isVisible()) {
    await page.getByRole('button', { name: 'Allow' }).click();
  }
  await page.waitForURL(`${redirect}?**`);
  const code = new URL(page.url()).searchParams.get('code') ?? '';
  const tokens = await tokenRequest(
    base,
    { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: redirect },
    basic(WEB.id, WEB.secret),
  );
  expect(tokens.status).toBe(200);
  return tokens.body as { id_token: string };
}

describe('every page in Chromium', () => {
  it('home, 404 (HTML for browsers, JSON for APIs) and the favicon', async () => {
    const { context, page, problems } = await open(
      (status, url) => status === 404 && url.endsWith('/no-such-page'),
    );
    await page.goto(`${issuer.url}/`);
    expect(await look(page, '01-home')).toContain('OpenID Connect issuer');

    const res = await page.goto(`${issuer.url}/no-such-page`);
    expect(res?.status()).toBe(404);
    expect(res?.headers()['content-type']).toMatch(/text\/html/);
    const text = await look(page, '02-not-found');
    expect(text).toContain('Page not found');
    expect(text).toContain('nothing is served at /no-such-page');
    await expectHomeLink(page);

    const api = await fetch(`${issuer.url}/no-such-page`, {
      headers: { accept: 'application/json' },
    });
    expect(api.status).toBe(404);
    expect(await api.json()).toEqual({
      error: 'not_found',
      error_description: 'nothing is served at /no-such-page',
    });

    for (const path of ['/favicon.ico', '/_issuer/favicon.svg']) {
      const icon = await fetch(`${issuer.url}${path}`);
      expect(icon.status, path).toBe(200);
      expect(icon.headers.get('content-type')).toBe('image/svg+xml');
      expect(icon.headers.get('cache-control')).toMatch(/max-age=\d{4,}/);
      expect(await icon.text()).toMatch(/^<svg /);
    }
    expect(problems).toEqual([]);
    await context.close();
  });

  it('login, wrong password, any-user JSON typo kept, consent, logout confirmation and done', async () => {
    const { context, page, problems } = await open(
      (status, url) => (status === 400 || status === 401) && url.includes('/interaction/'),
    );
    const { challenge } = pkcePair();
    await page.goto(
      authUrl(
        issuer.url,
        webAuthParams(challenge, { redirect_uri: `${rp}/callback`, scope: 'openid profile email' }),
      ),
    );
    expect(await look(page, '03-login')).toContain('Sign in');

    await page.getByLabel('Username', { exact: true }).fill('alice');
    await page.getByLabel('Password').fill('not-her-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    expect(await look(page, '04-login-wrong-password')).toContain(
      'Wrong password for alice, a configured test user.',
    );

    const typo = '{"email": "carol@example.test", "groups": ["admins"],}';
    await page.getByLabel('Username', { exact: true }).fill('carol');
    await page.getByLabel(/Extra claims/).fill(typo);
    await page.getByRole('button', { name: 'Sign in' }).click();
    expect(await look(page, '05-login-any-user-bad-json')).toContain(
      'Extra claims must be a JSON object',
    );
    expect(await page.getByLabel(/Extra claims/).inputValue()).toBe(typo);
    expect(await page.getByLabel('Username', { exact: true }).inputValue()).toBe('carol');

    await page.getByLabel(/Extra claims/).fill(typo.replace('],}', ']}'));
    await page.getByRole('button', { name: 'Sign in' }).click();
    const consent = await look(page, '06-consent');
    expect(consent).toContain('Allow access?');
    expect(consent).toContain('carol');
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL(`${rp}/callback?**`);

    // No post_logout_redirect_uri: confirmation, then our own "signed out" page.
    await page.goto(`${issuer.url}/session/end`);
    expect(await look(page, '07-logout-confirm')).toContain('Sign out?');
    await page.getByRole('button', { name: 'Yes, sign me out' }).click();
    expect(await look(page, '08-logout-done')).toContain('You have been signed out');
    expect(problems).toEqual([]);
    await context.close();
  });

  it('device flow: code entry, a wrong code, confirmation, sign-in and done', async () => {
    const { context, page, problems } = await open(
      (status, url) => status === 400 && url.endsWith('/device'),
    );
    const started = await fetch(`${issuer.url}/device/auth`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basic(WEB.id, WEB.secret),
      },
      body: new URLSearchParams({ scope: 'openid' }),
    });
    expect(started.status).toBe(200);
    const { user_code: userCode } = (await started.json()) as { user_code: string };

    await page.goto(`${issuer.url}/device`);
    expect(await look(page, '09-device-entry')).toContain('Enter the code shown on your device');
    await page.fill('input[name="user_code"]', 'BCDF-GHJK');
    await page.getByRole('button', { name: 'Continue' }).click();
    const wrong = await look(page, '10-device-entry-error');
    expect(wrong).toContain('Enter the code shown on your device');
    expect(wrong).toMatch(/not found|invalid/i);

    await page.fill('input[name="user_code"]', userCode);
    await page.getByRole('button', { name: 'Continue' }).click();
    const confirm = await look(page, '11-device-confirm');
    expect(confirm).toContain(`Demo web app asks to sign in with code ${userCode}.`);
    expect(await page.getByRole('button').allInnerTexts()).toEqual(['Continue', 'Cancel']);
    await page.getByRole('button', { name: 'Continue' }).click();

    await page.click('button[data-user="alice"]');
    await page.getByRole('button', { name: 'Allow' }).click();
    const done = await look(page, '12-device-done');
    expect(done).toContain('Your device is signed in. You can close this page.');
    expect(done.trim().endsWith('You can close this page.')).toBe(true);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('error pages say what went wrong, concretely, and link home', async () => {
    const { context, page, problems } = await open((status) => status === 400 || status === 404);
    const { challenge } = pkcePair();
    const registered = `${rp}/callback`;
    const errorAt = async (name: string, url: string) => {
      const res = await page.goto(url);
      expect(res?.status(), name).toBeGreaterThanOrEqual(400);
      const text = await look(page, name);
      await expectHomeLink(page);
      return text;
    };

    const slash = await errorAt(
      '13-error-redirect-trailing-slash',
      authUrl(issuer.url, webAuthParams(challenge, { redirect_uri: `${registered}/` })),
    );
    expect(slash).toContain('redirect_uri did not match');
    expect(slash).toContain(`${registered}/`);
    expect(slash).toContain(registered);
    expect(slash).toContain('only by a trailing slash');
    expect(slash).toContain('clients[1].redirectUris');

    const loopback = registered.replace('localhost', '127.0.0.1');
    const host = await errorAt(
      '14-error-redirect-localhost-vs-127',
      authUrl(issuer.url, webAuthParams(challenge, { redirect_uri: loopback })),
    );
    expect(host).toContain(
      `127.0.0.1 is not localhost: the registered ${registered} uses localhost.`,
    );

    const unknown = await errorAt(
      '15-error-unknown-client',
      authUrl(issuer.url, webAuthParams(challenge, { client_id: 'demo-wbe' })),
    );
    expect(unknown).toContain('no client with client_id "demo-wbe" is registered');
    expect(unknown).toContain('Did you mean demo-web?');
    expect(unknown).toContain('demo-spa');

    const interaction = await errorAt('16-error-interaction', `${issuer.url}/interaction/nope`);
    expect(interaction).toContain('This sign-in cannot continue');

    const logout = await errorAt(
      '17-error-post-logout-uri',
      `${issuer.url}/session/end?client_id=demo-web&post_logout_redirect_uri=${encodeURIComponent('http://evil.test/')}`,
    );
    expect(logout).toContain('post_logout_redirect_uri not registered');
    expect(logout).toContain('http://evil.test/');
    expect(logout).toContain(`${rp}/`);

    const missing = await errorAt(
      '18-error-missing-redirect-uri',
      authUrl(issuer.url, {
        ...webAuthParams(challenge, { client_id: 'demo-spa' }),
        redirect_uri: undefined,
      }),
    );
    expect(missing).toContain("missing required parameter 'redirect_uri'");
    expect(missing).toContain('http://localhost:5173/callback');
    expect(problems).toEqual([]);
    await context.close();
  });

  it('escapes hostile values on error pages (no script runs, the text shows as typed)', async () => {
    const { context, page, problems, dialogs } = await open((status) => status === 400);
    const { challenge } = pkcePair();
    const hostileUri = `${rp}/callback"><script>alert('uri')</script>`;
    await page.goto(authUrl(issuer.url, webAuthParams(challenge, { redirect_uri: hostileUri })));
    expect(await look(page, '19-error-hostile-redirect-uri')).toContain(hostileUri);

    const hostileClient = '<img src=x onerror=alert(1)>';
    await page.goto(authUrl(issuer.url, webAuthParams(challenge, { client_id: hostileClient })));
    expect(await look(page, '20-error-hostile-client-id')).toContain(
      `no client with client_id "${hostileClient}" is registered`,
    );
    expect(await page.locator('main img, main script').count()).toBe(0);
    expect(dialogs).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  });
});

describe('logout without a confirmation (login.confirmLogout: false)', () => {
  let quiet: RunningIssuer;
  let context: BrowserContext;
  beforeAll(async () => {
    quiet = await startTestIssuer(config({ confirmLogout: false }));
  });
  afterAll(async () => {
    await context?.close();
    await quiet?.close();
  });

  it('goes straight back to the app with a valid id_token_hint and a registered URI', async () => {
    const opened = await open();
    context = opened.context;
    const { page, problems } = opened;
    const seen: string[] = [];
    page.on('framenavigated', async (frame) => {
      if (frame === page.mainFrame()) seen.push(await frame.title().catch(() => ''));
    });
    const { id_token: hint } = await signInAsApp(page, quiet.url);

    const policies: string[] = [];
    page.on('response', (r) => {
      if (new URL(r.url()).pathname === '/session/end')
        policies.push(r.headers()['content-security-policy'] ?? '');
    });
    await page.goto(
      `${quiet.url}/session/end?id_token_hint=${hint}&post_logout_redirect_uri=${encodeURIComponent(`${rp}/`)}&state=bye`,
    );
    await page.waitForURL(`${rp}/?state=bye`);
    // At most the self-submitting "Signing out" page flashed by; never the "Sign out?" question.
    expect(seen.filter((t) => t.startsWith('Sign out '))).toEqual([]);
    // The page's one script runs by its hash; nothing else inline may.
    expect(policies).toHaveLength(1);
    expect(policies[0]).toMatch(/script-src 'sha256-[A-Za-z0-9+/]{43}='$/);
    expect(policies[0]).not.toContain('unsafe-inline');

    // The session is gone: a new sign-in shows the login page again.
    await page.goto(
      authUrl(quiet.url, webAuthParams(pkcePair().challenge, { redirect_uri: `${rp}/callback` })),
    );
    expect(await page.locator('h1').textContent()).toBe('Sign in');

    // Without a post_logout_redirect_uri there is nowhere to go straight back to: ask.
    const { id_token: second } = await signInAsApp(page, quiet.url);
    await page.goto(`${quiet.url}/session/end?id_token_hint=${second}`);
    expect(await look(page, '21-logout-confirm-without-redirect')).toContain('Sign out?');
    expect(problems).toEqual([]);
  });

  it('still asks by default (login.confirmLogout: true)', async () => {
    const { context: own, page, problems } = await open();
    const { id_token: hint } = await signInAsApp(page, issuer.url);
    await page.goto(
      `${issuer.url}/session/end?id_token_hint=${hint}&post_logout_redirect_uri=${encodeURIComponent(`${rp}/`)}`,
    );
    expect(await page.locator('h1').textContent()).toBe('Sign out?');
    await page.getByRole('button', { name: 'Yes, sign me out' }).click();
    await page.waitForURL(`${rp}/`);
    expect(problems).toEqual([]);
    await own.close();
  });
});
