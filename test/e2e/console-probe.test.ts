import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_API_AUDIENCE } from '../../src/config/demo.js';
import { targetRefusal } from '../../src/http/probe-page.js';
import type { RunningIssuer } from '../../src/issuer.js';
import { launchChromium, screenshot, step, strayValues, watchPage } from '../support/chromium.js';
import { startTestIssuer } from '../support/issuer.js';
import { freePort } from '../support/ports.js';
import { startVerifierApi, type TestApi } from '../support/verifiers.js';
import { type ExampleProcess, startExample } from './example-process.js';

const ADMIN_TOKEN = 'probe-page-admin-token-0123456789';

let issuer: RunningIssuer;
let api: ExampleProcess;
let browser: Browser;

beforeAll(async () => {
  const port = await freePort();
  issuer = await startTestIssuer({
    port,
    issuer: `http://localhost:${port}`,
    admin: { token: ADMIN_TOKEN },
  });
  api = await startExample('api', { ISSUER: issuer.url, AUDIENCE: DEMO_API_AUDIENCE });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await api?.stop();
  await issuer?.close();
});

async function openProbe(allow?: (status: number, url: string) => boolean) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  const problems = watchPage(page, allow);
  page.setDefaultTimeout(10_000);
  await page.goto(`${issuer.url}/`);
  await page.goto(`${issuer.url}/probe`);
  return { page, problems, close: () => context.close() };
}

async function fill(page: Page, url: string) {
  await page.getByLabel('API URL').fill(url);
  await page.getByLabel('Required scope').fill('api:read');
}

