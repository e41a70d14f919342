import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningIssuer } from '../../src/issuer.js';
import { runCli } from '../integration/cli-run.js';
import { launchChromium, screenshot, step, strayValues, watchPage } from '../support/chromium.js';
import { startTestIssuer } from '../support/issuer.js';
import { freePort } from '../support/ports.js';
import { redisForTests, uniqueNamespace } from '../support/redis.js';

const ADMIN = 'console-admin-token-for-tests';
let redis: { url: string; stop(): Promise<void> };
let issuer: RunningIssuer;
let browser: Browser;
const namespace = uniqueNamespace('console');

beforeAll(async () => {
  redis = await redisForTests();
  const port = await freePort();
  issuer = await startTestIssuer({
    port,
    issuer: `http://localhost:${port}`,
    redis: { url: redis.url, namespace },
    admin: { token: ADMIN },
  });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await issuer?.close();
  await redis?.stop();
});

describe('/keys in Chromium', () => {
  it('draws the ring, follows a `keys rotate --now` from the CLI, and rotates and revokes with the admin token', async () => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    // The refused early rotation is provoked below.
    const problems = watchPage(page, (status, url) => status === 409 && url.endsWith('/rotate'));
    const run = <T>(what: string, fn: () => Promise<T>) => step(page, problems, what, fn);
    const kidIn = async (state: string) =>
      page
        .locator(`figure[data-alg="RS256"] .lane[data-state="${state}"]`)
        .first()
        .getAttribute('data-kid');

    await page.goto(`${issuer.url}/keys`);
    await run('drawing the ring', () => page.locator('body[data-ready="true"]').waitFor());
    const active = await run('finding the active key', () => kidIn('active'));
    const next = await kidIn('next');
    expect(active).toBeTruthy();
    expect(next).toBeTruthy();
    expect(await page.locator('#cache').textContent()).toMatch(
      /Cache-Control: public, max-age=\d+/,
    );
    expect(await page.locator('#cache').textContent()).toContain('before it signs');
    expect(await strayValues(page)).toEqual([]);
    await screenshot(page, 'console-keys');

    const cli = await runCli(['keys', 'rotate', '--now', '--json'], {
      env: { REDIS_URL: redis.url, REDIS_NAMESPACE: namespace },
    });
    expect(cli.code, cli.stderr).toBe(0);
    await run('following the CLI rotation', () =>
      page
        .locator(`figure[data-alg="RS256"] .lane[data-kid="${next}"][data-state="active"]`)
        .waitFor(),
    );
    expect(await page.locator(`.lane[data-kid="${active}"]`).getAttribute('data-state')).toBe(
      'retiring',
    );
    await screenshot(page, 'console-keys-after-rotate');

    // With the admin token: a plain rotation is refused this early, and the page says why.
    await page.fill('#admin-token', ADMIN);
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.accept();
    });
    await page.getByRole('button', { name: 'Rotate RS256', exact: true }).click();
    await run('the refused rotation', () =>
      page.locator('#admin-result').getByText('HTTP 409').waitFor(),
    );
    expect(dialogs[0]).toContain('Verifiers notice nothing');

    const promoted = await kidIn('next');
    await page.getByRole('button', { name: 'Rotate RS256 now' }).click();
    await run('rotating now from the page', () =>
      page.locator(`.lane[data-kid="${promoted}"][data-state="active"]`).waitFor(),
    );
    expect(dialogs[1]).toContain('rejects new tokens until it refetches');

    await page.getByRole('button', { name: `Revoke ${active}` }).click();
    await run('revoking', () =>
      page.locator(`.lane[data-kid="${active}"]`).waitFor({ state: 'detached' }),
    );
    expect(dialogs[2]).toContain('removed from the JWKS at once');
    const jwks = (await (await fetch(`${issuer.url}/jwks`)).json()) as { keys: { kid: string }[] };
    expect(jwks.keys.map((k) => k.kid)).not.toContain(active);
    expect(await page.evaluate("sessionStorage.getItem('oidc-console:admin-token')")).toBe(ADMIN);
    expect(problems).toEqual([]);
    await context.close();

    // Readable on a phone: nothing wider than the screen but the scrollable tables.
    const phone = await browser.newContext({
      viewport: { width: 390, height: 844 },
      isMobile: true,
    });
    const small = await phone.newPage();
    await small.goto(`${issuer.url}/keys`);
    await small.locator('body[data-ready="true"]').waitFor();
    expect(await small.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await screenshot(small, 'console-keys-phone');
    await phone.close();
  }, 60_000);
});
