/**
 * Security checklist, token endpoint (items 12, 14–20; item 13 needs several processes and
 * lives in code-race.test.ts). Every refusal is checked together with a control request that
 * succeeds, so a test cannot pass because everything fails.
 */
import type { KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type CryptoKey,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type JWK,
  type JWTHeaderParameters,
  SignJWT,
  UnsecuredJWT,
} from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEMO_API_AUDIENCE, demoConfig } from '../../src/config/demo.js';
import type { RunningIssuer } from '../../src/issuer.js';
import {
  Browser,
  basic,
  introspectActive,
  redeem,
  SPA_CALLBACK,
  signIn,
  tokenRequest,
  userinfoStatus,
  WEB,
  WEB_CALLBACK,
} from '../support/flows.js';
import { startTestIssuer } from '../support/issuer.js';

const OTHER = { id: 'other-web', secret: 'other-web-secret' } as const;
const HS_SECRET = 'a-client-secret-for-hs256-that-is-long-enough-0123456789';

let issuer: RunningIssuer;
let url: string;
let clientKey: CryptoKey | KeyObject;
let clientPublicJwk: JWK;
let clientPublicPem: string;
/** Counts every request that reaches the "attacker" server a jku/x5u header points at. */
let attackerHits = 0;
let attacker: Server;
let attackerUrl: string;

