/**
 * Introspection answers `active: true` only to the client a token was issued to, and — for
 * access tokens — to a client configured to serve the token's audience (`introspects`). Every
 * other caller gets `active: false`, whatever it knows about the token. Revocation: only the
 * client a token was issued to may revoke it (RFC 7009 §2.1). oidc-provider's notices about
 * its default policies are gone.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { demoConfig } from '../../src/config/demo.js';
import { validateConfig } from '../../src/config/load.js';
import type { RawConfig } from '../../src/config/schema.js';
import type { RunningIssuer } from '../../src/issuer.js';
import { Browser, basic, redeem, signIn, tokenRequest, WEB } from '../support/flows.js';
import { startTestIssuer } from '../support/issuer.js';

const ORDERS = 'urn:orders-api';
const BILLING = 'urn:billing-api';
const ORDERS_API = { id: 'orders-api', secret: 'orders-api-secret' } as const;
const BILLING_SVC = { id: 'billing-svc', secret: 'billing-svc-secret' } as const;
const SERVICE = { id: 'demo-service', secret: 'demo-service-secret' } as const;

let issuer: RunningIssuer;
let url: string;
const notices: string[] = [];

beforeAll(async () => {
  // oidc-provider prints a notice the first time it runs one of its default policies.
  for (const method of ['info', 'warn'] as const) {
    const original = console[method].bind(console);
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      notices.push(args.map(String).join(' '));
      original(...args);
    });
  }
  const demo = demoConfig();
  const clients = (demo.clients ?? []).map((c) =>
    c.id === WEB.id
      ? {
          ...c,
          scopes: [...(c.scopes ?? []), 'orders:read'],
          resources: [...(c.resources ?? []), ORDERS],
          // An opaque default resource: a login without `resource` keeps getting an opaque
          // userinfo token, the kind these tests introspect.
          defaultResource: ORDERS,
        }
      : c,
  );
  const config: Partial<RawConfig> = {
    resourceServers: [
      ...(demo.resourceServers ?? []),
      { audience: ORDERS, scopes: ['orders:read'], format: 'opaque' },
      { audience: BILLING, scopes: ['billing:read'], format: 'opaque' },
    ],
    clients: [
      ...clients,
      { ...ORDERS_API, grantTypes: ['client_credentials'], introspects: [ORDERS] },
      {
        ...BILLING_SVC,
        grantTypes: ['client_credentials'],
        scopes: ['billing:read'],
        resources: [BILLING],
      },
    ],
  };
  issuer = await startTestIssuer(config);
  url = issuer.url;
});
afterAll(async () => {
  vi.restoreAllMocks();
  await issuer?.close();
});

async function introspect(token: string, auth: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${url}/token/introspection`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: auth },
    body: new URLSearchParams({ token }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

function revoke(token: string, auth: string): Promise<Response> {
  return fetch(`${url}/token/revocation`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: auth },
    body: new URLSearchParams({ token }),
  });
}

/** demo-web's tokens for alice: an opaque userinfo token, one for the orders API, a refresh token. */
async function webTokens() {
  const plain = await signIn(url, new Browser(), { params: { scope: 'openid offline_access' } });
  const first = await redeem(url, plain.code, plain.verifier);
  expect(first.status).toBe(200);
  const api = await signIn(url, new Browser(), {
    params: { scope: 'openid orders:read', resource: ORDERS },
  });
  const second = await redeem(url, api.code, api.verifier);
  expect(second.status).toBe(200);
  return {
    userinfoToken: String(first.body.access_token),
    refreshToken: String(first.body.refresh_token),
    ordersToken: String(second.body.access_token),
  };
}

