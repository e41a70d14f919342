import { createRemoteJWKSet, decodeProtectedHeader, type JWK, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningIssuer } from '../../src/issuer.js';
import { Browser } from '../support/browser.js';
import { startTestIssuer } from '../support/issuer.js';

const CALLBACK = 'http://localhost:3001/callback';
let issuer: RunningIssuer;

beforeAll(async () => {
  issuer = await startTestIssuer({
    login: { headless: true, userPicker: true, anyUser: false },
    keys: { algorithms: ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'] },
    resourceServers: [
      { audience: 'urn:api:eddsa', scopes: ['e:read'], signingAlg: 'EdDSA' },
      { audience: 'urn:api:ps256', scopes: ['p:read'], signingAlg: 'PS256' },
    ],
    clients: [
      {
        id: 'es384-app',
        secret: 'es384-app-secret',
        redirectUris: [CALLBACK],
        skipConsent: true,
        scopes: ['openid', 'email'],
        idTokenSigningAlg: 'ES384',
      },
      {
        id: 'm2m-eddsa',
        secret: 'm2m-eddsa-secret',
        grantTypes: ['client_credentials'],
        scopes: ['e:read'],
        resources: ['urn:api:eddsa'],
      },
      {
        id: 'm2m-ps256',
        secret: 'm2m-ps256-secret',
        grantTypes: ['client_credentials'],
        scopes: ['p:read'],
        resources: ['urn:api:ps256'],
      },
    ],
  });
});
afterAll(async () => {
  await issuer?.close();
});

const clientCredentials = async (id: string): Promise<string> => {
  const res = await fetch(`${issuer.url}/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${id}:${id}-secret`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
};

describe('several signing algorithms at once', () => {
  it('publishes one active and one next key for each, with distinct kids', async () => {
    const { keys } = (await (await fetch(`${issuer.url}/jwks`)).json()) as { keys: JWK[] };
    const byAlg = new Map<string, number>();
    for (const k of keys) byAlg.set(k.alg!, (byAlg.get(k.alg!) ?? 0) + 1);
    expect(Object.fromEntries(byAlg)).toEqual({ RS256: 2, PS256: 2, ES256: 2, ES384: 2, EdDSA: 2 });
    expect(new Set(keys.map((k) => k.kid)).size).toBe(keys.length);
    const discovery = (await (
      await fetch(`${issuer.url}/.well-known/openid-configuration`)
    ).json()) as {
      id_token_signing_alg_values_supported: string[];
    };
    expect(discovery.id_token_signing_alg_values_supported).toEqual(
      expect.arrayContaining(['RS256', 'ES384', 'EdDSA']),
    );
  });

  it('signs access tokens with the resource server’s algorithm and ID tokens with the client’s', async () => {
    const jwks = createRemoteJWKSet(new URL(`${issuer.url}/jwks`));
    const eddsa = await clientCredentials('m2m-eddsa');
    expect(decodeProtectedHeader(eddsa).alg).toBe('EdDSA');
    await jwtVerify(eddsa, jwks, { issuer: issuer.url, audience: 'urn:api:eddsa' });
    const ps256 = await clientCredentials('m2m-ps256');
    expect(decodeProtectedHeader(ps256).alg).toBe('PS256');
    await jwtVerify(ps256, jwks, { issuer: issuer.url, audience: 'urn:api:ps256' });

    const config = await oidc.discovery(
      new URL(issuer.url),
      'es384-app',
      'es384-app-secret',
      undefined,
      {
        execute: [oidc.allowInsecureRequests],
      },
    );
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: CALLBACK,
      scope: 'openid email',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      login_hint: 'alice',
      state: 's',
    });
    // Headless login: interaction → resume → callback, no page shown.
    const done = await new Browser().follow(url.toString(), {}, CALLBACK);
    expect(done.status).toBe(0);
    const location = done.url;
    const tokens = await oidc.authorizationCodeGrant(config, new URL(location), {
      pkceCodeVerifier: verifier,
      expectedState: 's',
    });
    expect(decodeProtectedHeader(tokens.id_token!).alg).toBe('ES384');
    const { payload } = await jwtVerify(tokens.id_token!, jwks, {
      issuer: issuer.url,
      audience: 'es384-app',
    });
    expect(payload.email).toBe('alice@example.com');
  });
});
