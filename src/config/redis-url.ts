/**
 * What a store URL (`redis.url`, `REDIS_URL`) names: one Redis server, a Redis Cluster, or a
 * master watched by Redis Sentinel. Pure parsing, no connection; `createRedisClient` turns the
 * result into an ioredis client.
 */

/** A `host:port` of a Cluster node or a Sentinel. */
export interface HostPort {
  host: string;
  port: number;
}

/**
 * Credentials from the URL's userinfo: for Redis itself (with Sentinel: the master and its
 * replicas), never for the Sentinels, whose login is `redis.sentinel` (see schema.ts).
 */
export interface RedisAuth {
  username?: string;
  password?: string;
}

export type RedisTarget =
  /** `redis://` or `rediss://`: handed to ioredis as written (it parses host, port, db, query). */
  | { topology: 'standalone'; url: string; tls: boolean }
  /** `redis+cluster://` or `rediss+cluster://`: seed nodes of a Cluster. */
  | ({ topology: 'cluster'; nodes: HostPort[]; tls: boolean } & RedisAuth)
  /**
   * `redis+sentinel://` or `rediss+sentinel://` (TLS to the Sentinels and to the master they
   * name): the Sentinels to ask for master `masterName`; `db` on that master.
   */
  | ({
      topology: 'sentinel';
      sentinels: HostPort[];
      masterName: string;
      db: number;
      tls: boolean;
    } & RedisAuth);

/** The schemes a store URL may start with, in the order messages list them. */
const REDIS_URL_SCHEMES = [
  'redis://',
  'rediss://',
  'redis+cluster://',
  'rediss+cluster://',
  'redis+sentinel://',
  'rediss+sentinel://',
] as const;

/** Why TLS settings (`redis.tls`) are refused with a URL that does not ask for TLS. */
export const NEEDS_TLS_URL =
  'needs a TLS store URL (rediss://, rediss+cluster:// or rediss+sentinel://)';

/** Why the Sentinels' login (`redis.sentinel`) is refused with a URL that names no Sentinels. */
export const NEEDS_SENTINEL_URL =
  'only for a Sentinel store URL (redis+sentinel:// or rediss+sentinel://)';

/** The port a Sentinel listens on when the URL names none. */
const SENTINEL_PORT = 26379;

/** A store URL that cannot be used; `message` says why, without the field name. */
export class RedisUrlError extends Error {}

/**
 * Reads a store URL:
 * - `redis://[user:pass@]host:port[/db]`, `rediss://…` (TLS);
 * - `redis+cluster://[user:pass@]h1:p1,h2:p2`, `rediss+cluster://…`;
 * - `redis+sentinel://[user:pass@]s1:26379,s2:26379/<master-name>[?db=<n>]`,
 *   `rediss+sentinel://…` (TLS to the Sentinels and the master) — the credentials are the
 *   master's (and its replicas'); the Sentinels' own login is not part of the URL.
 * @throws RedisUrlError naming what is wrong (never echoing the credentials).
 */
