import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, rpClient, rpSignIn } from '../support/flows.js';
import { type Fleet, spawnFleet } from '../support/issuer.js';
import { uniqueNamespace } from '../support/redis.js';
import { startRedisCluster, type TestRedisCluster } from '../support/redis-cluster.js';

let cluster: TestRedisCluster;
let fleet: Fleet;
let issuerUrl: string;

beforeAll(async () => {
  cluster = await startRedisCluster();
  fleet = await spawnFleet(2, { REDIS_URL: cluster.url, REDIS_NAMESPACE: uniqueNamespace('cl') });
  issuerUrl = fleet.issuerUrl;
}, 90_000);

afterAll(async () => {
  await fleet?.stop();
  await cluster?.stop();
});

describe('the issuer on a three-master Redis Cluster', () => {
  it('shares one key ring and runs a code flow across two instances', async () => {
    const [a, b] = [fleet.base(0), fleet.base(1)];
    const [jwksA, jwksB] = await Promise.all(
      [a, b].map(async (u) => (await fetch(`${u}/jwks`)).text()),
    );
    expect(jwksA).toBe(jwksB);

    // Token requests go to the second instance.
    const config = await rpClient(issuerUrl, 'demo-web', 'demo-web-secret', b);
    const tokens = await rpSignIn(config, new Browser(), { scope: 'openid email' });
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
