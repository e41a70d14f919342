import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningIssuer } from '../../src/issuer.js';
import { startTestIssuer } from '../support/issuer.js';

let issuer: RunningIssuer;
const post = (path: string, body: unknown, type = 'application/json') =>
  fetch(`${issuer.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': type },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

beforeAll(async () => {
  issuer = await startTestIssuer();
});
afterAll(async () => {
  await issuer?.close();
});

describe('the console gate', () => {
  it('serves no console page or endpoint when console.enabled is false', async () => {
    const off = await startTestIssuer({ console: { enabled: false } });
    try {
      for (const path of [
        '/debugger',
        '/debugger/callback',
        '/tools',
        '/keys',
        '/_issuer/console/keys',
        '/_issuer/console/tools.js',
      ]) {
        expect((await fetch(`${off.url}${path}`)).status, path).toBe(404);
      }
      const home = await (await fetch(`${off.url}/`)).text();
      expect(home).not.toContain('href="/debugger"');
    } finally {
      await off.close();
    }
  });

  it('is on for a user config bound to loopback', async () => {
    const own = await startTestIssuer({ users: [{ username: 'u', password: 'p' }] }, false);
    try {
      expect((await fetch(`${own.url}/tools`)).status).toBe(200);
    } finally {
      await own.close();
    }
  });
});

describe('the console pages and endpoints', () => {
  it('serve pages whose CSP allows our module scripts only, and the scripts as JavaScript', async () => {
    const page = await fetch(`${issuer.url}/tools`);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("frame-ancestors 'none'");
    expect(await page.text()).toMatch(
      /<script type="module" src="\/_issuer\/console\/tools\.js"><\/script>/,
    );
    const script = await fetch(`${issuer.url}/_issuer/console/tools.js`);
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect((await fetch(`${issuer.url}/_issuer/console/nope.js`)).status).toBe(404);
  });

  it('answer bad input with 4xx and the reason, never a 5xx', async () => {
    const cases: [string, unknown, number, RegExp, string?][] = [
      ['/_issuer/console/verify', {}, 400, /token is required/],
      [
        '/_issuer/console/verify',
        { token: 'x', jwksUrl: 'file:///etc/passwd' },
        400,
        /http\(s\) URL/,
      ],
      ['/_issuer/console/verify', '{"token":', 400, /not a valid application\/json/],
      [
        '/_issuer/console/verify',
        'token=x',
        400,
        /token is required/,
        'application/x-www-form-urlencoded',
      ],
      ['/_issuer/console/inspect', { text: 'nonsense' }, 400, /expected a JWK, a JWK set or PEM/],
      [
        '/_issuer/console/inspect',
        { url: 'http://10.0.0.1/jwks' },
        422,
        /private or reserved address/,
      ],
      ['/_issuer/console/inspect', { text: 5 }, 400, /text is required/],
      ['/_issuer/console/convert', { text: '{"kty":"RSA"}' }, 400, /cannot read/],
      ['/_issuer/console/convert', 'x'.repeat(600 * 1024), 413, /at most/],
    ];
    for (const [path, body, status, reason, type] of cases) {
      const res = await post(path, body, type);
      const json = (await res.json()) as { error_description: string };
      expect(res.status, `${path} ${String(body).slice(0, 40)}`).toBe(status);
      expect(json.error_description).toMatch(reason);
    }
  });

  it('verify a malformed token as a verdict, not an error', async () => {
    const res = await post('/_issuer/console/verify', { token: 'a.b' });
    expect(res.status).toBe(200);
    const { verdict } = (await res.json()) as {
      verdict: { valid: boolean; problems: { code: string }[] };
    };
    expect(verdict.valid).toBe(false);
    expect(verdict.problems[0]?.code).toBe('MALFORMED');
  });

  it('publish the ring summary without any private member', async () => {
    const res = await fetch(`${issuer.url}/_issuer/console/keys`);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const text = await res.text();
    const body = JSON.parse(text) as { ring: { keys: { kid: string; state: string }[] } };
    expect(body.ring.keys.map((k) => k.state).sort()).toEqual(['active', 'next']);
    expect(text).not.toMatch(/"(d|p|q|dp|dq|qi)":/);
  });
});
