import type { Cluster, Redis } from 'ioredis';
import { ENV } from '../config/env.js';
import {
  NEEDS_SENTINEL_URL,
  NEEDS_TLS_URL,
  parseRedisUrl,
  type RedisTarget,
  RedisUrlError,
} from '../config/redis-url.js';
import { ConfigError, IssuerError, StoreAuthError, StoreUnavailableError } from '../errors.js';
import { redactUrl } from '../log.js';
import { ioredis } from './ioredis.js';
import {
  certificateRefusal,
  hasTlsFiles,
  type RedisTlsFiles,
  redisTlsOptions,
  sentinelCertificateRefusal,
} from './redis-tls.js';

/** Options of {@link createRedisClient}. Every one has a default that bounds failures. */
export interface RedisClientOptions {
  /** A command that gets no answer within this time rejects. Default 2000 ms. */
  commandTimeoutMs?: number;
  /** A connection attempt that does not complete within this time is abandoned. Default 2000 ms. */
  connectTimeoutMs?: number;
  /** Receives connection errors (the client keeps reconnecting on its own). */
  logger?: (msg: string, err?: unknown) => void;
  /** `redis.tls`: the CA (and client certificate) files for a TLS URL (`rediss…://`). */
  tls?: RedisTlsFiles | undefined;
  /** `redis.sentinel`: the Sentinels' own login, for a Sentinel URL. */
  sentinel?: SentinelLogin | undefined;
}

/** The Sentinels' login (`redis.sentinel`); the master's is in the URL. */
export interface SentinelLogin {
  username?: string | undefined;
  password?: string | undefined;
}

/** Reconnect delays grow from 50 ms and are capped, so recovery is noticed within ~2 s. */
const MAX_RECONNECT_DELAY_MS = 2000;

function reconnectDelay(attempt: number): number {
  return Math.min(50 * 2 ** Math.min(attempt, 10), MAX_RECONNECT_DELAY_MS);
}

/**
 * Creates the Redis client for a `REDIS_URL` (see {@link parseRedisUrl} for the forms):
 * - `redis://…`, `rediss://…` (TLS) → standalone `Redis`;
 * - `redis+cluster://h1:p1,h2:p2`, `rediss+cluster://…` → `Cluster` seeded with those nodes;
 * - `redis+sentinel://s1:p1,s2:p2/<master-name>`, `rediss+sentinel://…` → `Redis` that asks
 *   the Sentinels for the master, and asks again when a failover moves it (ioredis follows
 *   `+switch-master`). The Sentinels are logged in to with `opts.sentinel`, the master with
 *   the URL's credentials; with TLS both connections use TLS with the same files.
 *
 * Failures are bounded: commands issued while disconnected reject at once (no offline queue),
 * a command without an answer rejects after `commandTimeoutMs`, and a command whose connection
 * drops is never re-sent (its outcome is unknown, and re-running a consume script would turn
 * the legitimate winner into a replay). The client reconnects forever with capped backoff, and
 * an `error` listener is attached so a connection error never crashes the process. Commands
 * issued before the first connection is ready reject too; await {@link pingStore} if needed.
 * TLS always verifies the server's certificate (against `opts.tls.caFile` when given).
 * @throws ConfigError for a URL that cannot be used, a TLS file that cannot be read, or a
 *   setting the URL has no use for (TLS files without TLS, a Sentinel login without Sentinels).
 */
