import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, rpClient, submitPassword } from '../support/flows.js';
import { type Fleet, spawnFleet } from '../support/issuer.js';
import { startRedis, type TestRedis, uniqueNamespace } from '../support/redis.js';

const CALLBACK = 'http://localhost:3001/callback';
let redis: TestRedis;
let fleet: Fleet;
let issuerUrl: string;

beforeAll(async () => {
  redis = await startRedis();
  // All three start at once on an empty Redis: exactly one key ring may come out of it.
  fleet = await spawnFleet(3, { REDIS_URL: redis.url, REDIS_NAMESPACE: uniqueNamespace('multi') });
  issuerUrl = fleet.issuerUrl;
}, 60_000);

afterAll(async () => {
  await fleet?.stop();
  await redis?.stop();
});

const base = (i: number) => fleet.base(i);

/** An openid-client configuration whose requests go to instance `i` (same issuer everywhere). */
const clientVia = (i: number) => rpClient(issuerUrl, 'demo-web', 'demo-web-secret', base(i));

function authorizeUrl(instance: number, params: Record<string, string>): string {
  const url = new URL(`${base(instance)}/auth`);
  for (const [k, v] of Object.entries({
    client_id: 'demo-web',
    response_type: 'code',
    redirect_uri: CALLBACK,
    scope: 'openid profile email',
    ...params,
  })) {
    url.searchParams.set(k, v);
  }
  return url.toString();
}

describe('several instances sharing one Redis', () => {
  it('serve the same JWKS bytes and ETag, from one key ring created once', async () => {
    const responses = await Promise.all([0, 1, 2].map((i) => fetch(`${base(i)}/jwks`)));
    const bodies = await Promise.all(responses.map((r) => r.text()));
    expect(new Set(bodies).size).toBe(1);
    expect(new Set(responses.map((r) => r.headers.get('etag'))).size).toBe(1);
    const keys = (JSON.parse(bodies[0]!) as { keys: { kid: string }[] }).keys;
    expect(keys.length).toBe(2); // one active + one next for RS256
  });

  it('log in on the first, continue on the second, redeem on the second, refresh on the third, log out on the first', async () => {
    const browser = new Browser();
    const verifier = oidc.randomPKCECodeVerifier();
    const challenge = await oidc.calculatePKCECodeChallenge(verifier);
    const login = await browser.follow(
      authorizeUrl(0, { code_challenge: challenge, code_challenge_method: 'S256', state: 's1' }),
      {},
      CALLBACK,
    );
    expect(login.status).toBe(200);
    // The login form is posted to the second instance: interaction cookies are signed with the
    // shared cookie keys and the interaction lives in Redis.
    login.url = login.url.replace(base(0), base(1));
    const consent = await submitPassword(browser, login, 'alice', CALLBACK);
    expect(consent.status, consent.body).toBe(200);
    const done = await browser.submit(consent, /\/confirm$/, {}, CALLBACK);
    expect(done.status).toBe(0);

    const tokens = await oidc.authorizationCodeGrant(await clientVia(1), new URL(done.url), {
      pkceCodeVerifier: verifier,
      expectedState: 's1',
    });
    const jwks = createRemoteJWKSet(new URL(`${base(2)}/jwks`));
    await jwtVerify(tokens.id_token!, jwks, { issuer: issuerUrl, audience: 'demo-web' });
    const refreshed = await oidc.refreshTokenGrant(await clientVia(2), tokens.refresh_token!);
    expect(
      (await oidc.fetchUserInfo(await clientVia(0), refreshed.access_token, 'alice')).email,
    ).toBe('alice@example.com');

    // The session is shared: a silent request on the third instance gets a code.
    const silent = await browser.follow(
      authorizeUrl(2, { prompt: 'none', code_challenge: challenge, code_challenge_method: 'S256' }),
      {},
      CALLBACK,
    );
    expect(new URL(silent.url).searchParams.get('code')).toBeTruthy();

    const endUrl = `${base(0)}/session/end?id_token_hint=${refreshed.id_token}&post_logout_redirect_uri=${encodeURIComponent('http://localhost:3001/')}`;
    const confirm = await browser.follow(endUrl, {}, 'http://localhost:3001/');
    const out = await browser.submit(
      confirm,
      /\/session\/end\/confirm$/,
      { logout: 'yes' },
      'http://localhost:3001/',
    );
    expect(out.status).toBe(0);

    // Gone everywhere: no silent login on the second or third, and the refresh token is dead.
    for (const i of [1, 2]) {
      const after = await browser.follow(
        authorizeUrl(i, {
          prompt: 'none',
          code_challenge: challenge,
          code_challenge_method: 'S256',
        }),
        {},
        CALLBACK,
      );
      expect(new URL(after.url).searchParams.get('error')).toBe('login_required');
    }
    await expect(
      oidc.refreshTokenGrant(await clientVia(1), refreshed.refresh_token!),
    ).rejects.toMatchObject({
      error: 'invalid_grant',
    });
  });

  it('give exactly one 200 to 20 parallel redemptions of one code spread over the three', async () => {
    const browser = new Browser();
    const verifier = oidc.randomPKCECodeVerifier();
    const login = await browser.follow(
      authorizeUrl(0, {
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      }),
      {},
      CALLBACK,
    );
    const consent = await submitPassword(browser, login, 'bob', CALLBACK);
    const done = await browser.submit(consent, /\/confirm$/, {}, CALLBACK);
    const code = new URL(done.url).searchParams.get('code')!;
    const body = new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: CALLBACK,
      code_verifier: verifier,
    });
    const auth = `Basic ${Buffer.from('demo-web:demo-web-secret').toString('base64')}`;
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, n) =>
        fetch(`${base(n % 3)}/token`, {
          method: 'POST',
          headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
          body,
        }).then(async (r) => ({ status: r.status, body: (await r.json()) as { error?: string } })),
      ),
    );
    const ok = results.filter((r) => r.status === 200);
    expect(ok).toHaveLength(1);
    for (const r of results.filter((x) => x.status !== 200)) {
      expect(r.status).toBe(400);
      expect(r.body.error).toBe('invalid_grant');
    }
  });
});
