/**
 * The composition root: what one `oidc-issuer start` runs. It listens first (answering 503
 * until ready), opens the store, starts the issuers it serves — the top-level one and those of
 * `issuers:`, each an issuer unit (issuer-unit.ts: key ring, provider following it, app) — and
 * opens the gate, routing each request by its first path segment (http/mount.ts).
 */
import type { Server } from 'node:http';
import type Koa from 'koa';
import type { Logger } from 'pino';
import type { IssuerConfig } from './config/schema.js';
import type { AdminExtension } from './http/admin.js';
import { type GatedListener, listenGated } from './http/listener.js';
import { Metrics } from './http/metrics.js';
import { byFirstSegment } from './http/mount.js';
import { type ListenerTls, listenerTls } from './http/tls.js';
import { type IssuerUnit, startIssuerUnit, type UnitDeps } from './issuer-unit.js';
import type { KeyRingWatcher } from './keystore/watcher.js';
import { createLogger, logSecretsOf } from './log.js';
import type { ProviderHost } from './provider/current.js';
import { openStorage, type Storage } from './store/storage.js';

export interface IssuerOptions {
  logger?: Logger;
  /** Keep the key ring in memory only (no file under keys/): for tests and the in-process API. */
  ephemeralKeys?: boolean;
  /** Makes the ring's new keys; see `UnitDeps.generateKey`. */
  generateKey?: UnitDeps['generateKey'];
  /** When the configured port is 0, set the issuer to `http(s)://<host>:<port>` once listening. */
  issuerFromPort?: boolean;
  clock?: () => number;
  adminExtensions?: AdminExtension[];
  /**
   * Open the port only once the issuer serves, instead of answering 503 meanwhile: for a worker
   * of `start --workers`, whose siblings answer on the same port.
   */
  listenWhenServing?: boolean;
}

/** A running issuer: its HTTP server, key ring and the way to stop it. */
export interface RunningIssuer {
  /** The configuration in force (it changes with `reconfigure`). */
  readonly config: IssuerConfig;
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  /** With `tls: auto`: the local CA clients must trust (and what this start made). */
  readonly localCa: ListenerTls['localCa'];
  readonly app: Koa;
  readonly keyRing: KeyRingWatcher;
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
  /** The hosted issuers (`issuers:`) by mount path (`/azure`), as they run now. */
  readonly hosted: ReadonlyMap<string, IssuerUnit>;
  close(): Promise<void>;
}

/**
 * Starts the issuer process. It stays up when the store is down at start and becomes ready
 * once the store answers; a fault that waiting will not heal rejects, with nothing left open.
 */
export async function startIssuer(
  initial: IssuerConfig,
  options: IssuerOptions = {},
): Promise<RunningIssuer> {
  const logger = options.logger ?? createLogger(initial.logLevel, undefined, logSecretsOf(initial));
  const clock = options.clock ?? Date.now;
  const tls = await listenerTls(initial, clock());
  for (const warning of tls?.warnings ?? []) logger.warn(warning);
  const listener = await listenGated(initial.port, initial.host, tls, options.listenWhenServing);
  const config = withListeningUrl(initial, listener.port, options);
  const storage = await openStorage(config, logger, clock).catch(closing(listener));
  const units = new Map<string, IssuerUnit>();
  const metrics = processMetrics(storage, clock);
  const start = (cfg: IssuerConfig, extra: Partial<UnitDeps> = {}) =>
    startIssuerUnit({
      ...options,
      ...extra,
      config: unitConfig(cfg),
      storage,
      metrics,
      clock,
      logger: cfg.mountPath ? logger.child({ issuer: cfg.mountPath }) : logger,
    });
  try {
    const top = await start(config, { hosted: () => hostedReadiness(units) });
    units.set('', top);
    for (const hosted of config.issuers) units.set(hosted.mountPath, await start(hosted));
    await listener.serve(byFirstSegment(units.get('')!.handle, (s) => units.get(`/${s}`)?.handle));
    // Key generation for later rotations waits until the start is done.
    for (const unit of units.values()) unit.keyRing.prepareCandidates();
  } catch (err) {
    await Promise.all([...units.values()].map((u) => u.close()));
    return closing(listener, storage)(err);
  }
  return running(config, units, listener, storage, logger, start, tls?.localCa);
}

