/**
 * Interaction, device, logout and admin pages: framing and caching headers, cookie attributes
 * (SameSite, HttpOnly, Secure behind an https proxy) and an anti-CSRF field in every form.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningIssuer } from '../../src/issuer.js';
import {
  authUrl,
  Browser,
  basic,
  type Page,
  pkcePair,
  redeem,
  signIn,
  untilConsent,
  WEB,
  WEB_CALLBACK,
  webAuthParams,
} from '../support/flows.js';
import { startTestIssuer } from '../support/issuer.js';

const ADMIN = 'admin-token-for-page-tests';
let issuer: RunningIssuer;
let url: string;

beforeAll(async () => {
  issuer = await startTestIssuer({ admin: { token: ADMIN } });
  url = issuer.url;
});
afterAll(async () => {
  await issuer?.close();
});

function expectPageHeaders(page: Page, label: string) {
  const csp = page.headers.get('content-security-policy') ?? '';
  expect(csp, label).toContain("frame-ancestors 'none'");
  expect(csp, label).toContain("default-src 'none'");
  expect(csp, label).not.toContain('unsafe-inline');
  expect(page.headers.get('x-frame-options'), label).toBe('DENY');
  expect(page.headers.get('cache-control'), label).toMatch(/no-store/);
  expect(page.headers.get('x-content-type-options'), label).toBe('nosniff');
}

/** Every <form method="post"> on the page carries a csrf or xsrf hidden field. */
function expectCsrfInEveryForm(page: Page, label: string) {
  const forms = [...page.body.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)];
  expect(forms.length, `${label}: no form`).toBeGreaterThan(0);
  for (const [, attrs = '', inner = ''] of forms) {
    if (!/method="post"/i.test(attrs)) continue;
    expect(inner, `${label}: form ${attrs}`).toMatch(/name="(csrf|xsrf)" value="[^"]{16,}"/);
  }
}

async function pages() {
  const browser = new Browser();
  return { browser, ...(await untilConsent(url, browser)) };
}

describe('headers on every HTML page', () => {
  it('login, consent, error, logout, logged-out and device pages', async () => {
    const { login, consent } = await pages();
    expect(login.body).toContain('Sign in');
    expect(consent.body).toContain('Allow access');
    const interactionError = await new Browser().request(`${url}/interaction/nope`);
    const providerError = await new Browser().request(`${url}/auth?client_id=nope`);

    const browser = new Browser();
    const { code, verifier } = await signIn(url, browser);
    const tokens = await redeem(url, code, verifier);
    const logout = await browser.follow(`${url}/session/end?id_token_hint=${tokens.body.id_token}`);
    expect(logout.body).toContain('Sign out?');
    const loggedOut = await browser.submit(logout, /\/session\/end\/confirm$/, { logout: 'yes' });
    expect(loggedOut.status).toBe(200);

    const device = await fetch(`${url}/device/auth`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basic(WEB.id, WEB.secret),
      },
      body: new URLSearchParams({ scope: 'openid' }),
    });
    const { user_code: userCode } = (await device.json()) as { user_code: string };
    const deviceBrowser = new Browser();
    const deviceInput = await deviceBrowser.request(`${url}/device`);
    const deviceConfirm = await deviceBrowser.submit(deviceInput, /\/device$/, {
      user_code: userCode,
    });
    expect(deviceConfirm.body).toContain('Confirm the device');

    for (const [label, page] of Object.entries({
      login,
      consent,
      interactionError,
      providerError,
      logout,
      loggedOut,
      deviceInput,
      deviceConfirm,
    })) {
      expectPageHeaders(page, label);
    }
    for (const [label, page] of Object.entries({
      login,
      consent,
      logout,
      deviceInput,
      deviceConfirm,
    })) {
      expectCsrfInEveryForm(page, label);
    }
  });

  it('admin answers are never cached, with or without a valid token', async () => {
    for (const auth of [undefined, 'Bearer wrong', `Bearer ${ADMIN}`]) {
      const res = await fetch(`${url}/admin/keys`, {
        headers: auth ? { authorization: auth } : {},
      });
      await res.arrayBuffer();
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.status).toBe(auth === `Bearer ${ADMIN}` ? 200 : 401);
    }
  });

  it('token and userinfo answers are never cached', async () => {
    const { code, verifier } = await signIn(url, new Browser());
    const tokens = await redeem(url, code, verifier);
    expect(tokens.headers.get('cache-control')).toMatch(/no-store/);
    const me = await fetch(`${url}/me`, {
      headers: { authorization: `Bearer ${tokens.body.access_token}` },
    });
    await me.arrayBuffer();
    expect(me.headers.get('cache-control')).toMatch(/no-store/);
  });
});