export function createRedisClient(url: string, opts: RedisClientOptions = {}): Redis | Cluster {
  const commandTimeout = opts.commandTimeoutMs ?? 2000;
  const connectTimeout = opts.connectTimeoutMs ?? 2000;
  const log = opts.logger ?? (() => {});
  let target: RedisTarget;
  try {
    target = parseRedisUrl(url);
  } catch (err) {
    if (err instanceof RedisUrlError) throw new ConfigError([`${ENV.redisUrl}: ${err.message}`]);
    throw err;
  }
  if (hasTlsFiles(opts.tls) && !target.tls) throw new ConfigError([`redis.tls: ${NEEDS_TLS_URL}`]);
  const sentinelLogin = opts.sentinel?.username || opts.sentinel?.password;
  if (sentinelLogin && target.topology !== 'sentinel') {
    throw new ConfigError([`redis.sentinel: ${NEEDS_SENTINEL_URL}`]);
  }
  const tlsOptions = target.tls ? redisTlsOptions(opts.tls) : undefined;
  const tls = tlsOptions ? { tls: tlsOptions } : {};

  const common = {
    commandTimeout,
    connectTimeout,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
  };

  let client: Redis | Cluster;
  if (target.topology === 'standalone') {
    client = new (ioredis().Redis)(target.url, {
      ...common,
      ...tls,
      enableOfflineQueue: false,
      retryStrategy: reconnectDelay,
    });
  } else if (target.topology === 'cluster') {
    const { nodes, username, password } = target;
    client = new (ioredis().Cluster)(nodes, {
      enableOfflineQueue: false,
      clusterRetryStrategy: reconnectDelay,
      // A lost node connection reconnects on its own instead of waiting for a MOVED reply.
      clusterNodeRetryStrategy: reconnectDelay,
      slotsRefreshTimeout: connectTimeout,
      redisOptions: {
        ...common,
        ...(username ? { username } : {}),
        ...(password ? { password } : {}),
        ...tls,
      },
    });
  } else {
    const { sentinels, masterName, db, username, password } = target;
    const { username: sentinelUsername, password: sentinelPassword } = opts.sentinel ?? {};
    client = new (ioredis().Redis)({
      ...common,
      sentinels,
      name: masterName,
      db,
      ...(username ? { username } : {}),
      ...(password ? { password } : {}),
      ...(sentinelUsername ? { sentinelUsername } : {}),
      ...(sentinelPassword ? { sentinelPassword } : {}),
      // `tls` is for the master only with enableTLSForSentinelMode; `sentinelTLS` for the Sentinels.
      ...(tlsOptions
        ? { tls: tlsOptions, sentinelTLS: tlsOptions, enableTLSForSentinelMode: true }
        : {}),
      enableOfflineQueue: false,
      retryStrategy: reconnectDelay,
      // All Sentinels unreachable: keep asking, as a lost master is asked for again.
      sentinelRetryStrategy: reconnectDelay,
      sentinelCommandTimeout: commandTimeout,
      // Drop the connection on +switch-master even when the old master is still reachable,
      // and when a demoted master answers READONLY, so the next connect finds the new one.
      failoverDetector: true,
      reconnectOnError: (err: Error) => err.message.startsWith('READONLY'),
    });
  }

  if (target.topology === 'sentinel' && tlsOptions) {
    const { sentinels } = target;
    sentinelProbes.set(client, () =>
      sentinelCertificateRefusal(sentinels, tlsOptions, connectTimeout),
    );
  }

  if (!(client instanceof ioredis().Cluster)) reconnectAfterUnaskedEnd(client);

  // Without a listener an ioredis `error` event would be an unhandled 'error' and kill the process.
  let lastMessage = '';
  let lastRefusal: string | undefined;
  let down = false;
  client.on('error', (err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    // While the server stays down the same error repeats on every reconnect attempt.
    if (message === lastMessage) return;
    lastMessage = message;
    void refusalBehind(client, err).then((refusal) => {
      // The Sentinels' retry delay is in the message; the refusal behind it is said once.
      if (refusal !== undefined && refusal === lastRefusal) return;
      lastRefusal = refusal;
      log(refusal ?? 'redis connection error', err);
    });
  });
  client.on('close', () => {
    if (down) return;
    down = true;
    log('redis connection lost');
  });
  client.on('ready', () => {
    if (down) log('redis connection restored');
    down = false;
    lastMessage = '';
    lastRefusal = undefined;
  });
  return client;
}

/**
 * A second connection with `client`'s options (the key ring's subscriber), reconnecting after an
 * end nobody asked for like `client` does (the listeners are not copied).
 */
export function duplicateRedisClient(client: Redis | Cluster): Redis | Cluster {
  if (client instanceof ioredis().Cluster) return client.duplicate();
  const duplicate = client.duplicate();
  reconnectAfterUnaskedEnd(duplicate);
  return duplicate;
}

