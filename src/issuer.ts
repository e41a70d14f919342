import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type Koa from 'koa';
import type { Logger } from 'pino';
import { reconfigure } from './config/reload.js';
import type { IssuerConfig } from './config/schema.js';
import { StoreAuthError } from './errors.js';
import type { AdminExtension } from './http/admin.js';
import { createApp } from './http/app.js';
import { Metrics } from './http/metrics.js';
import { tokenMintRoutes } from './http/mint.js';
import { warnAboutPasswordlessExposure } from './http/passwordless-logins.js';
import { Views } from './http/views.js';
import { openRingStore, resealRing, rotationPolicyOf } from './keystore/configured.js';
import { isPermanentRingFault } from './keystore/faults.js';
import { importKeyDirectory } from './keystore/import-dir.js';
import { KeyRingManager } from './keystore/manager.js';
import type { KeyRing } from './keystore/types.js';
import { waitingAlgorithms } from './keystore/waiting.js';
import { createLogger, logSecretsOf } from './log.js';
import { Accounts, DYNAMIC_ACCOUNT_MODEL } from './provider/accounts.js';
import { buildProvider } from './provider/build.js';
import { ProviderHost } from './provider/host.js';
import { createMemoryAdapter } from './store/memory-adapter.js';
import { MemoryStore } from './store/memory-store.js';
import {
  checkEvictionPolicy,
  createRedisClient,
  isStoreAuthRefusal,
  pingStore,
  redactUrl,
  whenReady,
} from './store/redis.js';
import { createRedisAdapter } from './store/redis-adapter.js';

export interface IssuerOptions {
  logger?: Logger;
  /** Keep the key ring in memory only (no file under keys/): for tests and the in-process API. */
  ephemeralKeys?: boolean;
  /** When the configured port is 0, set the issuer to `http://<host>:<port>` once listening. */
  issuerFromPort?: boolean;
  clock?: () => number;
  adminExtensions?: AdminExtension[];
}

/** A running issuer: its HTTP server, key ring and the way to stop it. */
export interface RunningIssuer {
  /** The configuration in force (it changes with `reconfigure`). */
  readonly config: IssuerConfig;
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  readonly app: Koa;
  readonly keyRing: KeyRingManager;
  /** Where the key ring is kept, for people: the Redis URL and namespace, a file path, or memory. */
  readonly keyRingAt: string;
  readonly host: ProviderHost;
  readonly logger: Logger;
  /**
   * Applies a changed, validated configuration without a restart: a new provider and app are
   * built and swapped in (requests in flight finish on the old ones; sessions and grants live
   * in the store and survive). Restart-only settings (config/reload.ts) keep their running
   * value and are listed in `restartNeeded`.
   */
  reconfigure(next: IssuerConfig): Promise<{ restartNeeded: string[]; changed: boolean }>;
  close(): Promise<void>;
}

/** How long the start waits for a first Redis connection before going on not-ready. */
const STORE_CONNECT_WAIT_MS = 3000;

/** How stale this instance's copy of the shared ring may get before it reports not-ready. */
const IN_SYNC_BOUND_FACTOR = 3;

/**
 * Starts one issuer process: listens first (answering 503 until ready), then connects the
 * store, loads or creates the key ring, builds the provider and serves. The process stays up
 * when the store is down at start; it becomes ready once the store answers.
 */
