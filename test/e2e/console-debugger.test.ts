import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningIssuer } from '../../src/issuer.js';
import { launchChromium, screenshot, step, strayValues, watchPage } from '../support/chromium.js';
import { startTestIssuer } from '../support/issuer.js';
import { freePort } from '../support/ports.js';

let issuer: RunningIssuer;
let browser: Browser;

beforeAll(async () => {
  const port = await freePort();
  issuer = await startTestIssuer({ port, issuer: `http://localhost:${port}` });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await issuer?.close();
});

describe('/debugger in Chromium', () => {
  it('signs alice in, shows her verified claims, refreshes, introspects and logs out', async () => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    const page = await context.newPage();
    // The refresh with the revoked refresh token is refused on purpose.
    const problems = watchPage(page, (status, url) => status === 400 && url.endsWith('/token'));
    page.setDefaultTimeout(8000);
    const run = <T>(what: string, fn: () => Promise<T>) => step(page, problems, what, fn);

    await page.goto(`${issuer.url}/`);
    await page.getByRole('link', { name: 'Sign in' }).click();
    await page.waitForURL(`${issuer.url}/debugger`);
    await run('loading the scopes from discovery', () => page.getByLabel('openid').waitFor());
    const authUrl = new URL((await page.getByTestId('auth-url').textContent()) ?? '');
    expect(authUrl.searchParams.get('redirect_uri')).toBe(`${issuer.url}/debugger/callback`);
    expect(authUrl.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authUrl.searchParams.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await page.getByLabel('login_hint').fill('alice');
    expect(await page.getByTestId('auth-url').textContent()).toContain('login_hint=alice');
    await screenshot(page, 'console-debugger-form');
    expect(await strayValues(page)).toEqual([]);

    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${issuer.url}/interaction/**`);
    await page.click('button[data-user="alice"]');
    await run('the code exchange', async () => {
      await page.waitForURL(`${issuer.url}/debugger/callback`);
      await page.getByText('Signed in.').waitFor();
    });
    // The code is gone from the address bar, so a reload does not redeem it twice.
    expect(page.url()).toBe(`${issuer.url}/debugger/callback`);

    const idToken = page.getByTestId('id_token');
    await run('verifying the ID token', () =>
      idToken.getByText('✓ Signature and claims verified').waitFor(),
    );
    const claims = (await idToken.getByTestId('claims').textContent()) ?? '';
    expect(claims).toContain('alice@example.com');
    // The server computes "in …" a moment after the token was issued with a 1 h lifetime.
    expect(claims, claims).toMatch(/exp\d+\d{4}-\d\d-\d\dT[^(]*\(in (59m|1h\))/);
    const kid = JSON.parse(
      Buffer.from(
        ((await page.getByTestId('id_token-raw').textContent()) ?? '').split('.')[0] ?? '',
        'base64url',
      ).toString(),
    ).kid;
    const matched = idToken.locator('[data-testid="jwks"] tr.match');
    expect(await matched.count()).toBe(1);
    expect(await matched.textContent()).toContain(kid);
    expect(await page.getByTestId('userinfo-body').textContent()).toContain('"sub": "alice"');
    expect(await strayValues(page)).toEqual([]);
    await screenshot(page, 'console-debugger-callback');

    // A refreshed ID token issued within the same second has the same bytes; the access token differs.
    const before = await page.getByTestId('token-response').textContent();
    await page.getByRole('button', { name: 'Refresh tokens' }).click();
    await run('the refresh', () => page.getByText('Tokens refreshed.').waitFor());
    expect(await page.getByTestId('token-response').textContent()).not.toBe(before);
    await page.getByTestId('id_token').getByText('✓ Signature and claims verified').waitFor();

    await page.getByRole('button', { name: 'Introspect token' }).click();
    // The debugger client's access tokens are JWTs for the demo API: the page introspects the
    // refresh token instead (introspection refuses JWT access tokens).
    await run('the introspection', () =>
      page.getByText('Introspection of the refresh token: HTTP 200').waitFor(),
    );
    expect(JSON.parse((await page.getByTestId('action-body').textContent()) ?? '{}')).toMatchObject(
      {
        active: true,
        sub: 'alice',
      },
    );

    await page.getByRole('button', { name: 'Revoke refresh token' }).click();
    await run('the revocation', () =>
      page.getByText('Revocation of the refresh token: HTTP 200').waitFor(),
    );
    // The revoked refresh token no longer works: the page shows the token endpoint's refusal.
    await page.getByRole('button', { name: 'Refresh tokens' }).click();
    await run('the refused refresh', () => page.getByText('Refresh: HTTP 400').waitFor());
    expect(await page.getByTestId('action-body').textContent()).toContain('invalid_grant');

    await page.getByRole('button', { name: 'Log out (id_token_hint)' }).click();
    await run('the logout', () => page.getByRole('heading', { name: 'Sign out?' }).waitFor());
    await page.getByRole('button', { name: 'Yes, sign me out' }).click();
    await page.waitForURL(`${issuer.url}/debugger?*`);
    await page.getByText('Signed out').first().waitFor();
    expect(problems).toEqual([]);
    await context.close();
  });

  it('works from the keyboard alone: Tab reaches Sign in, Enter starts the sign-in', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const problems = watchPage(page);
    await page.goto(`${issuer.url}/debugger`);
    await page.getByLabel('openid').waitFor();
    let focused = '';
    for (let i = 0; i < 40 && focused !== 'sign-in'; i += 1) {
      await page.keyboard.press('Tab');
      focused = String(await page.evaluate('document.activeElement && document.activeElement.id'));
    }
    expect(focused).toBe('sign-in');
    await page.keyboard.press('Enter');
    await step(page, problems, 'starting from the keyboard', () =>
      page.waitForURL(`${issuer.url}/interaction/**`, { timeout: 8000 }),
    );
    expect(problems).toEqual([]);
    await context.close();
  });

  it('reads on a phone without sideways scrolling', async () => {
    const context = await browser.newContext({
      viewport: { width: 390, height: 844 },
      isMobile: true,
    });
    const page = await context.newPage();
    await page.goto(`${issuer.url}/debugger`);
    await page.getByLabel('openid').waitFor();
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    // The public debugger client has no secret to type.
    expect(await page.getByLabel('Client secret').isVisible()).toBe(false);
    await screenshot(page, 'console-debugger-phone');
    await context.close();
  });
});
