import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_API_AUDIENCE, demoConfig } from '../../src/config/demo.js';
import type { RawConfig } from '../../src/config/schema.js';
import type { RunningIssuer } from '../../src/issuer.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { launchChromium, watchPage } from '../support/chromium.js';
import { startTestIssuer } from '../support/issuer.js';
import { freePort } from '../support/ports.js';
import { type ExampleProcess, startExample } from './example-process.js';

const SCREENSHOT = join(PACKAGE_ROOT, 'test-output', 'login-page.png');

let issuer: RunningIssuer;
let api: ExampleProcess;
let spa: ExampleProcess;
let browser: Browser;

/** The demo config, with demo-spa registered at the SPA's actual origin. */
function clientsFor(spaOrigin: string): RawConfig['clients'] {
  return (demoConfig().clients ?? []).map((c) =>
    c.id === 'demo-spa'
      ? {
          ...c,
          redirectUris: [`${spaOrigin}/callback`],
          postLogoutRedirectUris: [`${spaOrigin}/`],
          corsOrigins: [spaOrigin],
        }
      : c,
  );
}

beforeAll(async () => {
  const [issuerPort, apiPort, spaPort] = [await freePort(), await freePort(), await freePort()];
  const spaOrigin = `http://localhost:${spaPort}`;
  issuer = await startTestIssuer({
    port: issuerPort,
    issuer: `http://localhost:${issuerPort}`,
    clients: clientsFor(spaOrigin),
  });
  api = await startExample(
    'api',
    { ISSUER: issuer.url, AUDIENCE: DEMO_API_AUDIENCE, CORS_ORIGINS: spaOrigin },
    apiPort,
  );
  spa = await startExample(
    'spa',
    {
      ISSUER: issuer.url,
      BASE_URL: spaOrigin,
      API_URL: api.url,
      // No RESOURCE: like any RP library, the SPA sends no resource indicator.
    },
    spaPort,
  );
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await spa?.stop();
  await api?.stop();
  await issuer?.close();
});

const textOf = async (page: Page, selector: string) =>
  (await page.locator(selector).textContent()) ?? '';

/** Fails with what the page and the example servers said, not just a timeout. */
async function step<T>(page: Page, problems: string[], what: string, run: () => Promise<T>) {
  try {
    return await run();
  } catch (err) {
    const body = await textOf(page, 'body').catch(() => '');
    throw new Error(
      `${what} failed at ${page.url()}: ${(err as Error).message}\npage: ${body.slice(0, 1500)}\nbrowser: ${problems.join('\n')}\napi: ${api.output()}\nspa: ${spa.output()}`,
    );
  }
}

describe('the example SPA in headless Chromium', () => {
  it('signs alice in with oidc-client-ts (no resource anywhere), loads userinfo, calls the API with her access token and signs out', async () => {
    const context = await browser.newContext({ viewport: { width: 900, height: 820 } });
    const page = await context.newPage();
    // The example SPA's own server has no favicon; the issuer's pages do.
    const problems = watchPage(page, (_status, url) => url === `${spa.url}/favicon.ico`);
    const userinfo: { status: number; auth: string }[] = [];
    page.on('request', (r) => {
      if (new URL(r.url()).pathname === '/me') {
        r.response().then(
          (res) =>
            userinfo.push({ status: res?.status() ?? 0, auth: r.headers().authorization ?? '' }),
          () => {},
        );
      }
    });

    await page.goto(spa.url);
    await step(page, problems, 'the SPA start', () =>
      page.getByText('Signed out.').waitFor({ timeout: 5000 }),
    );
    await page.click('#login');

    await step(page, problems, 'reaching the login page', () =>
      page.waitForURL(`${issuer.url}/interaction/**`, { timeout: 10_000 }),
    );
    expect(await textOf(page, 'h1')).toBe('Sign in');
    mkdirSync(join(PACKAGE_ROOT, 'test-output'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    await page.click('button[data-user="alice"]');

    await step(page, problems, 'reaching the consent page', () =>
      page.getByRole('heading', { name: 'Allow access?' }).waitFor({ timeout: 10_000 }),
    );
    expect(await textOf(page, 'main')).toContain(DEMO_API_AUDIENCE);
    await page.getByRole('button', { name: 'Allow' }).click();

    // Back on the SPA, whose code exchange at the token endpoint is a cross-origin fetch: it
    // succeeds only when the token endpoint answers CORS for this origin.
    await step(page, problems, 'landing back signed in', () =>
      page.getByText('Signed in as alice.').waitFor({ timeout: 10_000 }),
    );
    expect(new URL(page.url()).pathname).toBe('/');
    const claims = JSON.parse(await textOf(page, '#claims'));
    expect(claims).toMatchObject({ sub: 'alice', email: 'alice@example.com', iss: issuer.url });
    const token = JSON.parse(await textOf(page, '#token'));
    expect(token.payload).toMatchObject({
      aud: DEMO_API_AUDIENCE,
      client_id: 'demo-spa',
      sub: 'alice',
    });
    expect(token.payload.scope.split(' ')).toContain('api:read');
    // oidc-client-ts loaded userinfo with that same JWT access token, and it answered.
    expect(userinfo.filter((u) => u.status === 200 && u.auth.startsWith('Bearer ey'))).toHaveLength(
      1,
    );

    await page.click('#call-api');
    await step(page, problems, 'calling the API', () =>
      page.locator('#api-result').getByText('200').waitFor({ timeout: 10_000 }),
    );
    const [status, body] = (await textOf(page, '#api-result')).split('\n');
    expect(status).toBe('200');
    expect(JSON.parse(body ?? '')).toMatchObject({ sub: 'alice', client_id: 'demo-spa' });

    await page.click('#logout');
    await step(page, problems, 'reaching the logout confirmation', () =>
      page.getByRole('heading', { name: 'Sign out?' }).waitFor({ timeout: 10_000 }),
    );
    await page.getByRole('button', { name: 'Yes, sign me out' }).click();
    await step(page, problems, 'landing back signed out', () =>
      page.getByText('Signed out.').waitFor({ timeout: 10_000 }),
    );
    expect(page.url()).toBe(`${spa.url}/`);

    // The issuer session is gone too: signing in again shows the login page, not the SPA.
    await page.click('#login');
    await step(page, problems, 'signing in again', () =>
      page.waitForURL(`${issuer.url}/interaction/**`, { timeout: 10_000 }),
    );
    expect(await textOf(page, 'h1')).toBe('Sign in');
    expect(problems).toEqual([]);
    await context.close();
  });
});
