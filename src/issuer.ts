/**
 * The composition root: what one `oidc-issuer start` runs. It listens first (answering 503
 * until ready), opens the store, starts the issuer it serves (issuer-unit.ts: key ring,
 * provider following it, app) and opens the gate.
 */
import type { Server } from 'node:http';
import type Koa from 'koa';
import type { Logger } from 'pino';
import type { IssuerConfig } from './config/schema.js';
import type { AdminExtension } from './http/admin.js';
import { type GatedListener, listenGated } from './http/listener.js';
import { Metrics } from './http/metrics.js';
import { type ListenerTls, listenerTls } from './http/tls.js';
import { type IssuerUnit, startIssuerUnit } from './issuer-unit.js';
import type { KeyRingManager } from './keystore/manager.js';
import type { KeyRing } from './keystore/types.js';
import { createLogger, logSecretsOf } from './log.js';
import type { ProviderHost } from './provider/current.js';
import { openStorage, type Storage } from './store/storage.js';

export interface IssuerOptions {
  logger?: Logger;
  /** Keep the key ring in memory only (no file under keys/): for tests and the in-process API. */
  ephemeralKeys?: boolean;
  /** When the configured port is 0, set the issuer to `http(s)://<host>:<port>` once listening. */
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
  /** With `tls: auto`: the local CA clients must trust (and what this start made). */
  readonly localCa: ListenerTls['localCa'];
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
  const listener = await listenGated(initial.port, initial.host, tls);
  const config = withListeningUrl(initial, listener.port, options);
  const storage = await openStorage(config, logger, clock).catch(closing(listener));
  let unit: IssuerUnit | undefined;
  const metrics = processMetrics(storage, () => unit?.keyRing.current(), clock);
  unit = await startIssuerUnit({ ...options, config, storage, metrics, logger, clock }).catch(
    closing(listener, storage),
  );
  listener.serve(unit.handle);
  return running(unit, listener, storage, logger, tls?.localCa);
}

/** The issuer URL a listener on a free port gets, when asked to (`issuerFromPort`). */
function withListeningUrl(config: IssuerConfig, port: number, options: IssuerOptions) {
  if (!options.issuerFromPort || config.port !== 0) return config;
  const scheme = config.tls ? 'https' : 'http';
  return Object.freeze({ ...config, issuer: `${scheme}://${urlHost(config.host)}:${port}` });
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/** The process's metrics: requests, tokens, the key ring's gauges and the memory store's size. */
function processMetrics(storage: Storage, ring: () => KeyRing | undefined, clock: () => number) {
  const metrics = new Metrics(ring, clock);
  if (storage.memoryStore) metrics.watchMemoryStore(storage.memoryStore);
  return metrics;
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
  unit: IssuerUnit,
  listener: GatedListener,
  storage: Storage,
  logger: Logger,
  localCa: ListenerTls['localCa'],
): RunningIssuer {
  let closed = false;
  return {
    get config() {
      return unit.config;
    },
    url: unit.config.issuer,
    port: listener.port,
    server: listener.server,
    localCa,
    get app() {
      return unit.app;
    },
    keyRing: unit.keyRing,
    keyRingAt: unit.keyRingAt,
    host: unit.host,
    logger,
    reconfigure: (next) => unit.reconfigure(next),
    async close() {
      if (closed) return;
      closed = true;
      await listener.close();
      await unit.close();
      storage.close();
    },
  };
}
