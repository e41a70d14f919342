/**
 * Token exchange (RFC 8693): an API that received a user's access token trades it, with
 * openid-client's generic grant call, for a JWT access token for another API — the same user
 * as `sub`, the user's claims, and the API named in `act` (nested on a second hop). Every result
 * is verified with jose against the issuer's JWKS; every refusal answers its OAuth error code.
 */
import { createRemoteJWKSet, generateKeyPair, type JWTPayload, jwtVerify, SignJWT } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_API_AUDIENCE, demoConfig } from '../../src/config/demo.js';
import type { RawConfig } from '../../src/config/schema.js';
import type { RunningIssuer } from '../../src/issuer.js';
import {
  Browser,
  basic,
  rpClient,
  rpSignIn,
  tokenRequest,
  WEB_CALLBACK,
} from '../support/flows.js';
import { startTestIssuer } from '../support/issuer.js';

const GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
const ID_TOKEN = 'urn:ietf:params:oauth:token-type:id_token';
const ORDERS = 'https://orders.test';
const BILLING = 'https://billing.test';
const OPAQUE = 'https://opaque.test';
const SHORT = 'https://short.test';

type RawClient = NonNullable<RawConfig['clients']>[number];

/** A confidential web client that signs users in, with `${id}-secret` as its secret. */
const login = (id: string, resources: string[]): RawClient => ({
  id,
  secret: `${id}-secret`,
  redirectUris: [WEB_CALLBACK],
  grantTypes: ['authorization_code', 'refresh_token'],
  scopes: ['openid', 'profile', 'api:read', 'api:write'],
  resources,
  skipConsent: true,
});

let issuer: RunningIssuer;
let jwks: ReturnType<typeof createRemoteJWKSet>;

beforeAll(async () => {
  const demo = demoConfig();
  issuer = await startTestIssuer({
    clockTolerance: '1s',
    // Another issuer on the same server, with its own keys: its tokens are foreign here.
    issuers: [{ path: '/other', extends: 'demo' }],
    users: [
      ...(demo.users ?? []),
      { username: 'carol', password: 'carol', claims: { name: 'Carol', roles: ['auditor'] } },
    ],
    resourceServers: [
      ...(demo.resourceServers ?? []),
      { audience: ORDERS, scopes: ['api:read', 'orders:write'] },
      { audience: BILLING, scopes: ['api:read'] },
      { audience: OPAQUE, scopes: ['api:read'], format: 'opaque' },
      { audience: SHORT, scopes: ['api:read'], accessTokenTtl: 1 },
    ],
    clients: [
      ...(demo.clients ?? []),
      // The demo API's own client: it serves DEMO_API and the opaque API, and calls orders.
      {
        id: 'gateway',
        secret: 'gateway-secret',
        grantTypes: ['token-exchange'],
        scopes: ['openid'],
        introspects: [DEMO_API_AUDIENCE, OPAQUE, SHORT],
        resources: [ORDERS],
      },
      // The orders API: it serves ORDERS and calls billing (the second hop).
      {
        id: 'orders',
        secret: 'orders-secret',
        grantTypes: ['token-exchange'],
        scopes: ['openid'],
        introspects: [ORDERS],
        resources: [BILLING],
      },
      // Allowed token exchange, but serves no API: it holds nobody's tokens.
      {
        id: 'outsider',
        secret: 'outsider-secret',
        grantTypes: ['token-exchange'],
        scopes: ['openid'],
        resources: [ORDERS],
      },
      {
        ...login('web-exchange', [DEMO_API_AUDIENCE, ORDERS]),
        grantTypes: ['authorization_code', 'refresh_token', 'token-exchange'],
        exchangeIdTokens: true,
      },
      login('opaque-web', [OPAQUE]),
      login('short-web', [SHORT]),
    ],
  });
  jwks = createRemoteJWKSet(new URL(`${issuer.url}/jwks`));
});
afterAll(async () => {
  await issuer?.close();
});

