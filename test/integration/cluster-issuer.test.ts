import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, rpClient, rpSignIn } from '../support/flows.js';
import { type IssuerProcess, spawnIssuer, waitFor } from '../support/issuer.js';
import { freePort } from '../support/ports.js';
import { uniqueNamespace } from '../support/redis.js';
import { startRedisCluster, type TestRedisCluster } from '../support/redis-cluster.js';

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
