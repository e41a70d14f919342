/**
 * The Host header (issue 10, item 4). oidc-provider builds discovery and every redirect from the
 * request's host, so: a malformed host is a 400 on every route (it was a 500), a well-formed
 * host that is not the issuer's, a loopback name or in `allowedHosts` is a 400 (it rewrote every
 * URL in discovery, `jwks_uri` included), and discovery tells caches it varies by host.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import type { RunningIssuer } from '../../src/issuer.js';
import { startTestIssuer } from '../support/issuer.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request to 127.0.0.1:`port` with exactly the headers given (Host included). */
function send(
  port: number,
  path: string,
  headers: Record<string, string>,
  method = 'GET',
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method, headers, setHost: false },
      (res) => {
        let body = '';
        res.on('data', (d) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const MALFORMED = ['a b', 'a<b', '[::1', 'a:99999', 'a:b', 'a@b', 'a/b', '[::g]', ''];

let issuer: RunningIssuer;
let routes: [method: string, path: string][];

beforeAll(async () => {
  issuer = await startTestIssuer({ admin: { token: 'admin-token-for-host-tests' } });
  const discovery = (await (
    await fetch(`${issuer.url}/.well-known/openid-configuration`)
  ).json()) as Record<string, unknown>;
  const advertised = Object.entries(discovery)
    .filter(([key]) => key.endsWith('_endpoint') || key === 'jwks_uri')
    .map(([, value]) => new URL(String(value)).pathname);
  const ours = [
    '/',
    '/interaction/x',
    '/admin/keys',
    '/.well-known/jwks.json',
    '/_issuer/style.css',
  ];
  routes = [
    ['GET', '/.well-known/openid-configuration'],
    ...[...advertised, ...ours].map((p): [string, string] => ['GET', p]),
    ...advertised.map((p): [string, string] => ['POST', p]),
    ['GET', '/device/some-uid'],
    ['GET', '/session/end/success'],
  ];
  expect(advertised).toEqual(expect.arrayContaining(['/auth', '/token', '/jwks', '/device/auth']));
});
afterAll(async () => {
  await issuer?.close();
});

describe('a malformed Host', () => {
  it('is a 400 naming the header, on every route', async () => {
    for (const host of MALFORMED) {
      for (const [method, path] of routes) {
        const answer = await send(issuer.port, path, { host }, method);
        expect(answer.status, `${method} ${path} Host: ${host} → ${answer.body}`).toBe(400);
        expect(JSON.parse(answer.body)).toMatchObject({ error: 'invalid_request' });
        expect(answer.body).toContain('Host header');
      }
    }
  });

  it('is a 400 on the health and metrics routes too', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      expect((await send(issuer.port, path, { host: 'a b' })).status).toBe(400);
    }
  });
});

describe('a well-formed foreign Host', () => {
  it('is a 400 that names the host and the setting, on every route', async () => {
    for (const host of ['evil.example', 'evil.example:3000', '0x7f.0.0.1', '[::2]:80']) {
      for (const [method, path] of routes) {
        const answer = await send(issuer.port, path, { host }, method);
        expect(answer.status, `${method} ${path} Host: ${host} → ${answer.body}`).toBe(400);
        const { error_description } = JSON.parse(answer.body) as { error_description: string };
        expect(error_description).toContain(JSON.stringify(host));
        expect(error_description).toContain('allowedHosts (ALLOWED_HOSTS)');
      }
    }
  });

  it('still gets /healthz, /readyz and /metrics (probes call them by IP address)', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      expect((await send(issuer.port, path, { host: '10.1.2.3:3000' })).status, path).toBe(200);
    }
  });
});