/**
 * Connects `client` again after an `end` that no `disconnect()` or `quit()` asked for. ioredis
 * ends a Sentinel client for good when its failover detector drops the connection while a
 * reconnect is still asking the Sentinels for the master: that connect rejects "Connection is
 * closed." and nothing retries it. Right after a master dies that is a failover's usual timing,
 * and the issuer would answer 503 until restarted.
 */
function reconnectAfterUnaskedEnd(client: Redis): void {
  // ioredis clears its own "closed on purpose" mark before it emits `end`, so keep ours.
  let closed = false;
  const { disconnect, quit } = client;
  client.disconnect = (reconnect = false) => {
    if (!reconnect) closed = true;
    disconnect.call(client, reconnect);
  };
  client.quit = ((...args: Parameters<Redis['quit']>) => {
    closed = true;
    return quit.apply(client, args);
  }) as Redis['quit'];
  let attempt = 0;
  client.on('ready', () => {
    attempt = 0;
  });
  client.on('end', () => {
    if (closed) return;
    attempt += 1;
    setTimeout(() => {
      // A connect that fails ends the client again, and so comes back here.
      if (client.status === 'end' && !closed) client.connect().catch(() => {});
    }, reconnectDelay(attempt)).unref();
  });
}

/**
 * How ioredis reports that no Sentinel gave a master's address; `Last error: …` ends it when a
 * Sentinel answered with one (a Sentinel's refusal of our login reaches the client only so).
 */
const NO_SENTINEL_ANSWERED = /^All sentinels are unreachable\b/;
const LAST_SENTINEL_ERROR = /\bLast error: (.*)$/s;

/** For a client of TLS Sentinels: a handshake of our own that says whether they refuse our CA. */
const sentinelProbes = new WeakMap<Redis | Cluster, () => Promise<string | undefined>>();

/**
 * The certificate refusal behind a connection error of `client`, as a line to log: read off the
 * error, or — when no Sentinel answered, which ioredis reports without the TLS error — found by
 * a handshake with the Sentinels.
 */
async function refusalBehind(client: Redis | Cluster, err: unknown): Promise<string | undefined> {
  const direct = certificateRefusal(err);
  if (direct !== undefined) return direct;
  const probe = sentinelProbes.get(client);
  const message = err instanceof Error ? err.message : String(err);
  return probe && NO_SENTINEL_ANSWERED.test(message) ? probe() : undefined;
}

/** Readiness probe: true when the store answers PING in time, false otherwise (never throws). */
export async function pingStore(client: Redis | Cluster): Promise<boolean> {
  try {
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  }
}

/**
 * Returns a warning when Redis may evict keys (`maxmemory-policy` other than `noeviction`):
 * an evicted grant index makes tokens unrevocable and an evicted replay record lets a client
 * assertion (or DPoP proof) `jti` be used again. Any other evicted record fails closed: a code,
 * refresh token or session that is gone is refused (the consumed flag lives in the record).
 * Returns undefined when the policy is safe or cannot be read (managed Redis often refuses
 * CONFIG GET). On a Cluster every master is asked.
 */
export async function checkEvictionPolicy(client: Redis | Cluster): Promise<string | undefined> {
  const nodes = client instanceof ioredis().Cluster ? client.nodes('master') : [client];
  const bad = new Set<string>();
  for (const node of nodes) {
    try {
      const reply = (await node.config('GET', 'maxmemory-policy')) as unknown;
      const policy = Array.isArray(reply) ? reply[1] : undefined;
      if (typeof policy === 'string' && policy !== 'noeviction') bad.add(policy);
    } catch {
      // CONFIG refused or node unreachable: nothing can be said about this node.
    }
  }
  if (bad.size === 0) return undefined;
  return (
    `Redis maxmemory-policy is ${[...bad].join(', ')}; set it to noeviction: evicting a grant ` +
    'index makes tokens unrevocable and evicting a replay record lets a client assertion be ' +
    'reused (an evicted code, token or session is only refused)'
  );
}

/**
 * Reply errors that mean "the store cannot serve right now" rather than "the command is wrong".
 * Anything else Redis replies with (WRONGTYPE, a Lua error) is a defect and is left as is.
 */
const TRANSIENT_REPLY =
  /^(OOM|LOADING|BUSY|CLUSTERDOWN|TRYAGAIN|READONLY|MASTERDOWN|NOREPLICAS|MISCONF)\b/;