describe('/probe in Chromium', () => {
  it('runs every case and the rotation drill against examples/api and shows it all passing', async () => {
    const { page, problems, close } = await openProbe();
    const run = <T>(what: string, fn: () => Promise<T>) => step(page, problems, what, fn);
    expect(await page.locator('#target-rule').textContent()).toContain('only loopback URLs');
    expect(await page.getByRole('link', { name: 'API probe' }).getAttribute('aria-current')).toBe(
      'page',
    );
    await fill(page, `${api.url}/api/whoami`);
    await page.getByLabel(/Rotate the issuer's keys/).check();
    await page.getByLabel(/Admin token/).fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Run probe' }).click();
    await run('the probe run', () => page.getByTestId('summary').waitFor({ timeout: 90_000 }));
    expect(await page.getByTestId('summary').textContent()).toBe(
      'OK: all 22 cases behaved as expected (1 skipped)',
    );
    const rows = page.getByTestId('probe-table').locator('tbody tr');
    expect(await rows.count()).toBe(23);
    const drill = page.locator('tr[data-case="rotation-new-key"]');
    expect(await drill.textContent()).toMatch(/2xx \(accept\)200pass.*accepted/);
    expect(await page.locator('section.finding').count()).toBe(0);
    await screenshot(page, 'console-probe-pass');
    expect(await strayValues(page)).toEqual([]);
    expect(problems).toEqual([]);
    await close();
  }, 120_000);

  it('shows a broken verifier’s finding with its consequence and the usual fixes', async () => {
    const broken: TestApi = await startVerifierApi({
      issuer: issuer.url,
      audience: DEMO_API_AUDIENCE,
      flaw: 'allows-none',
    });
    const { page, problems, close } = await openProbe();
    try {
      await fill(page, broken.url);
      await page.getByRole('button', { name: 'Run probe' }).click();
      await step(page, problems, 'the probe run', () =>
        page.getByTestId('summary').waitFor({ timeout: 30_000 }),
      );
      expect(await page.getByTestId('summary').textContent()).toBe(
        'FAIL: 1 of 20 cases did not behave as expected (3 skipped)',
      );
      const finding = page.locator('section[data-finding="alg-none"]');
      expect(await finding.textContent()).toContain('Consequence: Anyone can forge any token');
      expect(await finding.locator('dl.fixes dt').allTextContents()).toEqual([
        'jose',
        'jsonwebtoken',
        'PyJWT',
        'go-oidc',
        'Spring',
      ]);
      expect(await page.locator('tr[data-case="alg-none"]').textContent()).toContain('FAIL');
      await screenshot(page, 'console-probe-finding');
      expect(await strayValues(page)).toEqual([]);
      expect(problems).toEqual([]);
    } finally {
      await close();
      await broken.close();
    }
  }, 60_000);

  it('refuses a target that is not loopback, and the drill without the admin token', async () => {
    const { page, problems, close } = await openProbe(
      (status, url) => (status === 400 || status === 403) && url.endsWith('/_issuer/console/probe'),
    );
    await fill(page, 'http://10.1.2.3:4000/api');
    await page.getByRole('button', { name: 'Run probe' }).click();
    await page
      .getByText(
        'the page probes only loopback URLs (localhost, 127.0.0.1, [::1]); add http://10.1.2.3:4000 to console.probeTargets',
      )
      .waitFor();
    await fill(page, `${api.url}/api/whoami`);
    await page.getByLabel(/Rotate the issuer's keys/).check();
    await page.getByRole('button', { name: 'Run probe' }).click();
    await page
      .getByText('the rotation drill rotates the real key ring: give the admin token')
      .waitFor();
    await screenshot(page, 'console-probe-refused');
    expect(problems).toEqual([]);
    await close();
  });
});

describe('the probe endpoint', () => {
  it('needs the admin token when the issuer listens on a non-loopback address', async () => {
    const open = await startTestIssuer({
      host: '0.0.0.0',
      console: { enabled: true },
      admin: { token: ADMIN_TOKEN },
    });
    try {
      const call = (extra: Record<string, unknown>) =>
        fetch(`${open.url}/_issuer/console/probe`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ url: `${api.url}/api/whoami`, scope: 'api:read', ...extra }),
        });
      const refused = await call({});
      expect(refused.status).toBe(403);
      expect(((await refused.json()) as { error_description: string }).error_description).toContain(
        'reachable from other machines: give the admin token',
      );
      const ran = await call({ adminToken: ADMIN_TOKEN });
      expect(ran.status).toBe(200);
      // examples/api trusts the other issuer, so the baseline is refused, and the report says why.
      const answer = (await ran.json()) as { summary: string; rows: { note?: string }[] };
      expect(answer.summary).toBe(
        'STOPPED: the API refused a valid token, so no other case was run',
      );
      expect(answer.rows[0]?.note).toContain(`iss ${open.url}`);
    } finally {
      await open.close();
    }
  });

  it('is not served when the console is off', async () => {
    const off = await startTestIssuer({
      console: { enabled: false },
      admin: { token: ADMIN_TOKEN },
    });
    try {
      expect((await fetch(`${off.url}/probe`)).status).toBe(404);
      const post = await fetch(`${off.url}/_issuer/console/probe`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ url: `${api.url}/api/whoami`, adminToken: ADMIN_TOKEN }),
      });
      expect(post.status).toBe(404);
    } finally {
      await off.close();
    }
  });

  it('allows loopback hosts by name or IP literal and configured origins only', () => {
    const ok = (u: string, allowed: string[] = []) => targetRefusal(new URL(u), allowed);
    expect(ok('http://localhost:4000/api')).toBeUndefined();
    expect(ok('http://127.0.0.1:4000/api')).toBeUndefined();
    expect(ok('http://[::1]:4000/api')).toBeUndefined();
    expect(ok('http://api:4000/x', ['http://api:4000'])).toBeUndefined();
    expect(ok('http://127.attacker.example/api')).toMatch(/only loopback/);
    expect(ok('http://api:4001/x', ['http://api:4000'])).toMatch(/only loopback/);
    expect(ok('http://169.254.169.254/latest/meta-data/')).toMatch(/only loopback/);
  });
});