describe('user-code pages reached without a session (were 500s)', () => {
  /** A fresh device authorization's user code. */
  async function userCode(): Promise<string> {
    const res = await fetch(`${url}/device/auth`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basic(WEB.id, WEB.secret),
      },
      body: new URLSearchParams({ scope: 'openid' }),
    });
    return ((await res.json()) as { user_code: string }).user_code;
  }

  const form = { 'content-type': 'application/x-www-form-urlencoded' };
  const requests: [label: string, path: string, init: RequestInit][] = [
    ['GET /device/<unknown uid>', '/device/no-such-interaction', {}],
    ['GET /device/auth', '/device/auth', {}],
    ['GET /device/<long uid>', `/device/${'x'.repeat(600)}`, {}],
    ['POST /device, empty', '/device', { method: 'POST', headers: form, body: '' }],
    ['POST /device/', '/device/', { method: 'POST', headers: form, body: 'user_code=ABCD' }],
    [
      'POST /device, forged xsrf',
      '/device',
      { method: 'POST', headers: form, body: 'xsrf=forged&user_code=ABCD-EFGH&confirm=yes' },
    ],
  ];

  it.each(requests)('%s: a 4xx page whose code form works', async (label, path, init) => {
    const browser = new Browser();
    const page = await browser.request(`${url}${path}`, init);
    expect(page.status, `${label}: ${page.body}`).toBeGreaterThanOrEqual(400);
    expect(page.status, label).toBeLessThan(500);
    expectPageHeaders(page, label);
    expectCsrfInEveryForm(page, label);
    // The form on the error page is backed by a stored session: submitting it with a real code
    // reaches the confirmation step.
    const confirm = await browser.submit(page, /\/device$/, { user_code: await userCode() });
    expect(confirm.status, confirm.body).toBe(200);
    expect(confirm.body).toContain('Confirm the device');
  });
});

describe('cookies', () => {
  it('interaction and session cookies are HttpOnly and SameSite=Lax', async () => {
    const browser = new Browser();
    const seen: string[] = [];
    /** Follows redirects by hand so every Set-Cookie on the way is seen. */
    const walk = async (first: Page): Promise<Page> => {
      let page = first;
      seen.push(...page.headers.getSetCookie());
      while (page.status >= 300 && page.status < 400) {
        const next = new URL(page.headers.get('location') ?? '', page.url).toString();
        if (next.startsWith(WEB_CALLBACK)) break;
        page = await browser.request(next);
        seen.push(...page.headers.getSetCookie());
      }
      return page;
    };
    const { challenge } = pkcePair();
    const login = await walk(await browser.request(authUrl(url, webAuthParams(challenge))));
    const uid = /\/interaction\/([^/"]+)\/login/.exec(login.body)?.[1];
    const csrf = /name="csrf" value="([^"]+)"/.exec(login.body)?.[1] ?? '';
    const consent = await walk(
      await browser.request(`${url}/interaction/${uid}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ csrf, username: 'alice', password: 'alice' }),
      }),
    );
    expect(consent.body).toContain('Allow access');
    const names = new Set(seen.map((c) => c.split('=')[0]));
    for (const name of ['_interaction', '_interaction_resume', '_session']) {
      expect([...names]).toContain(name);
    }
    for (const cookie of seen) {
      const lower = cookie.toLowerCase();
      expect(lower, cookie).toContain('httponly');
      expect(lower, cookie).toMatch(/samesite=(lax|strict)/);
    }
  });

  it('Secure behind an https proxy (trustProxy + X-Forwarded-Proto: https)', async () => {
    const proxied = await startTestIssuer({
      issuer: 'https://login.example.test',
      trustProxy: true,
    });
    try {
      const { challenge } = pkcePair();
      const target = new URL(authUrl(proxied.url, webAuthParams(challenge)));
      const res = await fetch(
        `http://127.0.0.1:${proxied.port}${target.pathname}${target.search}`,
        {
          redirect: 'manual',
          headers: {
            'x-forwarded-proto': 'https',
            'x-forwarded-host': 'login.example.test',
            host: 'login.example.test',
          },
        },
      );
      await res.arrayBuffer();
      expect(res.status).toBe(303);
      const cookies = res.headers.getSetCookie();
      expect(cookies.length).toBeGreaterThan(0);
      for (const cookie of cookies) expect(cookie.toLowerCase(), cookie).toContain('secure');
    } finally {
      await proxied.close();
    }
  });

  it('X-Forwarded-Proto is ignored without trustProxy (no crash, no Secure cookie over http)', async () => {
    const { challenge } = pkcePair();
    const res = await fetch(authUrl(url, webAuthParams(challenge)), {
      redirect: 'manual',
      headers: { 'x-forwarded-proto': 'https' },
    });
    await res.arrayBuffer();
    expect(res.status).toBe(303);
    for (const cookie of res.headers.getSetCookie()) {
      expect(cookie.toLowerCase()).not.toContain('secure');
    }
  });
});