/**
 * Turns what ioredis throws when the store is unreachable, slow or refusing writes into a
 * {@link StoreUnavailableError} (answered with 503). Errors that already carry a meaning — our
 * own {@link IssuerError}s, oidc-provider's OAuth errors (they have `expose`), and reply errors
 * that reveal a defect — are returned unchanged. Use as `catch (e) { throw wrapStoreError(e) }`.
 */
export function wrapStoreError(err: unknown): unknown {
  if (err instanceof IssuerError) return err;
  if (typeof err === 'object' && err !== null && 'expose' in err) return err;
  if (err instanceof ioredis().ReplyError) {
    const message = (err as Error).message;
    if (!TRANSIENT_REPLY.test(message)) return err;
    return new StoreUnavailableError(`redis refused: ${message}`, { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new StoreUnavailableError(`redis unavailable: ${message}`, { cause: err });
}

/** Redis' replies to a login it refuses: a wrong password or user, or one it needs and lacks. */
const AUTH_REFUSAL = /\b(WRONGPASS|NOAUTH)\b/;

/**
 * The error to end a start with when `reason` (from {@link whenReady}) is a refusal of our
 * credentials — a wrong password, an unknown or disabled ACL user, or a password the server
 * requires and we lack — else undefined. Waiting does not fix a refusal. It says which login
 * was refused: Redis' (the URL's userinfo; with Sentinel, the master's) or the Sentinels'
 * (`redis.sentinel`), and never contains a secret.
 */
export function storeAuthError(
  url: string,
  reason: string | undefined,
): StoreAuthError | undefined {
  if (reason === undefined || !AUTH_REFUSAL.test(reason)) return undefined;
  const where = redactUrl(url);
  const urlLogin = `the user and password in ${ENV.redisUrl} (redis.url)`;
  const target = parseRedisUrl(url);
  if (target.topology !== 'sentinel')
    return new StoreAuthError(`Redis at ${where}`, reason, urlLogin);
  const sentinelReply = NO_SENTINEL_ANSWERED.test(reason)
    ? LAST_SENTINEL_ERROR.exec(reason)?.[1]
    : undefined;
  if (sentinelReply !== undefined) {
    return new StoreAuthError(
      `Redis Sentinel (${where})`,
      sentinelReply,
      `the Sentinels' login: ${ENV.redisSentinelPassword} (redis.sentinel.password) and ` +
        `${ENV.redisSentinelUsername} (redis.sentinel.username), not the master's in ${ENV.redisUrl}`,
    );
  }
  return new StoreAuthError(
    `Redis master "${target.masterName}" (named by the Sentinels of ${where})`,
    reason,
    `the master's login: ${urlLogin}`,
  );
}

/**
 * Waits until `client` is connected. Resolves `undefined` once it is, or a reason when
 * `timeoutMs` passes first — or, with `failFast`, at the first connection error (a one-shot
 * command should not wait through reconnects; a server keeps reconnecting in the background),
 * and always at a refusal of our credentials ({@link storeAuthError}). A timeout's reason
 * ends with the last connection error seen (a refused certificate — also a Sentinel's, which
 * takes a handshake of our own to find — or a refused connection).
 */
export function whenReady(
  client: Redis | Cluster,
  { timeoutMs, failFast = false }: { timeoutMs: number; failFast?: boolean },
): Promise<string | undefined> {
  if (client.status === 'ready') return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const done = (reason: string | undefined) => {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('error', onError);
      resolve(reason);
    };
    let lastError: string | undefined;
    const onReady = () => done(undefined);
    const onError = (err: Error) => {
      if (AUTH_REFUSAL.test(err.message)) return done(err.message);
      lastError = err.message;
      void refusalBehind(client, err).then((refusal) => {
        if (refusal !== undefined) lastError = refusal;
        if (failFast) done(lastError);
      });
    };
    const timer = setTimeout(() => {
      const last = lastError === undefined ? '' : ` (last error: ${lastError})`;
      done(`no answer within ${timeoutMs / 1000} s${last}`);
    }, timeoutMs);
    client.on('ready', onReady);
    client.on('error', onError);
  });
}
