/**
 * Discovery advertises only what a configured client can use: every client gets the `code`
 * response type or none, so no implicit grant and no `id_token` / `code id_token` / `none`
 * response types — and the authorization endpoint refuses them too.
 */
import { request as httpRequest } from 'node:http';
import * as oidc from 'openid-client';
import { afterAll, describe, expect, it } from 'vitest';
import { demoConfig } from '../../src/config/demo.js';
import { validateConfig } from '../../src/config/load.js';
import type { RunningIssuer } from '../../src/issuer.js';
import { authUrl, Browser, pkcePair, WEB_CALLBACK, webAuthParams } from '../support/flows.js';
import { startTestIssuer } from '../support/issuer.js';

const running: RunningIssuer[] = [];
afterAll(async () => {
  await Promise.all(running.map((i) => i.close()));
});

async function discoveryOf(overrides = {}, demo = true) {
  const issuer = await startTestIssuer(overrides, demo);
  running.push(issuer);
  const res = await fetch(`${issuer.url}/.well-known/openid-configuration`);
  expect(res.status).toBe(200);
  return { issuer, metadata: (await res.json()) as Record<string, unknown> };
}

describe('discovery', () => {
  it('lists the code flow only, and the grants the demo clients use', async () => {
    const { issuer, metadata } = await discoveryOf();
    expect(metadata.response_types_supported).toEqual(['code']);
    const grants = metadata.grant_types_supported as string[];
    expect(grants).not.toContain('implicit');
    expect(grants).toEqual(
      expect.arrayContaining(['authorization_code', 'refresh_token', 'client_credentials']),
    );

    // What is not advertised is not served either: an implicit or hybrid request is refused.
    for (const responseType of ['id_token', 'code id_token', 'none']) {
      const page = await new Browser().follow(
        authUrl(issuer.url, webAuthParams(pkcePair().challenge, { response_type: responseType })),
        {},
        WEB_CALLBACK,
      );
      const answer = page.status === 0 ? new URL(page.url) : undefined;
      const error = answer?.searchParams.get('error') ?? answer?.hash ?? page.body;
      expect(error, responseType).toMatch(/unsupported_response_type/);
    }
  });

  it('lists no response type when no client uses the authorization endpoint', async () => {
    const { issuer, metadata } = await discoveryOf(
      {
        clients: [
          {
            id: 'worker',
            secret: 'worker-secret',
            grantTypes: ['client_credentials'],
            scopes: ['openid'],
          },
        ],
      },
      false,
    );
    expect(metadata.response_types_supported).toEqual([]);
    expect(metadata.grant_types_supported).not.toContain('implicit');
    // A relying party library still reads it.
    const config = await oidc.discovery(new URL(issuer.url), 'worker', 'worker-secret', undefined, {
      execute: [oidc.allowInsecureRequests],
    });
    expect(config.serverMetadata().issuer).toBe(issuer.url);
  });
});

/** GET discovery over real HTTP with a chosen Host header (fetch cannot set one). */
function discoveryWithHost(
  issuerUrl: string,
  host: string,
  headers: Record<string, string> = {},
): Promise<{
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}> {
  const url = new URL(`${issuerUrl}/.well-known/openid-configuration`);
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers: { host, ...headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('discovery served precomputed', () => {
  it('answers the same bytes with an ETag, 304 on If-None-Match, and keeps Vary and Cache-Control', async () => {
    const issuer = await startTestIssuer();
    running.push(issuer);
    const url = `${issuer.url}/.well-known/openid-configuration`;
    // The first answer for an origin is oidc-provider's own; later ones come from the store.
    const first = await fetch(url);
    const firstBody = await first.text();
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{43}"$/);
    expect(first.headers.get('cache-control')).toBe('public, max-age=60');
    expect(first.headers.get('vary')).toMatch(/\bHost\b/);
    expect(first.headers.get('content-type')).toBe('application/json; charset=utf-8');

    const again = await fetch(url, { headers: { origin: 'http://app.test' } });
    expect(again.status).toBe(200);
    expect(await again.text()).toBe(firstBody);
    expect(again.headers.get('etag')).toBe(etag);
    expect(again.headers.get('vary')).toMatch(/\bHost\b/);
    expect(again.headers.get('vary')).toMatch(/\bOrigin\b/);
    // oidc-provider's open CORS on its discovery route, kept on the precomputed answer.
    expect(again.headers.get('access-control-allow-origin')).toBe('http://app.test');
    expect(JSON.parse(firstBody).issuer).toBe(issuer.url);

    const notModified = await fetch(url, { headers: { 'if-none-match': `"other", ${etag}` } });
    expect(notModified.status).toBe(304);
    expect(await notModified.text()).toBe('');
    expect(notModified.headers.get('etag')).toBe(etag);
    expect(notModified.headers.get('cache-control')).toBe('public, max-age=60');

    const stale = await fetch(url, { headers: { 'if-none-match': '"not-this-one"' } });
    expect(stale.status).toBe(200);
    expect(await stale.text()).toBe(firstBody);
  });

  it('keeps one document per Host: endpoints on that host, an ETag of its own', async () => {
    const issuer = await startTestIssuer({ issuer: undefined });
    running.push(issuer);
    const port = new URL(issuer.url).port;
    const a = await discoveryWithHost(issuer.url, `127.0.0.1:${port}`);
    const b = await discoveryWithHost(issuer.url, `localhost:${port}`);
    const bAgain = await discoveryWithHost(issuer.url, `localhost:${port}`);
    expect([a.status, b.status, bAgain.status]).toEqual([200, 200, 200]);
    expect(b.headers.etag).not.toBe(a.headers.etag);
    expect(bAgain.body).toBe(b.body);
    expect(bAgain.headers.etag).toBe(b.headers.etag);
    const bDoc = JSON.parse(b.body) as { token_endpoint: string };
    const aDoc = JSON.parse(a.body) as { token_endpoint: string };
    expect(new URL(aDoc.token_endpoint).hostname).toBe('127.0.0.1');
    expect(new URL(bDoc.token_endpoint).hostname).toBe('localhost');
  });

  it('a config reload that changes the document gives a new ETag and the new document', async () => {
    const issuer = await startTestIssuer();
    running.push(issuer);
    const url = `${issuer.url}/.well-known/openid-configuration`;
    const before = await fetch(url);
    const etag = before.headers.get('etag');
    expect(
      ((await before.json()) as { scopes_supported: string[] }).scopes_supported,
    ).not.toContain('reports:read');
    const base = demoConfig();
    const next = validateConfig(
      {
        ...base,
        port: 0,
        host: '127.0.0.1',
        logLevel: 'silent',
        issuer: issuer.url,
        scopes: { ...base.scopes, 'reports:read': [] },
      },
      { demo: true },
    );
    expect((await issuer.reconfigure(next)).changed).toBe(true);
    const after = await fetch(url, { headers: { 'if-none-match': etag ?? '' } });
    expect(after.status).toBe(200);
    expect(after.headers.get('etag')).not.toBe(etag);
    expect(((await after.json()) as { scopes_supported: string[] }).scopes_supported).toContain(
      'reports:read',
    );
  });
});
