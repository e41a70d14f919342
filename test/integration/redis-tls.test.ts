import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificateAuthority } from '../support/certificates.js';
import { Browser, basic, redeem, signIn, tokenRequest, WEB } from '../support/flows.js';
import { type IssuerProcess, spawnIssuer, waitFor } from '../support/issuer.js';
import { freePort } from '../support/ports.js';
import { startRedis, type TestRedis, uniqueNamespace } from '../support/redis.js';
import { runCli } from './cli-run.js';

/**
 * redis-server's own TLS port, with a certificate from a throwaway CA. The plain port stays
 * for the test's own look at the data; the issuer is only given the TLS port.
 */
async function startTlsRedis(
  ca: ReturnType<typeof certificateAuthority>,
  authClients: 'yes' | 'no',
): Promise<{ redis: TestRedis; url: string }> {
  const server = ca.issue('redis', ['IP:127.0.0.1', 'DNS:localhost']);
  const tlsPort = await freePort();
  const redis = await startRedis([
    '--tls-port',
    String(tlsPort),
    '--tls-cert-file',
    server.certFile,
    '--tls-key-file',
    server.keyFile,
    '--tls-ca-cert-file',
    ca.caFile,
    '--tls-auth-clients',
    authClients,
  ]);
  return { redis, url: `rediss://127.0.0.1:${tlsPort}` };
}

const ca = certificateAuthority('oidc-issuer test Redis CA');
const otherCa = certificateAuthority('some other CA');
let open: { redis: TestRedis; url: string };
let mutual: { redis: TestRedis; url: string };
const issuers: IssuerProcess[] = [];

beforeAll(async () => {
  [open, mutual] = await Promise.all([startTlsRedis(ca, 'no'), startTlsRedis(ca, 'yes')]);
}, 30_000);

afterAll(async () => {
  await Promise.all(issuers.map((i) => i.stop()));
  await Promise.all([open?.redis.stop(), mutual?.redis.stop()]);
});

async function spawn(env: Record<string, string>): Promise<IssuerProcess> {
  const issuer = await spawnIssuer(env);
  issuers.push(issuer);
  return issuer;
}

describe('TLS to Redis (rediss://) with a CA file', () => {
  it('serves flows over a verified TLS connection, the state landing in that Redis', async () => {
    const namespace = uniqueNamespace('tls');
    const issuer = await spawn({
      REDIS_URL: open.url,
      REDIS_CA_FILE: ca.caFile,
      REDIS_NAMESPACE: namespace,
    });
    await waitFor(async () => (await fetch(`${issuer.url}/readyz`)).ok, 15_000, 'readyz');

    const { code, verifier } = await signIn(issuer.url, new Browser());
    const tokens = await redeem(issuer.url, code, verifier);
    expect(tokens.status, JSON.stringify(tokens.body)).toBe(200);
    await jwtVerify(
      String(tokens.body.id_token),
      createRemoteJWKSet(new URL(`${issuer.url}/jwks`)),
      { issuer: issuer.url, audience: WEB.id },
    );
    const refreshed = await tokenRequest(
      issuer.url,
      { grant_type: 'refresh_token', refresh_token: String(tokens.body.refresh_token) },
      basic(WEB.id, WEB.secret),
    );
    expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200);

    // The grant and the key ring are in the Redis behind the TLS port.
    const keys = await runCliRedis(open.redis.port, 'KEYS', `oidc:{${namespace}}:*`);
    expect(keys).toMatch(/:m:Grant:/);
    expect(keys).toMatch(/keyring/i);
  });

  it('a CA that did not sign the server certificate: not ready, a clear log line, no crash', async () => {
    const issuer = await spawn({
      REDIS_URL: open.url,
      REDIS_CA_FILE: otherCa.caFile,
      REDIS_NAMESPACE: uniqueNamespace('tls-wrong-ca'),
    });
    await waitFor(
      async () => issuer.output().includes("redis TLS: the server's certificate was not accepted"),
      15_000,
      'the certificate log line',
    );
    expect(issuer.output()).toMatch(/not accepted \((SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_\w+)\)/);
    expect(issuer.output()).toContain('REDIS_CA_FILE');
    // Past the start's wait for the store: serving, not ready, still running.
    await waitFor(
      async () => (await fetch(`${issuer.url}/healthz`)).status === 200,
      15_000,
      'healthz',
    );
    const ready = await fetch(`${issuer.url}/readyz`);
    expect(ready.status).toBe(503);
    const token = await tokenRequest(
      issuer.url,
      { grant_type: 'refresh_token', refresh_token: 'x' },
      basic(WEB.id, WEB.secret),
    );
    expect(token.status).toBe(503);
    expect(token.body.error).toBe('temporarily_unavailable');
    expect(issuer.child.exitCode).toBeNull();
  });

  it('the keys commands take the same URL and files; a client certificate where Redis asks for one', async () => {
    const client = ca.issue('oidc-issuer', ['DNS:oidc-issuer']);
    const env = {
      REDIS_URL: mutual.url,
      REDIS_CA_FILE: ca.caFile,
      REDIS_NAMESPACE: uniqueNamespace('tls-cli'),
      ISSUER: 'http://127.0.0.1:9',
    };
    const rotated = await runCli(['keys', 'rotate', '--now'], {
      env: { ...env, REDIS_CERT_FILE: client.certFile, REDIS_KEY_FILE: client.keyFile },
    });
    expect(rotated.code, rotated.stderr).toBe(0);
    const listed = await runCli(['keys', 'list', '--json'], {
      env: { ...env, REDIS_CERT_FILE: client.certFile, REDIS_KEY_FILE: client.keyFile },
    });
    expect(listed.code, listed.stderr).toBe(0);
    expect((JSON.parse(listed.stdout) as { keys: unknown[] }).keys.length).toBeGreaterThan(0);

    // Without the client certificate this Redis hangs up: the store is unreachable (exit 3).
    const refused = await runCli(['keys', 'list'], { env });
    expect(refused.code, refused.stderr).toBe(3);
    expect(refused.stderr).toContain('STORE_UNAVAILABLE');

    // A wrong CA is reported as such by the CLI too.
    const wrongCa = await runCli(['keys', 'list'], {
      env: { ...env, REDIS_CA_FILE: otherCa.caFile },
    });
    expect(wrongCa.code, wrongCa.stderr).toBe(3);
    expect(wrongCa.stderr).toContain("the server's certificate was not accepted");
    expect(wrongCa.stderr).toContain('REDIS_CA_FILE');
  });
});

/** A redis-cli command against the plain port, for looking at what the issuer wrote. */
async function runCliRedis(port: number, ...args: string[]): Promise<string> {
  const { execFile } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    execFile('redis-cli', ['-p', String(port), ...args], (err, stdout) =>
      err ? reject(err) : resolve(stdout),
    );
  });
}
