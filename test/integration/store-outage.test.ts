import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser } from '../support/browser.js';
import { submitPassword } from '../support/flows.js';
import { type IssuerProcess, spawnIssuer, waitFor } from '../support/issuer.js';
import { startRedis, type TestRedis, uniqueNamespace } from '../support/redis.js';

const CALLBACK = 'http://localhost:3001/callback';
let redis: TestRedis;
let issuer: IssuerProcess;

beforeAll(async () => {
  redis = await startRedis();
  issuer = await spawnIssuer({ REDIS_URL: redis.url, REDIS_NAMESPACE: uniqueNamespace('outage') });
  await waitFor(async () => (await fetch(`${issuer.url}/readyz`)).ok, 10_000, 'readyz');
}, 30_000);

afterAll(async () => {
  await issuer?.stop();
  await redis?.stop();
});

const timed = async <T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> => {
  const started = Date.now();
  const value = await work();
  return { value, ms: Date.now() - started };
};

const clientCredentials = () =>
  fetch(`${issuer.url}/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from('demo-service:demo-service-secret').toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  });

async function authorizeUntilLogin(browser: Browser) {
  const url = new URL(`${issuer.url}/auth`);
  url.search = new URLSearchParams({
    client_id: 'demo-web',
    response_type: 'code',
    redirect_uri: CALLBACK,
    scope: 'openid email',
    code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
  }).toString();
  return browser.follow(url.toString(), {}, CALLBACK);
}

describe('Redis going down mid-flow and coming back', () => {
  it('answers 503 in bounded time, keeps serving discovery and JWKS, and recovers without a restart', async () => {
    const browser = new Browser();
    const login = await authorizeUntilLogin(browser);
    expect(login.status).toBe(200);
    const jwksBefore = await (await fetch(`${issuer.url}/jwks`)).text();

    await redis.stop();

    // An endpoint that needs the store: OAuth-style JSON 503, fast.
    const introspection = await timed(() =>
      fetch(`${issuer.url}/token/introspection`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from('demo-web:demo-web-secret').toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: 'token=some-opaque-token',
      }),
    );
    expect(introspection.value.status).toBe(503);
    expect(((await introspection.value.json()) as { error: string }).error).toBe(
      'temporarily_unavailable',
    );
    expect(introspection.ms).toBeLessThan(3000);

    // A JWT access token for client_credentials is not stored, so it needs no store at all.
    expect((await clientCredentials()).status).toBe(200);

    // Interaction page: an error page, not a stack trace, fast.
    const page = await timed(() => submitPassword(browser, login, 'alice', CALLBACK));
    expect(page.value.status).toBe(503);
    expect(page.value.body).toContain('Temporarily unavailable');
    expect(page.value.headers.get('content-type')).toContain('text/html');
    expect(page.ms).toBeLessThan(3000);

    // Readiness reports it; liveness, discovery and the JWKS do not depend on the store.
    const ready = await timed(() => fetch(`${issuer.url}/readyz`));
    expect(ready.value.status).toBe(503);
    expect(ready.ms).toBeLessThan(3000);
    expect((await fetch(`${issuer.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${issuer.url}/.well-known/openid-configuration`)).status).toBe(200);
    const jwksDuring = await fetch(`${issuer.url}/jwks`);
    expect(jwksDuring.status).toBe(200);
    expect(await jwksDuring.text()).toBe(jwksBefore);

    // Back (empty: no persistence). Ready again, same keys written back, flows work.
    await redis.start();
    await waitFor(
      async () => (await fetch(`${issuer.url}/readyz`)).ok,
      15_000,
      'readyz after Redis returned',
    );
    expect((await clientCredentials()).status).toBe(200);
    expect(await (await fetch(`${issuer.url}/jwks`)).text()).toBe(jwksBefore);

    const fresh = new Browser();
    const again = await authorizeUntilLogin(fresh);
    expect(again.status).toBe(200);
    const consent = await submitPassword(fresh, again, 'alice', CALLBACK);
    expect(consent.status).toBe(200);
    expect(consent.body).toContain('Allow access');
    expect(issuer.child.exitCode).toBeNull();
  });
});
