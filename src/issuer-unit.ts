/**
 * One issuer the process serves: its key ring (in its own namespace of the process's store),
 * the oidc-provider following that ring, and the koa app in front. The composition root
 * (issuer.ts) opens the listener and the store once and starts a unit per issuer.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Koa from 'koa';
import type { Logger } from 'pino';
import type { SigningAlg } from './algorithms.js';
import { warnAboutPasswordGrant } from './config/password-grant-rules.js';
import { reconfigure } from './config/reload.js';
import type { IssuerConfig } from './config/schema.js';
import type { AdminExtension } from './http/admin.js';
import { createApp, requestListener } from './http/app.js';
import { type ReadinessChecks, readinessOf } from './http/health.js';
import type { IssuerMetrics, Metrics } from './http/metrics.js';
import { tokenMintRoutes } from './http/mint.js';
import { warnAboutPasswordlessExposure } from './http/passwordless-logins.js';
import { openRingStore, resealRing, rotationPolicyOf } from './keystore/configured.js';
import { isPermanentRingFault } from './keystore/faults.js';
import { importKeyDirectory } from './keystore/import-dir.js';
import type { KeyRingStore, SigningJwk } from './keystore/types.js';
import { waitingAlgorithms } from './keystore/waiting.js';
import { KeyRingWatcher } from './keystore/watcher.js';
import { Accounts, DYNAMIC_ACCOUNT_MODEL } from './provider/accounts.js';
import { buildProvider } from './provider/build.js';
import { followRing, ProviderHost, type ProviderRecipe } from './provider/current.js';
import type { Storage } from './store/storage.js';
import { Views } from './views.js';

/** What a unit is started with; the store, metrics and logger belong to the process. */
export interface UnitDeps {
  config: IssuerConfig;
  storage: Storage;
  metrics: Metrics;
  logger: Logger;
  clock: () => number;
  /** Keep the key ring in memory only (no file under keys/). */
  ephemeralKeys?: boolean;
  /**
   * Makes the ring's new keys (default: generated when needed, the pool refilled in the
   * background). Given, it is the only source and nothing is generated ahead of a rotation.
   */
  generateKey?: (alg: SigningAlg) => Promise<SigningJwk>;
  adminExtensions?: AdminExtension[];
  /** The issuers hosted below this one, for its `/readyz` (the top-level unit only). */
  hosted?: ReadinessChecks['hosted'];
}

/** A started issuer: see {@link startIssuerUnit}. */
export interface IssuerUnit {
  /** The configuration in force (it changes with `reconfigure`). */
  readonly config: IssuerConfig;
  readonly keyRing: KeyRingWatcher;
  /** Where the key ring is kept, for people: the Redis URL and namespace, a file path, or memory. */
  readonly keyRingAt: string;
  readonly host: ProviderHost;
  readonly app: Koa;
  /** True when its store answers, a key signs and its ring is in sync (as its `/readyz`). */
  isReady(): Promise<boolean>;
  /** Serves a request with the app in force. */
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** See `RunningIssuer.reconfigure`. */
  reconfigure(next: IssuerConfig): Promise<{ restartNeeded: string[]; changed: boolean }>;
  close(): Promise<void>;
}

/** How stale this instance's copy of the shared ring may get before it reports not-ready. */
const IN_SYNC_BOUND_FACTOR = 3;

/**
 * Starts one issuer: starts its key ring, lets its provider follow the ring and builds its app.
 * @throws the ring's permanent fault, or a key file that cannot be imported, after cleaning up.
 */
