/**
 * Redis Sentinel as managed and production setups run it: passwords on the master, the
 * replica and the Sentinels (ACL users for the issuer, `requirepass`/`masterauth` and
 * `sentinel auth-pass` between them), and TLS everywhere (`rediss+sentinel://`, TLS ports only,
 * client certificates). The issuer signs a user in through it and follows a failover; a login
 * that is refused ends the start with exit code 2 and says whose login it was; no password
 * reaches the output.
 */
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificateAuthority } from '../support/certificates.js';
import { Browser, basic, redeem, signIn, tokenRequest, WEB } from '../support/flows.js';
import { type IssuerProcess, spawnIssuer, waitFor } from '../support/issuer.js';
import { uniqueNamespace } from '../support/redis.js';
import {
  SENTINEL_GROUP_LOGINS,
  startSentinelGroup,
  type TestSentinelGroup,
} from '../support/redis-sentinel.js';
import { runCli } from './cli-run.js';

const { master, sentinel } = SENTINEL_GROUP_LOGINS;
const namespace = uniqueNamespace('sentinel-secured');
let group: TestSentinelGroup;
let issuer: IssuerProcess;

beforeAll(async () => {
  group = await startSentinelGroup({ passwords: true, tls: true });
  issuer = await spawnIssuer({ ...group.env, REDIS_NAMESPACE: namespace, LOG_LEVEL: 'trace' });
  await waitFor(async () => (await fetch(`${issuer.url}/readyz`)).ok, 20_000, 'readyz');
}, 60_000);

afterAll(async () => {
  await issuer?.stop();
  await group?.stop();
});

function expectNoSecret(output: string) {
  for (const secret of [master.password, sentinel.password]) {
    expect(output).not.toContain(secret);
  }
}

async function signInAndVerify(): Promise<{ refreshToken: string; kid: string | undefined }> {
  const { code, verifier } = await signIn(issuer.url, new Browser());
  const tokens = await redeem(issuer.url, code, verifier);
  expect(tokens.status, JSON.stringify(tokens.body)).toBe(200);
  const { protectedHeader } = await jwtVerify(
    String(tokens.body.id_token),
    createRemoteJWKSet(new URL(`${issuer.url}/jwks`)),
    { issuer: issuer.url, audience: WEB.id },
  );
  return { refreshToken: String(tokens.body.refresh_token), kid: protectedHeader.kid };
}

const refresh = (refreshToken: string) =>
  tokenRequest(
    issuer.url,
    { grant_type: 'refresh_token', refresh_token: refreshToken },
    basic(WEB.id, WEB.secret),
  );

