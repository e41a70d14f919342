/**
 * Discovery advertises only what a configured client can use: every client gets the `code`
 * response type or none, so no implicit grant and no `id_token` / `code id_token` / `none`
 * response types — and the authorization endpoint refuses them too.
 */
import * as oidc from 'openid-client';
import { afterAll, describe, expect, it } from 'vitest';
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