export async function startIssuer(
  initial: IssuerConfig,
  options: IssuerOptions = {},
): Promise<RunningIssuer> {
  const logger = options.logger ?? createLogger(initial.logLevel, undefined, logSecretsOf(initial));
  const clock = options.clock ?? Date.now;
  let appHandler: ReturnType<Koa['callback']> | undefined;
  const server = createServer(
    { requestTimeout: 30_000, headersTimeout: 15_000, maxHeaderSize: 16 * 1024 },
    (req, res) => {
      if (appHandler) return void appHandler(req, res);
      res.writeHead(503, { 'Content-Type': 'application/json', 'Retry-After': '1' });
      res.end('{"error":"temporarily_unavailable","error_description":"the issuer is starting"}');
    },
  );
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(initial.port, initial.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  let config: IssuerConfig =
    options.issuerFromPort && initial.port === 0
      ? Object.freeze({ ...initial, issuer: `http://${urlHost(initial.host)}:${port}` })
      : initial;

  let policy = rotationPolicyOf(config);

  const client = config.redis.url
    ? createRedisClient(config.redis.url, { logger: (msg, err) => logger.warn({ err }, msg) })
    : undefined;
  const adapterOptions = { clockTolerance: config.clockTolerance / 1000, clock };
  const memoryStore = client
    ? undefined
    : new MemoryStore({
        now: clock,
        maxEntries: config.memoryStore.maxEntries,
        maxBytes: Math.round(config.memoryStore.maxMegabytes * 1024 * 1024),
      });
  const adapter = client
    ? createRedisAdapter(client, config.redis.namespace, adapterOptions)
    : createMemoryAdapter({ ...adapterOptions, store: memoryStore });
  const {
    store: ringStore,
    where: keyRingAt,
    notice: ringNotice,
  } = openRingStore(config, client, { ephemeral: options.ephemeralKeys });
  if (ringNotice) logger.warn(ringNotice);
  if (!config.keys.secret) {
    logger.warn(
      'keys.secret (KEYSTORE_SECRET) is not set: private signing keys are stored unencrypted',
    );
  }
  warnAboutPasswordlessExposure(config, logger);

  // What is built from the configuration, again on every reload.
  const partsOf = (cfg: IssuerConfig) => ({
    views: new Views(cfg.demo),
    accounts: new Accounts({
      users: cfg.users,
      clientIds: cfg.clients.map((c) => c.id),
      dynamic: adapter(DYNAMIC_ACCOUNT_MODEL),
      dynamicTtlSeconds: cfg.ttl.session / 1000,
      scopedClaims: new Set(Object.values(cfg.scopes).flat()),
    }),
  });
  let parts = partsOf(config);
  const host = new ProviderHost();
  const keyRing = new KeyRingManager({
    store: ringStore,
    policy,
    clock,
    refreshIntervalMs: config.keys.refreshInterval,
    logger,
  });
  const metrics = new Metrics(() => keyRing.current(), clock);
  if (memoryStore) metrics.watchMemoryStore(memoryStore);

  let providerFingerprint = '';
  const applyRing = (ring: KeyRing) => {
    const signingKeys = keyRing.signingKeys();
    const fingerprint = JSON.stringify([signingKeys.map((k) => k.kid), ring.cookieKeys]);
    if (fingerprint === providerFingerprint || signingKeys.length === 0) return;
    providerFingerprint = fingerprint;
    const waiting = waitingAlgorithms(ring, policy.algorithms, clock());
    host.swap(
      buildProvider({
        config,
        signingKeys,
        cookieKeys: ring.cookieKeys,
        adapter,
        ...parts,
        waiting,
      }),
    );
    metrics.providerSwaps.inc();
    logger.info(
      { signingKid: signingKeys[0]?.kid, kids: signingKeys.map((k) => k.kid) },
      'provider rebuilt from key ring',
    );
  };
  keyRing.onChange(applyRing);
  host.onSwap((provider) => {
    provider.on('grant.success', (ctx) => {
      metrics.tokens.inc({ grant_type: String(ctx.oidc.params?.grant_type ?? 'unknown') });
    });
    provider.on('server_error', (ctx, err) => {
      logger.error({ err, path: ctx.path }, 'oidc-provider server_error');
    });
    // Without a listener koa prints errors it could not turn into a response to stderr.
    (provider as unknown as Koa).on('error', (err: Error) => {
      logger.warn({ err }, 'oidc-provider request error');
    });
  });

  if (client) {
    // Commands fail at once while disconnected, so let the first connection come up (bounded:
    // with Redis down the issuer starts not-ready and catches up when it answers).
    const late = await whenReady(client, { timeoutMs: STORE_CONNECT_WAIT_MS });
    if (isStoreAuthRefusal(late)) {
      server.close();
      client.disconnect();
      throw new StoreAuthError(redactUrl(config.redis.url ?? ''), late ?? '');
    }
    if (late) logger.warn({ reason: late }, 'Redis is not reachable yet; not ready until it is');
    const warning = await checkEvictionPolicy(client).catch(() => undefined);
    if (warning) logger.warn(warning);
  }
  if (config.keys.secret && config.keys.acceptPlaintextRing) {
    const sealed = await resealRing(ringStore).catch((err: unknown) => {
      logger.warn({ err }, 'could not encrypt the stored key ring (keys.acceptPlaintextRing)');
      return false;
    });
    if (sealed)
      logger.warn('the stored key ring is now encrypted; turn keys.acceptPlaintextRing off again');
  }
  // A start that cannot succeed by waiting ends here, with the reason, before anything serves.
  const abort = async (err: unknown): Promise<never> => {
    await keyRing.stop();
    server.close();
    await ringStore.close().catch(() => {});
    client?.disconnect();
    throw err;
  };
  await keyRing.start();
  if (isPermanentRingFault(keyRing.lastError)) await abort(keyRing.lastError);
  if (!options.ephemeralKeys && keyRing.current()) {
    try {
      const imported = await importKeyDirectory(config.keys.dir, keyRing);
      if (imported.length > 0)
        logger.info(
          { kids: imported, dir: config.keys.dir },
          'imported keys from the keys folder as next keys',
        );
    } catch (err) {
      await abort(err);
    }
  }
  const ring = keyRing.current();
  if (ring) {
    applyRing(ring);
    for (const w of waitingAlgorithms(ring, policy.algorithms, clock())) {
      logger.warn({ alg: w.alg }, w.message);
    }
  }

  const appFor = (cfg: IssuerConfig) =>
    createApp({
      config: cfg,
      logger,
      host,
      ...parts,
      metrics,
      clock,
      keys: keyRing,
      jwks: () => keyRing.jwks(),
      csrfSecret: () => keyRing.current()?.cookieKeys[0] ?? 'no-ring-yet',
      readiness: {
        storeReachable: async () => {
          if (!client) return true;
          const started = process.hrtime.bigint();
          const ok = await pingStore(client);
          metrics.storeLatency.observe(Number(process.hrtime.bigint() - started) / 1e9);
          return ok;
        },
        hasActiveKey: () => host.current !== undefined,
        keyRingInSync: () => keyRing.isInSync(config.keys.refreshInterval * IN_SYNC_BOUND_FACTOR),
        waitingAlgorithms: () => waitingAlgorithms(keyRing.current(), policy.algorithms, clock()),
      },
      adminExtensions: [
        tokenMintRoutes({ config: cfg, ring: () => keyRing.current(), clock }),
        ...(options.adminExtensions ?? []),
      ],
    });
  let app = appFor(config);
  appHandler = app.callback();

  let closed = false;
  return {
    get config() {
      return config;
    },
    url: config.issuer,
    port,
    server,
    get app() {
      return app;
    },
    keyRing,
    keyRingAt,
    host,
    logger,
    async reconfigure(next) {
      const { config: applied, restartNeeded, changed } = reconfigure(config, next);
      if (!changed) return { restartNeeded, changed };
      config = applied;
      policy = rotationPolicyOf(config);
      parts = partsOf(config);
      await keyRing.setPolicy(policy);
      // The ring may not have changed: force the rebuild with the new configuration.
      providerFingerprint = '';
      const current = keyRing.current();
      if (current) applyRing(current);
      app = appFor(config);
      appHandler = app.callback();
      return { restartNeeded, changed };
    },
    async close() {
      if (closed) return;
      closed = true;
      await keyRing.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await ringStore.close();
      memoryStore?.close();
      if (client) client.disconnect();
    },
  };
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}
