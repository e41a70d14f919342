import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { PACKAGE_ROOT } from '../../src/paths.js';

/** Debian's Chromium; no browser download is possible where the suite runs. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Headless Chromium for page tests; fails with how to install it when it is missing. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: install Chromium (Debian/Ubuntu: apt-get install -y chromium) or set CHROMIUM_PATH to a Chromium binary`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    timeout: 20_000,
  });
}

/**
 * Collects what went wrong on `page`: script errors, console errors (CSP violations among them)
 * and failed requests. `allow` filters answers the test expects (e.g. a 401 it provokes).
 */
export function watchPage(
  page: Page,
  allow: (status: number, url: string) => boolean = () => false,
) {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) {
      problems.push(m.text());
    }
  });
  page.on('response', (r) => {
    if (r.status() >= 400 && !allow(r.status(), r.url())) {
      problems.push(`${r.status()} ${r.request().method()} ${r.url()}`);
    }
  });
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('requestfailed', (r) => {
    // The browser drops a favicon load still under way when the page moves on; nobody sees it.
    const abortedIcon = /\/favicon\.(svg|ico)$/.test(r.url());
    if (!(abortedIcon && r.failure()?.errorText === 'net::ERR_ABORTED'))
      problems.push(`${r.url()} ${r.failure()?.errorText}`);
  });
  return problems;
}

/** Saves a full-page screenshot as test-output/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  const dir = join(PACKAGE_ROOT, 'test-output');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/**
 * Every text on the page, or attribute value, that reads `undefined`, `null`, `NaN` or
 * `[object Object]`: a template printed a missing or non-string value.
 */
export async function strayValues(page: Page): Promise<string[]> {
  const text = (await page.locator('body').textContent()) ?? '';
  const html = await page.content();
  return [
    ...(text.match(/\b(?:undefined|null|NaN)\b|\[object Object\]/g) ?? []),
    ...(html.match(/="(?:undefined|null|NaN|\[object Object\])"/g) ?? []),
  ];
}

/** Runs one step of a page test; a failure says where the page was, what it showed and why. */
export async function step<T>(
  page: Page,
  problems: string[],
  what: string,
  run: () => Promise<T>,
): Promise<T> {
  try {
    return await run();
  } catch (err) {
    const body = await page
      .locator('body')
      .textContent({ timeout: 1000 })
      .catch(() => '');
    throw new Error(
      `${what} failed at ${page.url()}: ${(err as Error).message}\npage: ${(body ?? '').slice(0, 2000)}\nbrowser: ${problems.join('\n')}`,
    );
  }
}