/** The issuer URL a listener on a free port gets, when asked to (`issuerFromPort`). */
function withListeningUrl(config: IssuerConfig, port: number, options: IssuerOptions) {
  if (!options.issuerFromPort || config.port !== 0) return config;
  const issuer = `${config.tls ? 'https' : 'http'}://${urlHost(config.host)}:${port}`;
  return Object.freeze({
    ...config,
    issuer,
    issuers: config.issuers.map((h) => Object.freeze({ ...h, issuer: `${issuer}${h.mountPath}` })),
  });
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/** What a unit runs with: its own settings, without the hosted issuers the root owns. */
function unitConfig(config: IssuerConfig): IssuerConfig {
  return config.issuers.length === 0 ? config : Object.freeze({ ...config, issuers: [] });
}

/** The process's metrics: requests, tokens, the key ring's gauges and the memory store's size. */
function processMetrics(storage: Storage, clock: () => number) {
  const metrics = new Metrics(clock);
  if (storage.memoryStore) metrics.watchMemoryStore(storage.memoryStore);
  return metrics;
}

/** Each hosted issuer's readiness, for the top-level `/readyz`. */
async function hostedReadiness(units: ReadonlyMap<string, IssuerUnit>) {
  const hosted = [...units].filter(([path]) => path !== '');
  return Promise.all(hosted.map(async ([path, unit]) => ({ path, ready: await unit.isReady() })));
}

/** Closes what the start opened so far, then rethrows why it failed. */
function closing(listener: GatedListener, storage?: Storage) {
  return async (err: unknown): Promise<never> => {
    await listener.close();
    storage?.close();
    throw err;
  };
}

function running(
  initial: IssuerConfig,
  units: Map<string, IssuerUnit>,
  listener: GatedListener,
  storage: Storage,
  logger: Logger,
  start: (cfg: IssuerConfig) => Promise<IssuerUnit>,
  localCa: ListenerTls['localCa'],
): RunningIssuer {
  const top = units.get('')!;
  let config = initial;
  let closed = false;
  const hosted = new Map<string, IssuerUnit>();
  const syncHosted = () => {
    hosted.clear();
    for (const [path, unit] of units) if (path) hosted.set(path, unit);
  };
  syncHosted();
  return {
    get config() {
      return config;
    },
    url: top.config.issuer,
    port: listener.port,
    server: listener.server,
    localCa,
    get app() {
      return top.app;
    },
    keyRing: top.keyRing,
    keyRingAt: top.keyRingAt,
    host: top.host,
    logger,
    hosted,
    async reconfigure(next) {
      const outcome = await reconfigureAll(units, next, start);
      syncHosted();
      config = Object.freeze({
        ...top.config,
        issuers: [...hosted.values()].map((u) => u.config),
      });
      return outcome;
    },
    async close() {
      if (closed) return;
      closed = true;
      await listener.close();
      await Promise.all([...units.values()].map((u) => u.close()));
      storage.close();
    },
  };
}

/**
 * Applies `next` to every running issuer: the top-level one and each hosted one still listed
 * are reconfigured, a hosted issuer no longer listed is closed, a new one started.
 */
async function reconfigureAll(
  units: Map<string, IssuerUnit>,
  next: IssuerConfig,
  start: (cfg: IssuerConfig) => Promise<IssuerUnit>,
): Promise<{ restartNeeded: string[]; changed: boolean }> {
  const top = units.get('')!;
  const outcome = await top.reconfigure(unitConfig(next));
  const restartNeeded = [...outcome.restartNeeded];
  let changed = outcome.changed;
  const wanted = new Map(next.issuers.map((h) => [h.mountPath, h]));
  for (const [path, unit] of [...units]) {
    if (path === '' || wanted.has(path)) continue;
    units.delete(path);
    await unit.close();
    changed = true;
  }
  for (const [path, cfg] of wanted) {
    const unit = units.get(path);
    if (!unit) {
      // Its URL follows the top-level issuer in force (a changed top-level URL waits for a restart).
      const added = await start(Object.freeze({ ...cfg, issuer: `${top.config.issuer}${path}` }));
      units.set(path, added);
      added.keyRing.prepareCandidates();
      changed = true;
      continue;
    }
    const result = await unit.reconfigure(cfg);
    restartNeeded.push(...result.restartNeeded.map((field) => `issuers[${path}].${field}`));
    changed ||= result.changed;
  }
  return { restartNeeded, changed };
}