/** A user's tokens after a real login through `clientId` with openid-client. */
async function userTokens(
  clientId: string,
  username = 'alice',
  params: Record<string, string> = {},
) {
  const rp = await rpClient(issuer.url, clientId, `${clientId}-secret`);
  return rpSignIn(rp, new Browser(), { username, scope: 'openid profile api:read', params });
}

/** An opaque access token for the opaque API (its resource named at authorization). */
const opaqueToken = async () =>
  (await userTokens('opaque-web', 'alice', { resource: OPAQUE })).access_token;

/** openid-client's generic grant call as `clientId`; the error code when refused. */
async function exchange(
  clientId: string,
  parameters: Record<string, string>,
): Promise<{
  token?: string;
  response?: Record<string, unknown>;
  error?: string;
  description?: string | undefined;
}> {
  const rp = await rpClient(issuer.url, clientId, `${clientId}-secret`);
  try {
    const response = await oidc.genericGrantRequest(rp, GRANT, parameters);
    return { token: response.access_token, response: { ...response } };
  } catch (err) {
    if (err instanceof oidc.ResponseBodyError)
      return { error: err.error, description: err.error_description };
    throw err;
  }
}

async function verified(token: string, audience: string): Promise<JWTPayload> {
  const { payload, protectedHeader } = await jwtVerify(token, jwks, {
    issuer: issuer.url,
    audience,
    typ: 'at+jwt',
  });
  expect(protectedHeader.typ).toBe('at+jwt');
  return payload;
}

describe('token exchange', () => {
  it('is advertised in discovery', async () => {
    const metadata = (await (
      await fetch(`${issuer.url}/.well-known/openid-configuration`)
    ).json()) as { grant_types_supported: string[] };
    expect(metadata.grant_types_supported).toContain(GRANT);
  });

  it('trades a JWT access token for one for another API: same user, claims, act', async () => {
    const subject = await userTokens('demo-web', 'carol');
    const before = await verified(subject.access_token, DEMO_API_AUDIENCE);
    const got = await exchange('gateway', {
      subject_token: subject.access_token,
      subject_token_type: ACCESS_TOKEN,
      audience: ORDERS,
    });
    expect(got.error, got.description).toBeUndefined();
    expect(got.response).toMatchObject({
      issued_token_type: ACCESS_TOKEN,
      token_type: expect.stringMatching(/^bearer$/i),
      scope: 'api:read',
    });
    const claims = await verified(got.token!, ORDERS);
    expect(claims).toMatchObject({
      sub: 'carol',
      client_id: 'gateway',
      scope: 'api:read',
      roles: ['auditor'],
      act: { sub: 'gateway' },
    });
    expect(claims.exp).toBeLessThanOrEqual(before.exp as number);
  });

  it('nests act on a second hop', async () => {
    const subject = await userTokens('demo-web');
    const first = await exchange('gateway', {
      subject_token: subject.access_token,
      subject_token_type: ACCESS_TOKEN,
      resource: ORDERS,
    });
    const second = await exchange('orders', {
      subject_token: first.token!,
      subject_token_type: ACCESS_TOKEN,
      audience: BILLING,
    });
    expect(second.error).toBeUndefined();
    const claims = await verified(second.token!, BILLING);
    expect(claims.sub).toBe('alice');
    expect(claims.act).toEqual({ sub: 'orders', act: { sub: 'gateway' } });
  });

  it('trades an opaque access token it serves, and the target defaults to its resource', async () => {
    const subject = await opaqueToken();
    expect(subject.split('.')).toHaveLength(1);
    const got = await exchange('gateway', {
      subject_token: subject,
      subject_token_type: ACCESS_TOKEN,
      scope: 'api:read',
    });
    expect(got.error, got.description).toBeUndefined();
    expect(await verified(got.token!, ORDERS)).toMatchObject({
      sub: 'alice',
      act: { sub: 'gateway' },
    });
  });

  it('trades an ID token issued to the client when the client allows ID tokens', async () => {
    const subject = await userTokens('web-exchange');
    const got = await exchange('web-exchange', {
      subject_token: subject.id_token!,
      subject_token_type: ID_TOKEN,
      audience: ORDERS,
    });
    expect(got.error, got.description).toBeUndefined();
    expect(await verified(got.token!, ORDERS)).toMatchObject({
      sub: 'alice',
      scope: 'api:read',
      act: { sub: 'web-exchange' },
    });
  });

  it('names the actor of actor_token, a token issued to the exchanging client', async () => {
    const subject = await userTokens('demo-web');
    const actor = await userTokens('web-exchange', 'bob');
    const got = await exchange('web-exchange', {
      subject_token: (await userTokens('web-exchange')).access_token,
      subject_token_type: ACCESS_TOKEN,
      audience: ORDERS,
      actor_token: actor.access_token,
      actor_token_type: ACCESS_TOKEN,
    });
    expect(got.error, got.description).toBeUndefined();
    expect((await verified(got.token!, ORDERS)).act).toEqual({ sub: 'bob' });
    // An actor token issued to another client is not this client's to present.
    const foreignActor = await exchange('web-exchange', {
      subject_token: actor.access_token,
      subject_token_type: ACCESS_TOKEN,
      audience: ORDERS,
      actor_token: subject.access_token,
      actor_token_type: ACCESS_TOKEN,
    });
    expect(foreignActor.error).toBe('invalid_request');
  });
});