describe('another client cannot read a token it was not issued', () => {
  it('demo-service introspecting demo-web’s tokens gets active: false and nothing else', async () => {
    const { userinfoToken, refreshToken, ordersToken } = await webTokens();
    for (const token of [userinfoToken, refreshToken, ordersToken]) {
      expect(await introspect(token, basic(SERVICE.id, SERVICE.secret))).toEqual({
        active: false,
      });
    }
  });

  it('a public client (demo-spa) gets active: false', async () => {
    const { userinfoToken } = await webTokens();
    const res = await fetch(`${url}/token/introspection`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: userinfoToken, client_id: 'demo-spa' }),
    });
    expect(await res.json()).toEqual({ active: false });
  });

  it('the client the tokens were issued to still reads them', async () => {
    const { userinfoToken, refreshToken, ordersToken } = await webTokens();
    const web = basic(WEB.id, WEB.secret);
    expect(await introspect(userinfoToken, web)).toMatchObject({ active: true, sub: 'alice' });
    expect(await introspect(refreshToken, web)).toMatchObject({ active: true, sub: 'alice' });
    expect(await introspect(ordersToken, web)).toMatchObject({ active: true, aud: ORDERS });
  });
});

describe('a resource server client reads access tokens for its audience only (introspects)', () => {
  const asOrdersApi = () => basic(ORDERS_API.id, ORDERS_API.secret);

  it('an access token for urn:orders-api issued to demo-web → active, with sub, scope and aud', async () => {
    const { ordersToken } = await webTokens();
    expect(await introspect(ordersToken, asOrdersApi())).toMatchObject({
      active: true,
      sub: 'alice',
      client_id: WEB.id,
      aud: ORDERS,
      scope: 'orders:read',
    });
  });

  it('demo-web’s refresh token and userinfo token → active: false', async () => {
    const { userinfoToken, refreshToken } = await webTokens();
    expect(await introspect(userinfoToken, asOrdersApi())).toEqual({ active: false });
    expect(await introspect(refreshToken, asOrdersApi())).toEqual({ active: false });
  });

  it('an access token for another audience (billing) → active: false', async () => {
    const cc = await tokenRequest(
      url,
      { grant_type: 'client_credentials', scope: 'billing:read' },
      basic(BILLING_SVC.id, BILLING_SVC.secret),
    );
    expect(cc.status).toBe(200);
    const billingToken = String(cc.body.access_token);
    expect(await introspect(billingToken, asOrdersApi())).toEqual({ active: false });
    expect(await introspect(billingToken, basic(BILLING_SVC.id, BILLING_SVC.secret))).toMatchObject(
      { active: true, aud: BILLING },
    );
  });
});

describe('revocation: only the client a token was issued to', () => {
  it('demo-service and orders-api revoking demo-web’s tokens are refused; the tokens live on', async () => {
    const { refreshToken, ordersToken } = await webTokens();
    for (const [token, caller] of [
      [refreshToken, basic(SERVICE.id, SERVICE.secret)],
      [ordersToken, basic(ORDERS_API.id, ORDERS_API.secret)],
    ] as const) {
      const res = await revoke(token, caller);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toBe('invalid_request');
      expect(await introspect(token, basic(WEB.id, WEB.secret))).toMatchObject({ active: true });
    }
  });

  it('demo-web revokes its own refresh token', async () => {
    const { refreshToken } = await webTokens();
    const res = await revoke(refreshToken, basic(WEB.id, WEB.secret));
    expect(res.status).toBe(200);
    expect(await introspect(refreshToken, basic(WEB.id, WEB.secret))).toEqual({ active: false });
  });
});

describe('configuration', () => {
  it('oidc-provider printed no notice about its default introspection or revocation policy', () => {
    expect(notices.filter((n) => /allowedPolicy/.test(n))).toEqual([]);
  });

  it('introspects must name a configured resource server, on a confidential client', () => {
    expect(() =>
      validateConfig({
        resourceServers: [{ audience: ORDERS }],
        clients: [
          {
            id: 'api',
            secret: 'api-secret',
            grantTypes: ['client_credentials'],
            introspects: ['urn:nowhere'],
          },
          { id: 'spa', redirectUris: ['http://localhost/cb'], introspects: [ORDERS] },
        ],
      }),
    ).toThrow(
      /clients\[0\]\.introspects\[0\]: no resource server has audience "urn:nowhere"[\s\S]*clients\[1\]\.introspects: needs a confidential client/,
    );
  });
});