beforeAll(async () => {
  const pair = await generateKeyPair('RS256', { extractable: true });
  clientKey = pair.privateKey;
  clientPublicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'client-key-1', use: 'sig' };
  clientPublicPem = await exportSPKI(pair.publicKey);
  attacker = createServer((_req, res) => {
    attackerHits += 1;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"keys":[]}');
  });
  await new Promise<void>((r) => attacker.listen(0, '127.0.0.1', () => r()));
  attackerUrl = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}`;

  const demo = demoConfig();
  issuer = await startTestIssuer({
    clients: [
      ...(demo.clients ?? []),
      {
        id: OTHER.id,
        secret: OTHER.secret,
        redirectUris: [WEB_CALLBACK],
        grantTypes: ['authorization_code', 'refresh_token'],
        scopes: ['openid', 'profile', 'offline_access'],
      },
      {
        id: 'jwt-key',
        authMethod: 'private_key_jwt',
        jwks: { keys: [clientPublicJwk as Record<string, unknown>] },
        grantTypes: ['client_credentials'],
        scopes: ['api:read'],
        resources: [DEMO_API_AUDIENCE],
      },
      {
        id: 'jwt-secret',
        authMethod: 'client_secret_jwt',
        secret: HS_SECRET,
        grantTypes: ['client_credentials'],
        scopes: ['api:read'],
        resources: [DEMO_API_AUDIENCE],
      },
    ],
  });
  url = issuer.url;
});
afterAll(async () => {
  await issuer?.close();
  await new Promise((r) => attacker?.close(r));
});
afterEach(() => {
  vi.useRealTimers();
});

/** Moves the clock every in-process party reads (issuer, clients, jose) forward. */
function jumpAhead(ms: number) {
  const now = Date.now();
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(now + ms);
}

const webAuth = basic(WEB.id, WEB.secret);

describe('12. a reused code → invalid_grant, and the tokens issued from it stop working', () => {
  async function firstRedemption() {
    const { code, verifier } = await signIn(url, new Browser(), {
      params: { scope: 'openid profile offline_access' },
    });
    const first = await redeem(url, code, verifier);
    expect(first.status).toBe(200);
    const accessToken = String(first.body.access_token);
    const refreshToken = String(first.body.refresh_token);
    expect(await userinfoStatus(url, accessToken)).toBe(200);
    // The access token is a JWT for demo-web's API (introspection refuses those); the refresh
    // token is opaque.
    expect(await introspectActive(url, refreshToken)).toBe(true);
    return { code, verifier, accessToken, refreshToken };
  }

  async function expectRevoked(accessToken: string, refreshToken: string) {
    expect(await userinfoStatus(url, accessToken)).toBe(401);
    expect(await introspectActive(url, refreshToken)).toBe(false);
    const refreshed = await tokenRequest(
      url,
      { grant_type: 'refresh_token', refresh_token: refreshToken },
      webAuth,
    );
    expect(refreshed.status).toBe(400);
    expect(refreshed.body.error).toBe('invalid_grant');
  }

  it('reused at once', async () => {
    const { code, verifier, accessToken, refreshToken } = await firstRedemption();
    const again = await redeem(url, code, verifier);
    expect(again.status).toBe(400);
    expect(again.body.error).toBe('invalid_grant');
    await expectRevoked(accessToken, refreshToken);
  });

  it('reused 30 s later (the issuer clock moved on, the code is not expired yet)', async () => {
    const { code, verifier, accessToken, refreshToken } = await firstRedemption();
    jumpAhead(31_000);
    const again = await redeem(url, code, verifier);
    expect(again.status).toBe(400);
    expect(again.body.error).toBe('invalid_grant');
    await expectRevoked(accessToken, refreshToken);
  });
});

describe('14. code redeemed with the wrong redirect_uri, by another client, or expired', () => {
  it('redirect_uri differing from the authorization request → invalid_grant', async () => {
    const { code, verifier } = await signIn(url, new Browser());
    const wrong = await redeem(url, code, verifier, 'http://127.0.0.1:3001/callback');
    expect(wrong.status).toBe(400);
    expect(wrong.body.error).toBe('invalid_grant');
  });

  it('code of another (confidential) client → invalid_grant', async () => {
    const { code, verifier } = await signIn(url, new Browser());
    const stolen = await redeem(url, code, verifier, WEB_CALLBACK, basic(OTHER.id, OTHER.secret));
    expect(stolen.status).toBe(400);
    expect(stolen.body.error).toBe('invalid_grant');
  });

  it('code of another (public) client → invalid_grant', async () => {
    const { code, verifier } = await signIn(url, new Browser());
    const stolen = await tokenRequest(url, {
      grant_type: 'authorization_code',
      client_id: 'demo-spa',
      code,
      code_verifier: verifier,
      redirect_uri: WEB_CALLBACK,
    });
    expect(stolen.status).toBe(400);
    expect(stolen.body.error).toBe('invalid_grant');
  });

  it('expired code (the issuer clock moved past its 60 s lifetime) → invalid_grant', async () => {
    const { code, verifier } = await signIn(url, new Browser());
    jumpAhead(61_000 + issuer.config.clockTolerance);
    const late = await redeem(url, code, verifier);
    expect(late.status).toBe(400);
    expect(late.body.error).toBe('invalid_grant');
  });
});

describe('15. PKCE at the token endpoint → invalid_grant', () => {
  it('wrong verifier', async () => {
    const { code } = await signIn(url, new Browser());
    const res = await redeem(url, code, 'b'.repeat(43));
    expect(res.body.error).toBe('invalid_grant');
  });

  it('challenge without verifier', async () => {
    const { code } = await signIn(url, new Browser());
    const res = await tokenRequest(
      url,
      { grant_type: 'authorization_code', code, redirect_uri: WEB_CALLBACK },
      webAuth,
    );
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/^invalid_(grant|request)$/);
  });

  it('a malformed verifier (too short, bad charset)', async () => {
    for (const verifier of ['short', `${'a'.repeat(42)}+`]) {
      const { code } = await signIn(url, new Browser());
      const res = await redeem(url, code, verifier);
      expect(res.status).toBe(400);
      expect(res.body.error).toMatch(/^invalid_(grant|request)$/);
    }
  });

  it('verifier without challenge cannot arise: no code is issued without a challenge', async () => {
    // Covered at the authorization endpoint (item 8): PKCE is required for every client.
    const page = await new Browser().follow(
      `${url}/auth?client_id=demo-web&response_type=code&scope=openid&redirect_uri=${encodeURIComponent(WEB_CALLBACK)}`,
      {},
      WEB_CALLBACK,
    );
    expect(new URL(page.url).searchParams.get('error')).toBe('invalid_request');
  });
});

describe('16. wrong client credentials → 401 invalid_client', () => {
  it.each([
    ['wrong secret', basic(WEB.id, 'wrong')],
    ['unknown client', basic('nobody', 'x')],
    ['secret of another client', basic(WEB.id, OTHER.secret)],
  ])('%s', async (_label, auth) => {
    const res = await tokenRequest(url, { grant_type: 'client_credentials' }, auth);
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_client');
  });

  it('a wrong secret sent as client_secret_post', async () => {
    // oidc-provider accepts basic and post interchangeably; the secret is checked either way.
    const res = await tokenRequest(url, {
      grant_type: 'client_credentials',
      client_id: 'demo-service',
      client_secret: 'wrong',
    });
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_client');
  });

  it('an empty secret in Basic → a 4xx refusal, no token', async () => {
    const res = await tokenRequest(url, { grant_type: 'client_credentials' }, basic(WEB.id, ''));
    expect([400, 401]).toContain(res.status);
    expect(res.body.error).toMatch(/^invalid_(client|request)$/);
    expect(res.body.access_token).toBeUndefined();
  });
});

/** A client assertion for `clientId` with the given header and claims. */
async function assertion(
  clientId: string,
  key: CryptoKey | KeyObject | Uint8Array,
  header: Partial<JWTHeaderParameters> & { alg: string },
  claims: Record<string, unknown> = {},
): Promise<string> {
  return new SignJWT({ jti: crypto.randomUUID(), ...claims })
    .setProtectedHeader(header as JWTHeaderParameters)
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(String(claims.aud ?? url))
    .setIssuedAt()
    .setExpirationTime('1m')
    .sign(key);
}

const withAssertion = (clientId: string, clientAssertion: string) =>
  tokenRequest(url, {
    grant_type: 'client_credentials',
    client_id: clientId,
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: clientAssertion,
  });

const hsKey = new TextEncoder().encode(HS_SECRET);

describe('17. client assertions → invalid_client', () => {
  it('control: valid private_key_jwt and client_secret_jwt assertions get tokens', async () => {
    const a = await withAssertion(
      'jwt-key',
      await assertion('jwt-key', clientKey, { alg: 'RS256', kid: 'client-key-1' }),
    );
    expect(a.status, JSON.stringify(a.body)).toBe(200);
    const b = await withAssertion(
      'jwt-secret',
      await assertion('jwt-secret', hsKey, { alg: 'HS256' }),
    );
    expect(b.status, JSON.stringify(b.body)).toBe(200);
  });

  it('alg none', async () => {
    for (const clientId of ['jwt-key', 'jwt-secret']) {
      const unsigned = new UnsecuredJWT({ jti: crypto.randomUUID() })
        .setIssuer(clientId)
        .setSubject(clientId)
        .setAudience(url)
        .setIssuedAt()
        .setExpirationTime('1m')
        .encode();
      const res = await withAssertion(clientId, unsigned);
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('invalid_client');
    }
  });

  it('HS256 keyed with the public key (PEM and JWK bytes)', async () => {
    for (const secret of [clientPublicPem, JSON.stringify(clientPublicJwk)]) {
      const forged = await assertion('jwt-key', new TextEncoder().encode(secret), {
        alg: 'HS256',
        kid: 'client-key-1',
      });
      const res = await withAssertion('jwt-key', forged);
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('invalid_client');
    }
  });

  it('a reused jti', async () => {
    for (const [clientId, key, header] of [
      ['jwt-key', clientKey, { alg: 'RS256', kid: 'client-key-1' }],
      ['jwt-secret', hsKey, { alg: 'HS256' }],
    ] as const) {
      const jti = crypto.randomUUID();
      const first = await withAssertion(clientId, await assertion(clientId, key, header, { jti }));
      expect(first.status).toBe(200);
      const replay = await withAssertion(clientId, await assertion(clientId, key, header, { jti }));
      expect(replay.status).toBe(401);
      expect(replay.body.error).toBe('invalid_client');
    }
  });

  it('a wrong aud', async () => {
    for (const aud of ['http://evil.example', `${url}/me`, `${url}/`]) {
      const res = await withAssertion(
        'jwt-key',
        await assertion('jwt-key', clientKey, { alg: 'RS256', kid: 'client-key-1' }, { aud }),
      );
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('invalid_client');
    }
  });

  it('signed by a key the client did not register', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const res = await withAssertion(
      'jwt-key',
      await assertion('jwt-key', privateKey, { alg: 'RS256', kid: 'client-key-1' }),
    );
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_client');
  });
});

describe('18. hostile kid, jku and x5u headers → rejected, no outbound fetch', () => {
  it.each([['../x'], ['*'], ['{a}'], ['k'.repeat(10 * 1024)], ['client-key-1\u0000'], ['?']])(
    'client assertion with kid %#',
    async (kid) => {
      const res = await withAssertion(
        'jwt-key',
        await assertion('jwt-key', clientKey, { alg: 'RS256', kid }),
      );
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('invalid_client');
    },
  );

  it('an attacker key announced through jku / x5u / jwk is never trusted or fetched', async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const before = attackerHits;
    const headers: Partial<JWTHeaderParameters>[] = [
      { jku: `${attackerUrl}/jwks.json`, kid: 'attacker' },
      { x5u: `${attackerUrl}/cert.pem`, kid: 'attacker' },
      { jwk: await exportJWK(publicKey) },
    ];
    for (const header of headers) {
      const res = await withAssertion(
        'jwt-key',
        await assertion('jwt-key', privateKey, { alg: 'RS256', ...header }),
      );
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('invalid_client');
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(attackerHits).toBe(before);
  });

  it('jku / x5u on an assertion signed by the registered key → rejected, not fetched', async () => {
    const before = attackerHits;
    for (const header of [{ jku: `${attackerUrl}/jwks.json` }, { x5u: `${attackerUrl}/c.pem` }]) {
      const res = await withAssertion(
        'jwt-key',
        await assertion('jwt-key', clientKey, { alg: 'RS256', kid: 'client-key-1', ...header }),
      );
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('invalid_client');
    }
    expect(attackerHits).toBe(before);
  });

  it('an id_token_hint with a hostile kid or jku → error, no fetch', async () => {
    const before = attackerHits;
    const { privateKey } = await generateKeyPair('RS256');
    for (const header of [
      { kid: '../x' },
      { kid: '*' },
      { kid: 'k'.repeat(10 * 1024) },
      { jku: `${attackerUrl}/jwks.json`, kid: 'a' },
    ]) {
      const hint = await new SignJWT({ sub: 'alice', aud: 'demo-web' })
        .setProtectedHeader({ alg: 'RS256', ...header })
        .setIssuer(url)
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(privateKey);
      const page = await new Browser().request(`${url}/session/end?id_token_hint=${hint}`);
      expect(page.status).toBeGreaterThanOrEqual(400);
      expect(page.status).toBeLessThan(500);
    }
    expect(attackerHits).toBe(before);
  });
});

describe('19. refresh tokens', () => {
  it('a refresh token of another client → invalid_grant', async () => {
    const { code, verifier } = await signIn(url, new Browser(), {
      params: { scope: 'openid offline_access' },
    });
    const tokens = await redeem(url, code, verifier);
    const res = await tokenRequest(
      url,
      { grant_type: 'refresh_token', refresh_token: String(tokens.body.refresh_token) },
      basic(OTHER.id, OTHER.secret),
    );
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_grant');
  });

  it('a rotated refresh token reused → invalid_grant and the whole grant revoked', async () => {
    const { code, verifier } = await signIn(url, new Browser(), {
      params: {
        client_id: 'demo-spa',
        redirect_uri: SPA_CALLBACK,
        scope: 'openid offline_access',
      },
    });
    const spa = (form: Record<string, string>) =>
      tokenRequest(url, { client_id: 'demo-spa', ...form });
    const first = await spa({
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      redirect_uri: SPA_CALLBACK,
    });
    expect(first.status).toBe(200);
    const rt1 = String(first.body.refresh_token);
    const second = await spa({ grant_type: 'refresh_token', refresh_token: rt1 });
    expect(second.status).toBe(200);
    const rt2 = String(second.body.refresh_token);
    expect(rt2).not.toBe(rt1);
    const at2 = String(second.body.access_token);
    expect(await userinfoStatus(url, at2)).toBe(200);

    const replay = await spa({ grant_type: 'refresh_token', refresh_token: rt1 });
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe('invalid_grant');
    const afterReplay = await spa({ grant_type: 'refresh_token', refresh_token: rt2 });
    expect(afterReplay.status).toBe(400);
    expect(afterReplay.body.error).toBe('invalid_grant');
    expect(await userinfoStatus(url, at2)).toBe(401);
  });
});

describe('20. refresh asking for a wider scope → invalid_scope', () => {
  it('scope outside the original grant', async () => {
    const { code, verifier } = await signIn(url, new Browser(), {
      params: { scope: 'openid offline_access' },
    });
    const tokens = await redeem(url, code, verifier);
    const rt = String(tokens.body.refresh_token);
    const wider = await tokenRequest(
      url,
      { grant_type: 'refresh_token', refresh_token: rt, scope: 'openid offline_access profile' },
      webAuth,
    );
    expect(wider.status).toBe(400);
    expect(wider.body.error).toBe('invalid_scope');
    const same = await tokenRequest(
      url,
      { grant_type: 'refresh_token', refresh_token: rt, scope: 'openid' },
      webAuth,
    );
    expect(same.status).toBe(200);
  });
});