describe('token exchange refusals', () => {
  let subject: string;
  beforeAll(async () => {
    subject = (await userTokens('demo-web')).access_token;
  });
  const asGateway = (extra: Record<string, string>) =>
    exchange('gateway', { subject_token: subject, subject_token_type: ACCESS_TOKEN, ...extra });

  it('refuses a target the client may not get tokens for: invalid_target', async () => {
    expect((await asGateway({ audience: BILLING })).error).toBe('invalid_target');
    expect((await asGateway({ audience: 'https://nowhere.test' })).error).toBe('invalid_target');
    expect((await asGateway({ audience: ORDERS, resource: BILLING })).error).toBe('invalid_target');
  });

  it('refuses scope widening: invalid_scope', async () => {
    // The subject token had api:read only; orders:write exists on the target, api:write not.
    expect((await asGateway({ audience: ORDERS, scope: 'orders:write' })).error).toBe(
      'invalid_scope',
    );
    expect((await asGateway({ audience: ORDERS, scope: 'api:read api:write' })).error).toBe(
      'invalid_scope',
    );
  });

  it('refuses a subject token that is unknown, foreign, expired, revoked or not its own: invalid_request (RFC 8693 §2.2.2)', async () => {
    const refusal = async (clientId: string, subjectToken: string, why: RegExp) => {
      const got = await exchange(clientId, {
        subject_token: subjectToken,
        subject_token_type: ACCESS_TOKEN,
        audience: ORDERS,
      });
      expect(got.error).toBe('invalid_request');
      expect(got.description).toMatch(why);
    };
    await refusal('gateway', 'no-such-token', /unknown or revoked/);

    // Signed by a key this issuer never published, though it claims this issuer.
    const { privateKey } = await generateKeyPair('RS256');
    const forged = await new SignJWT({ scope: 'api:read', client_id: 'demo-web' })
      .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: 'forged' })
      .setIssuer(issuer.url)
      .setSubject('alice')
      .setAudience(DEMO_API_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
    await refusal('gateway', forged, /not signed by a key this issuer publishes/);
    const other = await rpSignIn(
      await rpClient(`${issuer.url}/other`, 'demo-web', 'demo-web-secret'),
      new Browser(),
      { scope: 'openid profile api:read' },
    );
    await refusal('gateway', other.access_token, /not signed by a key this issuer publishes/);

    // A token for an API the outsider does not serve, issued to another client.
    await refusal('outsider', subject, /issued neither to outsider nor for an API it serves/);
    // A client_credentials token names no user.
    const service = await tokenRequest(
      issuer.url,
      { grant_type: 'client_credentials' },
      basic('demo-service', 'demo-service-secret'),
    );
    await refusal('gateway', String(service.body.access_token), /names no user/);

    // Expired: a 1 s token, past the 1 s clock tolerance.
    const short = (await userTokens('short-web')).access_token;
    await new Promise((r) => setTimeout(r, 2500));
    await refusal('gateway', short, /has expired/);

    // Revoked: an opaque token revoked by its client.
    const opaque = await opaqueToken();
    const revoked = await fetch(`${issuer.url}/token/revocation`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basic('opaque-web', 'opaque-web-secret'),
      },
      body: new URLSearchParams({ token: opaque }),
    });
    expect(revoked.status).toBe(200);
    await refusal('gateway', opaque, /unknown or revoked/);
  });

  it('refuses ID tokens unless allowed, and ID tokens of another client', async () => {
    const web = await userTokens('demo-web');
    expect(
      (
        await asGateway({
          audience: ORDERS,
          subject_token: web.id_token!,
          subject_token_type: ID_TOKEN,
        })
      ).error,
    ).toBe('invalid_request');
    const other = await exchange('web-exchange', {
      subject_token: web.id_token!,
      subject_token_type: ID_TOKEN,
      audience: ORDERS,
    });
    expect(other.error).toBe('invalid_request');
    // An access token sent as an ID token (and the other way round) is not taken for one.
    const own = await userTokens('web-exchange');
    const mislabelled = await exchange('web-exchange', {
      subject_token: own.access_token,
      subject_token_type: ID_TOKEN,
      audience: ORDERS,
    });
    expect(mislabelled.error).toBe('invalid_request');
    const reverse = await exchange('web-exchange', {
      subject_token: own.id_token!,
      subject_token_type: ACCESS_TOKEN,
      audience: ORDERS,
    });
    expect(reverse.error).toBe('invalid_request');
  });

  it('refuses malformed requests: invalid_request', async () => {
    expect((await asGateway({ audience: ORDERS, subject_token_type: 'urn:x:saml' })).error).toBe(
      'invalid_request',
    );
    expect((await asGateway({ audience: ORDERS, requested_token_type: ID_TOKEN })).error).toBe(
      'invalid_request',
    );
    const missing = await tokenRequest(
      issuer.url,
      { grant_type: GRANT, subject_token_type: ACCESS_TOKEN },
      basic('gateway', 'gateway-secret'),
    );
    expect(missing.status).toBe(400);
    expect(missing.body.error).toBe('invalid_request');
  });

  it('refuses a client that is not allowed the grant: unauthorized_client', async () => {
    const answer = await tokenRequest(
      issuer.url,
      { grant_type: GRANT, subject_token: subject, subject_token_type: ACCESS_TOKEN },
      basic('demo-service', 'demo-service-secret'),
    );
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ error: 'unauthorized_client' });
    expect(String(answer.body.error_description)).toContain('grantTypes');
  });
});

describe('an issuer where no client is allowed token exchange', () => {
  it('does not support the grant: unsupported_grant_type, not in discovery', async () => {
    const plain = await startTestIssuer();
    try {
      const metadata = (await (
        await fetch(`${plain.url}/.well-known/openid-configuration`)
      ).json()) as { grant_types_supported: string[] };
      expect(metadata.grant_types_supported).not.toContain(GRANT);
      const answer = await tokenRequest(
        plain.url,
        { grant_type: GRANT, subject_token: 'x', subject_token_type: ACCESS_TOKEN },
        basic('demo-web', 'demo-web-secret'),
      );
      expect(answer.body.error).toBe('unsupported_grant_type');
    } finally {
      await plain.close();
    }
  });
});
