import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser } from '../support/browser.js';
import { type IssuerProcess, spawnIssuer, waitFor } from '../support/issuer.js';
import { freePort } from '../support/ports.js';
import { uniqueNamespace } from '../support/redis.js';
import { startRedisCluster, type TestRedisCluster } from '../support/redis-cluster.js';

const CALLBACK = 'http://localhost:3001/callback';
let cluster: TestRedisCluster;
let instances: IssuerProcess[];
let issuerUrl: string;

beforeAll(async () => {
  cluster = await startRedisCluster();
  const ports = [await freePort(), await freePort()];
  issuerUrl = `http://127.0.0.1:${ports[0]}`;
  const env = { REDIS_URL: cluster.url, ISSUER: issuerUrl, REDIS_NAMESPACE: uniqueNamespace('cl') };
  instances = await Promise.all(ports.map((port) => spawnIssuer({ ...env, PORT: String(port) })));
  await Promise.all(
    instances.map((i) =>
      waitFor(async () => (await fetch(`http://127.0.0.1:${i.port}/readyz`)).ok, 15_000, 'readyz'),
    ),
  );
}, 90_000);

afterAll(async () => {
  await Promise.all((instances ?? []).map((i) => i.stop()));
  await cluster?.stop();
});

describe('the issuer on a three-master Redis Cluster', () => {
  it('shares one key ring and runs a code flow across two instances', async () => {
    const [a, b] = instances.map((i) => `http://127.0.0.1:${i.port}`) as [string, string];
    const [jwksA, jwksB] = await Promise.all(
      [a, b].map(async (u) => (await fetch(`${u}/jwks`)).text()),
    );
    expect(jwksA).toBe(jwksB);

    const config = await oidc.discovery(
      new URL(issuerUrl),
      'demo-web',
      'demo-web-secret',
      undefined,
      {
        execute: [oidc.allowInsecureRequests],
      },
    );
    // Token requests go to the second instance.
    config[oidc.customFetch] = (url, options) => {
      const target = new URL(url);
      target.host = new URL(b).host;
      return fetch(target, options as RequestInit);
    };
    const browser = new Browser();
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: CALLBACK,
      scope: 'openid email',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: 'c',
    });
    const login = await browser.follow(url.toString(), {}, CALLBACK);
    const consent = await browser.submit(
      login,
      /\/login$/,
      { username: 'alice', password: 'alice' },
      CALLBACK,
      -1,
    );
    const done = await browser.submit(consent, /\/confirm$/, {}, CALLBACK);
    const tokens = await oidc.authorizationCodeGrant(config, new URL(done.url), {
      pkceCodeVerifier: verifier,
      expectedState: 'c',
    });
    const { payload } = await jwtVerify(
      tokens.id_token!,
      createRemoteJWKSet(new URL(`${a}/jwks`)),
      {
        issuer: issuerUrl,
        audience: 'demo-web',
      },
    );
    expect(payload.email).toBe('alice@example.com');
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.access_token).toBeTruthy();
  });
});
