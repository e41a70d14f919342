import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningIssuer } from '../../src/issuer.js';
import { mintToken } from '../../src/tools/mint.js';
import { runCli } from '../integration/cli-run.js';
import { certificateThumbprint, selfSignedCertificate } from '../support/certificates.js';
import { launchChromium, screenshot, step, strayValues, watchPage } from '../support/chromium.js';
import { CLI, startTestIssuer } from '../support/issuer.js';
import { freePort } from '../support/ports.js';

let issuer: RunningIssuer;
let browser: Browser;
let page: Page;
let problems: string[];
const run = <T>(what: string, fn: () => Promise<T>) => step(page, problems, what, fn);
const text = async (selector: string) => (await page.locator(selector).textContent()) ?? '';

beforeAll(async () => {
  const port = await freePort();
  issuer = await startTestIssuer({ port, issuer: `http://localhost:${port}` });
  browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  page = await context.newPage();
  page.setDefaultTimeout(15_000);
  problems = watchPage(page);
  await page.goto(`${issuer.url}/tools`);
  await page.locator('body[data-ready="true"]').waitFor();
});

afterAll(async () => {
  await browser?.close();
  await issuer?.close();
});

describe('/tools in Chromium', () => {
  const types: [string, string][] = [
    ['RSA:2048', 'RS256'],
    ['RSA:3072', 'PS256'],
    ['RSA:4096', 'RS256'],
    ['EC:P-256', 'ES256'],
    ['EC:P-384', 'ES384'],
    ['EC:P-521', 'ES512'],
    ['OKP:Ed25519', 'EdDSA'],
  ];

  it('generates every key type in the browser, and the CLI reads each PEM with the same kid', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'console-keys-'));
    const config = join(dir, 'issuer.yaml');
    writeFileSync(config, 'keys: { algorithms: [RS256, PS256, ES256, ES384, EdDSA] }\n');
    const networkBodies: string[] = [];
    page.on('request', (r) => {
      const body = r.postData();
      if (body) networkBodies.push(body);
    });
    for (const [type, alg] of types) {
      await page.selectOption('#gen-type', type);
      await page.selectOption('#gen-alg', alg);
      await page.getByRole('button', { name: 'Generate' }).click();
      const privateJwk = await run(`generating ${type}`, async () => {
        await page.locator('#gen-out').getByText(`for ${alg}, generated in this browser`).waitFor();
        return JSON.parse(await text('[data-testid="private-jwk"]'));
      });
      const publicJwk = JSON.parse(await text('[data-testid="public-jwk"]'));
      expect(privateJwk).toMatchObject({ alg, use: 'sig', kid: publicJwk.kid });
      expect(privateJwk.d).toBeTypeOf('string');
      expect(publicJwk.d).toBeUndefined();
      const pem = await text('[data-testid="private-pem"]');
      expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
      expect(networkBodies.join('\n')).not.toContain(privateJwk.d);
      const file = join(dir, `${privateJwk.kid}.pem`);
      writeFileSync(file, pem);
      if (alg === 'ES512') {
        // The issuer does not sign with ES512, so keys import refuses it; jwk inspect reads it.
        expect(await text('#gen-out')).toContain('this key is for other software');
        const inspected = await runCli(['jwk', 'inspect', file, '--json']);
        const report = JSON.parse(inspected.stdout);
        expect(report.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-521', private: true });
        expect(report.keys[0].thumbprint).toBe(privateJwk.kid);
        continue;
      }
      const line = await text('[data-testid="import-line"]');
      expect(line).toBe(`oidc-issuer keys import ${privateJwk.kid}.pem --alg ${alg}`);
      const args = line.split(' ').slice(1);
      const imported = await runCli([...args, '--config', config, '--json'], { cwd: dir });
      expect(imported.code, imported.stderr).toBe(0);
      const ring = JSON.parse(imported.stdout);
      expect(ring.keys.find((k: { kid: string }) => k.kid === privateJwk.kid)).toMatchObject({
        alg,
        state: 'next',
      });
    }
    expect(await strayValues(page)).toEqual([]);
    await page.locator('#gen-out').scrollIntoViewIfNeeded();
    await screenshot(page, 'console-tools-generate');
  }, 90_000);

  it('inspects a set with a private member and a duplicate kid, and finds both', async () => {
    const a = JSON.parse(
      execFileSync(process.execPath, [
        CLI,
        'jwk',
        'generate',
        '--alg',
        'ES256',
        '--json',
      ]).toString(),
    );
    const set = { keys: [a.privateJwk, { ...a.publicJwk }, { ...a.publicJwk, kid: 'other' }] };
    await page.fill('#insp-input', JSON.stringify(set));
    await page.fill('#insp-url', '');
    await page.getByRole('button', { name: 'Inspect' }).click();
    await run('inspecting', () =>
      page.locator('#insp-out').getByText('JWK set with 3 key(s)').waitFor(),
    );
    const out = await text('#insp-out');
    expect(out).toContain('PRIVATE_IN_SET');
    expect(out).toContain('DUPLICATE_KID');
    expect(await page.locator('#insp-out li[data-code="PRIVATE_IN_SET"] .sev-error').count()).toBe(
      1,
    );
    expect(await strayValues(page)).toEqual([]);
    await page.locator('#insp-out').scrollIntoViewIfNeeded();
    await screenshot(page, 'console-tools-inspect');
  });

  it('inspects the issuer by its discovery URL, and refuses a private address', async () => {
    await page.fill('#insp-input', '');
    await page.fill('#insp-url', `${issuer.url}/.well-known/openid-configuration`);
    await page.getByRole('button', { name: 'Inspect' }).click();
    await run('inspecting by URL', () =>
      page.locator('#insp-out').getByText('JWK set with 2 key(s)').waitFor(),
    );
    expect(await text('#insp-out')).toContain('0 error(s)');
    // A set without findings of its own: no empty slot may show as text.
    expect(await strayValues(page)).toEqual([]);
    await page.fill('#insp-url', 'http://10.0.0.1/jwks');
    const started = Date.now();
    await page.getByRole('button', { name: 'Inspect' }).click();
    await run('refusing 10.0.0.1', () =>
      page.locator('#insp-out').getByText('10.0.0.1 is a private or reserved address').waitFor(),
    );
    expect(Date.now() - started).toBeLessThan(3000);
    problems.splice(0); // the 422 for the refused URL is what this step provokes
  });

  it('converts a certificate chain to a JWK with x5c, x5t and x5t#S256', async () => {
    const { cert } = selfSignedCertificate('console-test');
    const expected = certificateThumbprint(cert, 'sha256');
    await page.fill('#conv-input', cert);
    await page.getByRole('button', { name: 'Convert' }).click();
    await run('converting', () =>
      page.locator('#conv-out').getByText('from a certificate').waitFor(),
    );
    const jwk = JSON.parse((await page.locator('#conv-out pre').first().textContent()) ?? '');
    expect(jwk).toMatchObject({ kty: 'EC', crv: 'P-256', 'x5t#S256': expected });
    expect(jwk.x5c).toHaveLength(1);
    expect(jwk.x5t).toMatch(/^[A-Za-z0-9_-]{27}$/);
    expect(await text('#conv-out')).toContain('CN=console-test');
  });

  it('decodes a token from the issuer and shows it verified, and a tampered one not', async () => {
    const { token } = await mintToken(
      { config: issuer.config, ring: () => issuer.keyRing.current(), clock: Date.now },
      { sub: 'alice', type: 'access', aud: 'http://localhost:4000/api' },
    );
    await page.fill('#jwt-input', token);
    await page.fill('#jwt-aud', 'http://localhost:4000/api');
    await page.getByRole('button', { name: 'Decode and verify' }).click();
    await run('verifying', () =>
      page.locator('#jwt-out').getByText('✓ Signature and claims verified').waitFor(),
    );
    expect(await page.locator('#jwt-out [data-testid="jwks"] tr.match').count()).toBe(1);
    expect(await text('#jwt-out [data-testid="claims"]')).toContain('alice');
    expect(await strayValues(page)).toEqual([]);
    await page.locator('#jwt-out').scrollIntoViewIfNeeded();
    await screenshot(page, 'console-tools-verify');

    const [h, p, s] = token.split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: 'mallory' })).toString('base64url')}.${s}`;
    await page.fill('#jwt-input', forged);
    await page.getByRole('button', { name: 'Decode and verify' }).click();
    await run('refusing the forged token', () =>
      page.locator('#jwt-out').getByText('BAD_SIGNATURE').waitFor(),
    );
    expect(problems).toEqual([]);
  });
});
