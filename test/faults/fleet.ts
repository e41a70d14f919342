/**
 * What the fault tests share: a TCP proxy that can cut one issuer off from Redis, a config file
 * with short key and token durations, issuer processes that share one issuer URL and namespace,
 * and the "nothing lost" probes (published kids, minted tokens, verification).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from 'jose';
import { expect } from 'vitest';
import { demoConfig } from '../../src/config/demo.js';
import { type IssuerProcess, spawnIssuer, waitFor } from '../support/issuer.js';
import { freePort } from '../support/ports.js';

export const ADMIN_TOKEN = 'fault-tests-admin-token-0123456789';
export const KEYSTORE_SECRET = 'fault-tests-keystore-secret-0123456789';

/** A loopback TCP proxy to `targetPort` whose link can be cut and restored. */
export interface TcpProxy {
  readonly port: number;
  /** Drops every open connection and refuses new ones. */
  cut(): Promise<void>;
  /** Accepts connections again on the same port. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const port = await freePort();
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer((client) => {
        const upstream = connect(targetPort, '127.0.0.1');
        for (const sock of [client, upstream]) {
          sockets.add(sock);
          sock.on('close', () => sockets.delete(sock));
          sock.on('error', () => {
            client.destroy();
            upstream.destroy();
          });
        }
        client.pipe(upstream).pipe(client);
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => resolve());
      server = s;
    });
  const cut = async () => {
    const s = server;
    server = undefined;
    for (const sock of sockets) sock.destroy();
    if (s) await new Promise<void>((r) => s.close(() => r()));
  };
  await listen();
  return {
    port,
    cut,
    restore: async () => {
      if (!server) await listen();
    },
    close: cut,
  };
}

/**
 * Writes a config file: the demo clients and users with durations short enough for tests.
 * Retention (2 min) covers the longest token (60 s) plus the clock tolerance (1 s); the
 * rotation period (1 h) keeps policy rotations out of the way; a next key may sign after 1 s.
 */
export function writeFaultConfig(overrides: Record<string, unknown> = {}): string {
  const demo = demoConfig();
  const config = {
    ...demo,
    resourceServers: (demo.resourceServers ?? []).map((r) => ({ ...r, accessTokenTtl: '60s' })),
    ttl: { accessToken: '60s', idToken: '60s', clientCredentials: '60s' },
    clockTolerance: '1s',
    keys: { rotationPeriod: '1h', prePublication: '1s', retention: '2m', refreshInterval: '1s' },
    ...overrides,
  };
  const dir = mkdtempSync(join(tmpdir(), 'oidc-issuer-faults-'));
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(config));
  return file;
}

/** One issuer process of a fleet, reached directly on its own port. */
export interface Instance {
  proc: IssuerProcess;
  base: string;
}

/** Starts issuer processes that share `issuer`, namespace and config; waits for /healthz only. */
export async function startInstances(
  count: number,
  env: { issuer: string; configFile: string; namespace: string; redisUrls: string[] },
  ports?: number[],
): Promise<Instance[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const port = ports?.[i] ?? (await freePort());
      const proc = await spawnIssuer({
        PORT: String(port),
        ISSUER: env.issuer,
        OIDC_CONFIG: env.configFile,
        REDIS_URL: env.redisUrls[i] ?? env.redisUrls[0]!,
        REDIS_NAMESPACE: env.namespace,
        ADMIN_TOKEN,
        KEYSTORE_SECRET,
        LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
      });
      return { proc, base: `http://127.0.0.1:${port}` };
    }),
  );
}

export async function ready(instance: Instance): Promise<boolean> {
  const res = await fetch(`${instance.base}/readyz`);
  await res.arrayBuffer();
  return res.status === 200;
}

export const waitReady = (instances: Instance[], ms = 10_000) =>
  Promise.all(instances.map((i) => waitFor(() => ready(i), ms, `${i.base}/readyz`)));

export async function jwksOf(instance: Instance): Promise<JSONWebKeySet> {
  const res = await fetch(`${instance.base}/jwks`);
  expect(res.status, `${instance.base}/jwks`).toBe(200);
  return (await res.json()) as JSONWebKeySet;
}

export const kidsOf = async (instance: Instance) =>
  new Set((await jwksOf(instance)).keys.map((k) => String(k.kid)));

/** Waits until every instance publishes the same key set; returns its kids. */
export async function converged(instances: Instance[], ms = 10_000): Promise<Set<string>> {
  let kids = new Set<string>();
  await waitFor(
    async () => {
      const bodies = await Promise.all(
        instances.map(async (i) => (await fetch(`${i.base}/jwks`)).text()),
      );
      if (new Set(bodies).size !== 1) return false;
      kids = new Set((JSON.parse(bodies[0]!) as JSONWebKeySet).keys.map((k) => String(k.kid)));
      return true;
    },
    ms,
    'every instance to publish the same JWKS',
  );
  return kids;
}

/** A client_credentials access token (an RFC 9068 JWT) minted by `instance`. */
export async function mint(instance: Instance): Promise<string> {
  const res = await fetch(`${instance.base}/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from('demo-service:demo-service-secret').toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  });
  const body = (await res.json()) as { access_token?: string };
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body.access_token!;
}

export const kidOf = (jwt: string) => String(decodeProtectedHeader(jwt).kid);

/** Every token verifies (signature, issuer) against `jwks`. */
export async function expectAllVerify(tokens: string[], jwks: JSONWebKeySet, issuer: string) {
  const keySet = createLocalJWKSet(jwks);
  for (const token of tokens) {
    await expect(
      jwtVerify(token, keySet, { issuer }),
      `token signed by ${kidOf(token)} no longer verifies`,
    ).resolves.toBeDefined();
  }
}

export function expectSuperset(after: Set<string>, before: Set<string>, what: string) {
  const lost = [...before].filter((kid) => !after.has(kid));
  expect(lost, `${what}: published kids disappeared`).toEqual([]);
}

export async function rotate(instance: Instance): Promise<Response> {
  return fetch(`${instance.base}/admin/keys/rotate`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export { freePort, waitFor };
