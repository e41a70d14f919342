import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeConfig } from '../../src/config/describe.js';
import { loadConfig } from '../../src/config/load.js';
import { parseRedisUrl, RedisUrlError } from '../../src/config/redis-url.js';
import { logSecretsOf } from '../../src/log.js';
import { createRedisClient } from '../../src/store/redis.js';
import { problemsFrom, problemsOf } from '../support/config.js';

const reason = (url: string) => {
  try {
    parseRedisUrl(url);
  } catch (err) {
    if (err instanceof RedisUrlError) return err.message;
    throw err;
  }
  return undefined;
};

describe('store URLs', () => {
  it('reads a Sentinel URL into the Sentinels, the master name, the database and credentials', () => {
    expect(parseRedisUrl('redis+sentinel://s1:26379,10.0.0.2:26380,[::1]/mymaster')).toEqual({
      topology: 'sentinel',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: '10.0.0.2', port: 26380 },
        { host: '::1', port: 26379 },
      ],
      masterName: 'mymaster',
      db: 0,
      tls: false,
    });
    expect(parseRedisUrl('redis+sentinel://app:p%40ss@s1:26379/my-master?db=3')).toEqual({
      topology: 'sentinel',
      sentinels: [{ host: 's1', port: 26379 }],
      masterName: 'my-master',
      db: 3,
      tls: false,
      username: 'app',
      password: 'p@ss',
    });
    expect(parseRedisUrl('redis+sentinel://:secret@s1/m')).toMatchObject({ password: 'secret' });
    expect(parseRedisUrl('rediss+sentinel://app:pw@s1:26380,s2/m')).toEqual({
      topology: 'sentinel',
      sentinels: [
        { host: 's1', port: 26380 },
        { host: 's2', port: 26379 },
      ],
      masterName: 'm',
      db: 0,
      tls: true,
      username: 'app',
      password: 'pw',
    });
  });

  it('reads Cluster and standalone URLs as before', () => {
    expect(parseRedisUrl('rediss+cluster://u:p@h1:7000,h2:7001')).toEqual({
      topology: 'cluster',
      nodes: [
        { host: 'h1', port: 7000 },
        { host: 'h2', port: 7001 },
      ],
      tls: true,
      username: 'u',
      password: 'p',
    });
    expect(parseRedisUrl('rediss://h:6380/2')).toEqual({
      topology: 'standalone',
      url: 'rediss://h:6380/2',
      tls: true,
    });
  });

  it('says what is wrong with a malformed URL, without echoing the password', () => {
    expect(reason('redis+sentinel://s1:26379')).toMatch(/name the master/);
    expect(reason('redis+sentinel://s1:26379/')).toMatch(/name the master/);
    expect(reason('redis+sentinel:///mymaster')).toMatch(/at least one Sentinel/);
    expect(reason('redis+sentinel://s1:99999/m')).toMatch(/Sentinel "s1:99999" is not host:port/);
    expect(reason('redis+sentinel://s1:26379/m?db=x')).toMatch(/db must be a database number/);
    expect(reason('redis+sentinel://s1:26379/m?role=slave')).toMatch(/unknown parameter "role"/);
    expect(reason('redis+sentinel://s1/m/extra')).toMatch(/contains "\/"/);
    expect(reason('redis+cluster://h1:7000,h2')).toMatch(/cluster node "h2" is not host:port/);
    expect(reason('redis+sentinel://u:hunter2-pw@s1:x/m')).not.toContain('hunter2-pw');
    expect(reason('http://h:1')).toMatch(/must start with redis:\/\//);
  });

  it('config validation names REDIS_URL (and redis.url) for a malformed URL', () => {
    expect(
      problemsFrom(() => loadConfig({ env: { REDIS_URL: 'redis+sentinel://s1:26379,s2:26379' } })),
    ).toEqual([
      'REDIS_URL (sets redis.url): name the master after the Sentinels: redis+sentinel://s1:26379/mymaster',
    ]);
    expect(problemsFrom(() => loadConfig({ env: { REDIS_URL: 'sentinel://s1/m' } }))).toEqual([
      expect.stringMatching(
        /^REDIS_URL \(sets redis\.url\): must start with redis:\/\/, .*, rediss\+sentinel:\/\/$/,
      ),
    ]);
    const ok = loadConfig({ env: { REDIS_URL: 'redis+sentinel://s1:26379,s2:26379/mymaster' } });
    expect(ok.redis.url).toBe('redis+sentinel://s1:26379,s2:26379/mymaster');
  });

  it('checks the TLS files: readable, only with a TLS URL, certificate and key together', () => {
    const dir = mkdtempSync(join(tmpdir(), 'redis-tls-'));
    const ca = join(dir, 'ca.pem');
    writeFileSync(ca, 'not checked here');
    const missing = join(dir, 'missing.pem');
    expect(
      problemsFrom(() =>
        loadConfig({ env: { REDIS_URL: 'rediss://h:6380', REDIS_CA_FILE: missing } }),
      ),
    ).toEqual([`REDIS_CA_FILE (sets redis.tls.caFile): cannot read "${missing}" (ENOENT)`]);
    expect(
      problemsFrom(() => loadConfig({ env: { REDIS_URL: 'redis://h:6379', REDIS_CA_FILE: ca } })),
    ).toEqual([
      'redis.tls: needs a TLS store URL (rediss://, rediss+cluster:// or rediss+sentinel://)',
    ]);
    expect(
      problemsFrom(() =>
        loadConfig({ env: { REDIS_URL: 'redis+sentinel://s1/m', REDIS_CA_FILE: ca } }),
      ),
    ).toHaveLength(1);
    expect(
      loadConfig({ env: { REDIS_URL: 'rediss+sentinel://s1/m', REDIS_CA_FILE: ca } }).redis.tls,
    ).toEqual({ caFile: ca });
    expect(
      problemsFrom(() =>
        loadConfig({ env: { REDIS_URL: 'rediss://h:6380', REDIS_CERT_FILE: ca } }),
      ),
    ).toEqual(['redis.tls.keyFile: a client certificate needs both certFile and keyFile']);
    const config = loadConfig({ env: { REDIS_URL: 'rediss://h:6380', REDIS_CA_FILE: ca } });
    expect(config.redis.tls).toEqual({ caFile: ca });
  });

  it('createRedisClient refuses what config validation refuses, naming the variable', () => {
    expect(problemsFrom(() => createRedisClient('redis+sentinel://s1:26379'))).toEqual([
      'REDIS_URL: name the master after the Sentinels: redis+sentinel://s1:26379/mymaster',
    ]);
    expect(
      problemsFrom(() => createRedisClient('redis://h:1', { tls: { caFile: '/nonexistent' } })),
    ).toEqual([
      'redis.tls: needs a TLS store URL (rediss://, rediss+cluster:// or rediss+sentinel://)',
    ]);
    expect(
      problemsFrom(() => createRedisClient('redis://h:1', { sentinel: { password: 'pw' } })),
    ).toEqual([
      'redis.sentinel: only for a Sentinel store URL (redis+sentinel:// or rediss+sentinel://)',
    ]);
  });

  it("reads the Sentinels' login from REDIS_SENTINEL_USERNAME / _PASSWORD, only with a Sentinel URL", () => {
    const env = {
      REDIS_URL: 'redis+sentinel://:master-pw@s1/m',
      REDIS_SENTINEL_USERNAME: 'watcher',
      REDIS_SENTINEL_PASSWORD: 'sentinel-pw-0123',
    };
    expect(loadConfig({ env }).redis.sentinel).toEqual({
      username: 'watcher',
      password: 'sentinel-pw-0123',
    });
    expect(
      problemsFrom(() => loadConfig({ env: { ...env, REDIS_URL: 'redis://h:6379' } })),
    ).toEqual([
      'REDIS_SENTINEL_PASSWORD (sets redis.sentinel.password): only for a Sentinel store URL (redis+sentinel:// or rediss+sentinel://)',
    ]);
    expect(
      problemsFrom(() =>
        loadConfig({ env: { REDIS_URL: 'rediss://h:6380', REDIS_SENTINEL_USERNAME: 'watcher' } }),
      ),
    ).toEqual([
      'REDIS_SENTINEL_USERNAME (sets redis.sentinel.username): only for a Sentinel store URL (redis+sentinel:// or rediss+sentinel://)',
    ]);
    expect(problemsOf({ redis: { sentinel: { password: '' } } })).toEqual([
      expect.stringMatching(/^redis\.sentinel\.password: /),
    ]);
  });

  it("keeps the Sentinels' password out of config print and the logs", () => {
    const config = loadConfig({
      env: { REDIS_URL: 'redis+sentinel://s1/m', REDIS_SENTINEL_PASSWORD: 'sentinel-pw-0123' },
    });
    const printed = describeConfig(config) as { redis: { sentinel: unknown } };
    expect(printed.redis.sentinel).toEqual({ password: '***' });
    expect(logSecretsOf(config)).toContain('sentinel-pw-0123');
  });
});
