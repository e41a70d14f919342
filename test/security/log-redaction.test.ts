/**
 * No secret from the store URL in any log line, at any level. A real redis-server with an ACL
 * user refuses the issuer's login (wrong password, unknown user, password-only AUTH against
 * the default user); ioredis' errors then carry the AUTH / HELLO … AUTH arguments, the start
 * ends with exit code 2 (a refusal does not heal by waiting), and the issuer's whole output (stdout and stderr of `oidc-issuer start`, LOG_LEVEL=trace) must not
 * contain the password or the `user:password` pair — while still saying what went wrong.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { createLogger, logSecretsOf } from '../../src/log.js';
import { runCli } from '../integration/cli-run.js';
import { spawnIssuer, waitFor } from '../support/issuer.js';
import { startRedis, type TestRedis, uniqueNamespace } from '../support/redis.js';

const USER = 'issuer-app';
const RIGHT = 'right-Pa55word-7d1e';
const WRONG = 'wrong-Pa55word-42c9';

let redis: TestRedis;

beforeAll(async () => {
  redis = await startRedis(['--user', USER, 'on', `>${RIGHT}`, '~*', '&*', '+@all']);
  // The default user gets a password too (after the start helper's PING), so a password-only
  // AUTH is refused as well.
  const admin = new Redis({ port: redis.port, host: '127.0.0.1' });
  await admin.acl('SETUSER', 'default', 'on', 'resetpass', `>${RIGHT}-default`);
  admin.disconnect();
});
afterAll(async () => {
  await redis?.stop();
});

/**
 * Starts the issuer against `url`, which Redis refuses: a refusal does not heal by waiting, so
 * the start must end with exit code 2 and one `oidc-issuer: … (STORE_AUTH_REFUSED)` line.
 * Returns everything it printed (LOG_LEVEL=trace).
 */
async function outputWith(url: string): Promise<string> {
  const res = await runCli(['start'], {
    env: {
      PORT: '0',
      HOST: '127.0.0.1',
      REDIS_URL: url,
      REDIS_NAMESPACE: uniqueNamespace('redact'),
      LOG_LEVEL: 'trace',
    },
    timeoutMs: 20_000,
  });
  expect(res.code, res.stderr).toBe(2);
  const lines = res.stderr.split('\n').filter((l) => l.startsWith('oidc-issuer: '));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/refused the login .*REDIS_URL.*\(STORE_AUTH_REFUSED\)$/);
  expect(res.stderr).not.toContain('listening on');
  return res.stdout + res.stderr;
}

function expectNoSecret(output: string, ...secrets: string[]) {
  expect(output.length).toBeGreaterThan(0);
  for (const secret of secrets) {
    expect(output).not.toContain(secret);
    expect(output).not.toContain(encodeURIComponent(secret));
  }
}

describe('Redis refuses the login; the logs say so without the secret', () => {
  it('ACL user, wrong password (HELLO 3 AUTH user password)', async () => {
    const output = await outputWith(`redis://${USER}:${WRONG}@127.0.0.1:${redis.port}`);
    expect(output).toMatch(/WRONGPASS/);
    expect(output).toContain(`127.0.0.1:${redis.port}`);
    expectNoSecret(output, WRONG, `${USER}:${WRONG}`);
  }, 30_000);

  it('password only, against a default user with another password', async () => {
    const output = await outputWith(`redis://:${WRONG}@127.0.0.1:${redis.port}`);
    expect(output).toMatch(/WRONGPASS/);
    expectNoSecret(output, WRONG);
  }, 30_000);

  it('a password with characters that URL-encode', async () => {
    const odd = 'p@ss:w/rd%!-9f3a';
    const output = await outputWith(
      `redis://${USER}:${encodeURIComponent(odd)}@127.0.0.1:${redis.port}`,
    );
    expect(output).toMatch(/WRONGPASS/);
    expectNoSecret(output, odd);
  }, 30_000);

  it('the right password starts the issuer, and does not appear in its output either', async () => {
    const issuer = await spawnIssuer({
      REDIS_URL: `redis://${USER}:${RIGHT}@127.0.0.1:${redis.port}`,
      REDIS_NAMESPACE: uniqueNamespace('redact'),
      LOG_LEVEL: 'trace',
    });
    try {
      await waitFor(
        async () => (await fetch(`http://127.0.0.1:${issuer.port}/readyz`)).ok,
        15_000,
        'readyz',
      );
    } finally {
      await issuer.stop();
    }
    expectNoSecret(issuer.output(), RIGHT);
  }, 30_000);
});

describe('the logger itself redacts, whatever logs the error', () => {
  const capture = (secrets: string[] = []) => {
    const lines: string[] = [];
    const sink = {
      write: (line: string) => {
        lines.push(line);
        return true;
      },
    } as unknown as NodeJS.WritableStream;
    return { logger: createLogger('trace', sink, secrets), output: () => lines.join('') };
  };

  it('drops Redis command arguments and URL credentials, even without knowing the secret', () => {
    const { logger, output } = capture();
    const err = Object.assign(new Error(`connect to redis://${USER}:${WRONG}@h:1 failed`), {
      command: { name: 'hello', args: ['3', 'AUTH', USER, WRONG] },
      previousErrors: [
        Object.assign(new Error('WRONGPASS'), { command: { name: 'auth', args: [WRONG] } }),
      ],
    });
    logger.error({ err }, 'redis connection error');
    logger.warn({ url: `rediss://${USER}:${WRONG}@h:1/0` }, `url redis://:${WRONG}@h:2`);
    logger.info({ err: new Error('x', { cause: err }) }, 'wrapped');
    expect(output()).toContain('WRONGPASS');
    expect(output()).toContain('"name":"hello"');
    expect(output()).toContain('redis connection error');
    expectNoSecret(output(), WRONG);
  });

  it('replaces the configured secrets wherever they appear', () => {
    const config = validateConfig({
      redis: { url: `redis://${USER}:${encodeURIComponent('pa"ss@w0rd')}@h:1` },
      admin: { token: 'admin-token-0123456789' },
      keys: { secret: 'keystore-secret-0123456789' },
    });
    const { logger, output } = capture(logSecretsOf(config));
    logger.info({ args: ['AUTH', USER, 'pa"ss@w0rd'] }, 'raw args');
    logger.warn(`token admin-token-0123456789 and key keystore-secret-0123456789`);
    expect(output()).toContain('raw args');
    expectNoSecret(output(), 'pa"ss@w0rd', 'admin-token-0123456789', 'keystore-secret-0123456789');
  });
});