export async function startIssuerUnit(deps: UnitDeps): Promise<IssuerUnit> {
  const { storage, logger, clock } = deps;
  let config = deps.config;
  warnAboutPasswordlessExposure(config, logger);
  warnAboutPasswordGrant(config, logger);
  const { keyRing, ringStore, keyRingAt } = await startKeyRing(deps);
  const metrics = deps.metrics.forIssuer(config.mountPath || '/', () => keyRing.current());

  const adapter = storage.adapterFor(config.redis.namespace, {
    clockTolerance: config.clockTolerance / 1000,
    clock,
  });
  const host = new ProviderHost();
  observeProviders(host, metrics, logger);
  // Views and accounts are built from the configuration, again on every reload.
  const partsOf = (cfg: IssuerConfig) => ({
    views: new Views(cfg.demo, cfg.mountPath),
    accounts: new Accounts({
      users: cfg.users,
      clientIds: cfg.clients.map((c) => c.id),
      dynamic: adapter(DYNAMIC_ACCOUNT_MODEL),
      dynamicTtlSeconds: cfg.ttl.session / 1000,
      scopedClaims: new Set(Object.values(cfg.scopes).flat()),
    }),
  });
  let parts = partsOf(config);
  const recipeOf = (cfg: IssuerConfig, p: typeof parts): ProviderRecipe => ({
    algorithms: cfg.keys.algorithms,
    build: (keys) => buildProvider({ config: cfg, adapter, ...p, ...keys }),
  });
  const following = followRing(host, keyRing, recipeOf(config, parts), {
    clock,
    onBuilt: ({ signingKeys }) => {
      metrics.providerBuilt();
      logger.info(
        { signingKid: signingKeys[0]?.kid, kids: signingKeys.map((k) => k.kid) },
        'provider rebuilt from key ring',
      );
    },
  });
  for (const w of following.waiting) logger.warn({ alg: w.alg }, w.message);

  const readiness: ReadinessChecks = {
    storeReachable: () => storage.reachable((s) => metrics.storePinged(s)),
    hasActiveKey: () => host.current !== undefined,
    keyRingInSync: () => keyRing.isInSync(config.keys.refreshInterval * IN_SYNC_BOUND_FACTOR),
    waitingAlgorithms: () => waitingAlgorithms(keyRing.current(), config.keys.algorithms, clock()),
    ...(deps.hosted ? { hosted: deps.hosted } : {}),
  };
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
      readiness,
      adminExtensions: [
        tokenMintRoutes({ config: cfg, ring: () => keyRing.current(), clock }),
        ...(deps.adminExtensions ?? []),
      ],
    });
  let app = appFor(config);
  let handler = requestListener(app);

  let closed = false;
  return {
    get config() {
      return config;
    },
    keyRing,
    keyRingAt,
    host,
    get app() {
      return app;
    },
    isReady: async () => (await readinessOf(readiness)).ready,
    handle: (req, res) => void handler(req, res),
    async reconfigure(next) {
      const { config: applied, restartNeeded, changed } = reconfigure(config, next);
      if (!changed) return { restartNeeded, changed };
      config = applied;
      parts = partsOf(config);
      // Rebuilt at once with the new configuration; a policy that changes the ring rebuilds
      // again through the ring.
      following.use(recipeOf(config, parts));
      await keyRing.setPolicy(rotationPolicyOf(config));
      app = appFor(config);
      handler = requestListener(app);
      return { restartNeeded, changed };
    },
    async close() {
      if (closed) return;
      closed = true;
      following.stop();
      metrics.forget();
      await keyRing.stop();
      await ringStore.close();
    },
  };
}

/**
 * Opens the ring store, seals a plaintext ring when asked to, starts the key ring and imports
 * the keys folder. A start that cannot succeed by waiting ends here, cleaned up, with the reason.
 */
async function startKeyRing({
  config,
  storage,
  logger,
  clock,
  ephemeralKeys,
  generateKey,
}: UnitDeps): Promise<{
  keyRing: KeyRingWatcher;
  ringStore: KeyRingStore;
  keyRingAt: string;
}> {
  const opened = openRingStore(config, storage.client, { ephemeral: ephemeralKeys });
  if (opened.notice) logger.warn(opened.notice);
  if (!config.keys.secret) {
    logger.warn(
      'keys.secret (KEYSTORE_SECRET) is not set: private signing keys are stored unencrypted',
    );
  }
  const ringStore = opened.store;
  if (config.keys.secret && config.keys.acceptPlaintextRing) {
    const sealed = await resealRing(ringStore).catch((err: unknown) => {
      logger.warn({ err }, 'could not encrypt the stored key ring (keys.acceptPlaintextRing)');
      return false;
    });
    if (sealed)
      logger.warn('the stored key ring is now encrypted; turn keys.acceptPlaintextRing off again');
  }
  const keyRing = new KeyRingWatcher({
    store: ringStore,
    policy: rotationPolicyOf(config),
    clock,
    refreshIntervalMs: config.keys.refreshInterval,
    logger,
    ...(generateKey ? { generateKey, refillInBackground: false } : {}),
  });
  try {
    await keyRing.start();
    if (isPermanentRingFault(keyRing.lastError)) throw keyRing.lastError;
    if (!ephemeralKeys && keyRing.current()) {
      const imported = await importKeyDirectory(config.keys.dir, keyRing);
      if (imported.length > 0)
        logger.info(
          { kids: imported, dir: config.keys.dir },
          'imported keys from the keys folder as next keys',
        );
    }
  } catch (err) {
    await keyRing.stop();
    await ringStore.close().catch(() => {});
    throw err;
  }
  return { keyRing, ringStore, keyRingAt: opened.where };
}

/** Counts issued tokens and logs provider errors, on every provider swapped in. */
function observeProviders(host: ProviderHost, metrics: IssuerMetrics, logger: Logger): void {
  host.onSwap((provider) => {
    provider.on('grant.success', (ctx) => {
      metrics.tokenIssued(String(ctx.oidc.params?.grant_type ?? 'unknown'));
    });
    provider.on('server_error', (ctx, err) => {
      logger.error({ err, path: ctx.path }, 'oidc-provider server_error');
    });
    // Without a listener koa prints errors it could not turn into a response to stderr.
    (provider as unknown as Koa).on('error', (err: Error) => {
      logger.warn({ err }, 'oidc-provider request error');
    });
  });
}