export function parseRedisUrl(url: string): RedisTarget {
  const scheme = REDIS_URL_SCHEMES.find((s) => url.startsWith(s));
  if (scheme === undefined) {
    throw new RedisUrlError(`must start with ${REDIS_URL_SCHEMES.join(', ')}`);
  }
  if (scheme === 'redis://' || scheme === 'rediss://') {
    try {
      new URL(url);
    } catch {
      throw new RedisUrlError('not a valid URL');
    }
    return { topology: 'standalone', url, tls: scheme === 'rediss://' };
  }
  const { hosts, auth, path, query } = splitMultiHost(url.slice(scheme.length));
  if (scheme === 'redis+sentinel://' || scheme === 'rediss+sentinel://') {
    const masterName = decodeName(path.replace(/^\//, ''));
    if (!masterName) {
      throw new RedisUrlError(
        'name the master after the Sentinels: redis+sentinel://s1:26379/mymaster',
      );
    }
    return {
      topology: 'sentinel',
      sentinels: parseHosts(hosts, 'Sentinel', SENTINEL_PORT),
      masterName,
      db: databaseOf(query),
      tls: scheme === 'rediss+sentinel://',
      ...auth,
    };
  }
  // A Cluster has no databases; the path was always ignored, so it still is.
  if (query !== '') throw new RedisUrlError('a Cluster URL takes no ?parameters');
  return {
    topology: 'cluster',
    nodes: parseHosts(hosts, 'cluster node'),
    tls: scheme === 'rediss+cluster://',
    ...auth,
  };
}

/** `problems` for config validation: [] when `url` is usable, else the reason. */
export function redisUrlProblems(url: string): string[] {
  try {
    parseRedisUrl(url);
    return [];
  } catch (err) {
    if (err instanceof RedisUrlError) return [err.message];
    throw err;
  }
}

/** True when the URL's scheme asks for TLS (`rediss://`, `rediss+cluster://`, `rediss+sentinel://`). */
export function isTlsUrl(url: string): boolean {
  return /^rediss(\+[a-z]+)?:\/\//.test(url);
}

/** True when the URL names Sentinels (`redis+sentinel://`, `rediss+sentinel://`). */
export function isSentinelUrl(url: string): boolean {
  return /^rediss?\+sentinel:\/\//.test(url);
}

/** `[user:pass@]h1:p1,h2:p2[/path][?query]` in parts; userinfo ends at the last `@`. */
function splitMultiHost(rest: string): {
  hosts: string;
  auth: RedisAuth;
  path: string;
  query: string;
} {
  const q = rest.indexOf('?');
  const query = q >= 0 ? rest.slice(q + 1) : '';
  const beforeQuery = q >= 0 ? rest.slice(0, q) : rest;
  const at = beforeQuery.lastIndexOf('@');
  const userinfo = at >= 0 ? beforeQuery.slice(0, at) : '';
  const afterAuth = at >= 0 ? beforeQuery.slice(at + 1) : beforeQuery;
  const slash = afterAuth.indexOf('/');
  const hosts = slash >= 0 ? afterAuth.slice(0, slash) : afterAuth;
  const path = slash >= 0 ? afterAuth.slice(slash) : '';
  return { hosts, auth: parseUserinfo(userinfo), path, query };
}

function parseUserinfo(userinfo: string): RedisAuth {
  if (userinfo === '') return {};
  const colon = userinfo.indexOf(':');
  const username = safeDecode(colon >= 0 ? userinfo.slice(0, colon) : userinfo);
  const password = colon >= 0 ? safeDecode(userinfo.slice(colon + 1)) : undefined;
  return {
    ...(username ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
  };
}

function parseHosts(hosts: string, what: string, defaultPort?: number): HostPort[] {
  if (hosts.trim() === '') throw new RedisUrlError(`name at least one ${what} as host:port`);
  return hosts.split(',').map((hp) => {
    const text = hp.trim();
    const m = /^(\[[^\]]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(text);
    const port = m?.[2] !== undefined ? Number(m[2]) : defaultPort;
    if (!m || port === undefined || port < 1 || port > 65535) {
      throw new RedisUrlError(`${what} "${text}" is not host:port`);
    }
    return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
  });
}

function databaseOf(query: string): number {
  let db = 0;
  for (const [key, value] of new URLSearchParams(query)) {
    if (key !== 'db') throw new RedisUrlError(`unknown parameter "${key}" (only db)`);
    if (!/^\d{1,5}$/.test(value))
      throw new RedisUrlError(`db must be a database number (got "${value}")`);
    db = Number(value);
  }
  return db;
}

function decodeName(text: string): string {
  const name = safeDecode(text);
  if (name.includes('/')) throw new RedisUrlError(`master name "${name}" contains "/"`);
  return name;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new RedisUrlError('a %-escape in the URL is not valid');
  }
}