describe('Redis Sentinel with passwords and TLS (rediss+sentinel://)', () => {
  let first: { refreshToken: string; kid: string | undefined };

  it('signs a user in, the state landing on the master the Sentinels name', async () => {
    expect(group.url).toMatch(/^rediss\+sentinel:\/\/issuer-app:/);
    first = await signInAndVerify();
    const keys = String(await group.ask(await group.masterPort(), 'KEYS', `oidc:{${namespace}}:*`));
    expect(keys).toMatch(/:m:Grant:/);
    expect(keys).toMatch(/keyring/i);
  });

  it('follows a failover: the grant and the key ring on the new master, reached with the same logins', async () => {
    await group.synced();
    const old = await group.killMaster();
    await group.failedOver(old);
    // Inside the window the store answers 503; then the refresh token works on the new master.
    await waitFor(
      async () => (await refresh(first.refreshToken)).status === 200,
      30_000,
      'refresh',
    );
    expect((await signInAndVerify()).kid).toBe(first.kid);
    await waitFor(async () => (await fetch(`${issuer.url}/readyz`)).ok, 10_000, 'readyz');
    expect(issuer.child.exitCode).toBeNull();
    expectNoSecret(issuer.output());
  }, 60_000);

  it('the keys commands take the same URL, Sentinel login and TLS files', async () => {
    const listed = await runCli(['keys', 'list', '--json'], {
      env: { ...group.env, REDIS_NAMESPACE: namespace, ISSUER: issuer.url },
    });
    expect(listed.code, listed.stderr).toBe(0);
    const kids = (JSON.parse(listed.stdout) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
    expect(kids).toContain(first.kid);
  });
});

describe("a CA that did not sign the Sentinels' certificates", () => {
  it('the issuer says so, stays up not ready and does not crash; the keys commands say so too', async () => {
    const otherCa = certificateAuthority('some other CA').caFile;
    const refused = await spawnIssuer({
      ...group.env,
      REDIS_CA_FILE: otherCa,
      REDIS_NAMESPACE: uniqueNamespace('sentinel-wrong-ca'),
    });
    try {
      const line =
        /redis TLS: Sentinel 127\.0\.0\.1:\d+'s certificate was not accepted \((SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_\w+)\)/;
      await waitFor(async () => line.test(refused.output()), 15_000, 'the certificate log line');
      expect(refused.output()).toContain('REDIS_CA_FILE');
      await waitFor(
        async () => (await fetch(`${refused.url}/healthz`)).status === 200,
        15_000,
        'healthz',
      );
      expect((await fetch(`${refused.url}/readyz`)).status).toBe(503);
      expect(refused.child.exitCode).toBeNull();

      const keys = await runCli(['keys', 'list'], {
        env: { ...group.env, REDIS_CA_FILE: otherCa, REDIS_NAMESPACE: namespace },
      });
      expect(keys.code, keys.stderr).toBe(3);
      expect(keys.stderr).toContain('STORE_UNAVAILABLE');
      expect(keys.stderr).toMatch(line);
    } finally {
      await refused.stop();
    }
  }, 40_000);
});

describe('a refused login ends the start (exit 2) and says whose it was', () => {
  /** `oidc-issuer start` with the group's settings and `env` on top; its one error line. */
  async function refusedStart(env: Record<string, string | undefined>): Promise<string> {
    const merged = { ...group.env, ...env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'trace' };
    const defined = Object.fromEntries(
      Object.entries(merged).filter((e): e is [string, string] => e[1] !== undefined),
    );
    const res = await runCli(['start'], {
      env: { ...defined, REDIS_NAMESPACE: uniqueNamespace('refused') },
      timeoutMs: 20_000,
    });
    expect(res.code, res.stderr).toBe(2);
    expectNoSecret(res.stdout + res.stderr);
    expect(res.stderr).not.toContain('listening on');
    const lines = res.stderr.split('\n').filter((l) => l.startsWith('oidc-issuer: '));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/\(STORE_AUTH_REFUSED\)$/);
    return lines[0]!;
  }

  it('the Sentinels refuse a wrong password, a wrong username, or none', async () => {
    const [wrong, stranger, none] = await Promise.all([
      refusedStart({ REDIS_SENTINEL_PASSWORD: 'not-the-sentinel-password' }),
      refusedStart({ REDIS_SENTINEL_USERNAME: 'not-a-sentinel-user' }),
      refusedStart({ REDIS_SENTINEL_USERNAME: undefined, REDIS_SENTINEL_PASSWORD: undefined }),
    ]);
    expect(wrong).toMatch(
      /^oidc-issuer: Redis Sentinel \(rediss\+sentinel:\/\/\*\*\*@127\.0\.0\.1:/,
    );
    expect(wrong).toMatch(
      /refused the login \(WRONGPASS [^)]*\); check the Sentinels' login: REDIS_SENTINEL_PASSWORD/,
    );
    expect(stranger).toMatch(
      /refused the login \(WRONGPASS [^)]*\); check the Sentinels' login: .*REDIS_SENTINEL_USERNAME/,
    );
    expect(none).toMatch(
      /Redis Sentinel .* refused the login \(NOAUTH [^)]*\).*REDIS_SENTINEL_PASSWORD/,
    );
    // The keys commands open the store the same way and end the same way.
    const keys = await runCli(['keys', 'list'], {
      env: { ...group.env, REDIS_SENTINEL_PASSWORD: 'not-the-sentinel-password' },
    });
    expect(keys.code, keys.stderr).toBe(2);
    expect(keys.stderr).toMatch(/Redis Sentinel .* refused the login \(WRONGPASS/);
    expectNoSecret(keys.stdout + keys.stderr);
  }, 30_000);

  it('the master refuses a wrong password in REDIS_URL', async () => {
    const line = await refusedStart({
      REDIS_URL: group.url.replace(encodeURIComponent(master.password), 'not-the-master-password'),
    });
    expect(line).toMatch(
      /^oidc-issuer: Redis master "oidc-test" \(named by the Sentinels of rediss\+sentinel:\/\/\*\*\*@/,
    );
    expect(line).toMatch(
      /refused the login \(WRONGPASS [^)]*\); check the master's login: .*REDIS_URL/,
    );
    expect(line).not.toContain('REDIS_SENTINEL_PASSWORD');
  }, 30_000);
});