describe('allowed hosts', () => {
  it('the loopback names, on any port, are served and shape the URLs', async () => {
    for (const host of ['localhost', 'LOCALHOST:1234', '127.0.0.1:9', '[::1]:3000', '[::1]']) {
      const answer = await send(issuer.port, '/.well-known/openid-configuration', { host });
      expect(answer.status, host).toBe(200);
      const { jwks_uri } = JSON.parse(answer.body) as { jwks_uri: string };
      expect(jwks_uri).toBe(`http://${host.toLowerCase()}/jwks`);
    }
  });

  it('discovery varies by Host and is cached only briefly', async () => {
    const answer = await send(issuer.port, '/.well-known/openid-configuration', {
      host: 'localhost',
    });
    expect(String(answer.headers.vary).split(/\s*,\s*/)).toContain('Host');
    expect(String(answer.headers.vary)).not.toMatch(/X-Forwarded/i);
    const maxAge = Number(/max-age=(\d+)/.exec(String(answer.headers['cache-control']))?.[1]);
    expect(maxAge).toBeGreaterThan(0);
    expect(maxAge).toBeLessThanOrEqual(300);
  });

  it('allowedHosts adds names and *.domain patterns; the issuer host is always allowed', async () => {
    const custom = await startTestIssuer({
      issuer: 'http://id.example.test:8080',
      allowedHosts: ['issuer', '*.apps.test'],
    });
    try {
      const status = async (host: string) =>
        (await send(custom.port, '/.well-known/openid-configuration', { host })).status;
      expect(await status('id.example.test:8080')).toBe(200);
      expect(await status('issuer:3000')).toBe(200);
      expect(await status('web.apps.test')).toBe(200);
      expect(await status('a.b.apps.test:1')).toBe(200);
      expect(await status('apps.test')).toBe(400);
      expect(await status('evilapps.test')).toBe(400);
      // The list replaces the loopback default.
      expect(await status('localhost:3000')).toBe(400);
    } finally {
      await custom.close();
    }
  });

  it('X-Forwarded-Host is checked only when the proxy is trusted; then it must be allowed', async () => {
    const path = '/.well-known/openid-configuration';
    const direct = await send(issuer.port, path, {
      host: 'localhost',
      'x-forwarded-host': 'evil.example',
    });
    expect(direct.status).toBe(200);
    expect((JSON.parse(direct.body) as { jwks_uri: string }).jwks_uri).toBe(
      'http://localhost/jwks',
    );

    const proxied = await startTestIssuer({ issuer: 'https://id.example.test', trustProxy: true });
    try {
      const via = (headers: Record<string, string>) =>
        send(proxied.port, path, { host: '127.0.0.1', ...headers });
      const good = await via({
        'x-forwarded-host': 'id.example.test',
        'x-forwarded-proto': 'https',
      });
      expect(good.status).toBe(200);
      expect((JSON.parse(good.body) as { jwks_uri: string }).jwks_uri).toBe(
        'https://id.example.test/jwks',
      );
      expect(String(good.headers.vary)).toMatch(/Host.*X-Forwarded-Host.*X-Forwarded-Proto/);
      expect((await via({ 'x-forwarded-host': 'evil.example' })).status).toBe(400);
      expect((await via({ 'x-forwarded-host': 'a b' })).status).toBe(400);
      const proto = await via({ 'x-forwarded-proto': 'gopher' });
      expect(proto.status).toBe(400);
      expect(proto.body).toContain('X-Forwarded-Proto');
    } finally {
      await proxied.close();
    }
  });
});

describe('allowedHosts configuration', () => {
  it('ALLOWED_HOSTS is a comma-separated list', () => {
    const config = loadConfig({ env: { ALLOWED_HOSTS: 'issuer, *.apps.test,::1' } });
    expect(config.allowedHosts).toEqual(['issuer', '*.apps.test', '::1']);
    expect(loadConfig({ env: {} }).allowedHosts).toEqual(['localhost', '127.0.0.1', '::1']);
  });

  it('an entry with a port or junk is refused, naming the entry', () => {
    for (const bad of ['issuer:3000', 'a b', '*.', 'http://issuer', '.test']) {
      expect(() => loadConfig({ env: { ALLOWED_HOSTS: `localhost,${bad},x` } }), bad).toThrow(
        /ALLOWED_HOSTS \(sets allowedHosts\[1\]\): must be a host name/,
      );
    }
    expect(() => loadConfig({ env: { ALLOWED_HOSTS: 'localhost' } })).not.toThrow(ConfigError);
  });
});
