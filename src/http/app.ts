import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import Koa from 'koa';
import compose from 'koa-compose';
import type { Logger } from 'pino';
import type { IssuerConfig } from '../config/schema.js';
import { STORE_UNAVAILABLE_DESCRIPTION } from '../errors.js';
import type { JwksDocument } from '../keystore/jwks.js';
import type { Accounts } from '../provider/accounts.js';
import type { ProviderHost } from '../provider/current.js';
import { DISCOVERY_PATH, serveKeptDiscovery } from '../provider/discovery.js';
import type { Views } from '../views.js';
import { type AdminExtension, adminRoutes, type KeyAdmin } from './admin.js';
import { HostPolicy, refuseHost } from './allowed-hosts.js';
import { CONSOLE_PAGES, consoleRoutes } from './console.js';
import { consoleEnabled } from './console-gate.js';
import { errorResponses, sendUnavailable } from './errors.js';
import { healthRoutes, type ReadinessChecks } from './health.js';
import { homeRoute } from './home.js';
import { interactionRoutes } from './interactions.js';
import { serveJwks } from './jwks.js';
import { endpointOf, type IssuerMetrics } from './metrics.js';
import { PROBE_PAGE, probeRoutes } from './probe-page.js';

export interface AppDeps {
  config: IssuerConfig;
  logger: Logger;
  host: ProviderHost;
  accounts: Accounts;
  views: Views;
  metrics: IssuerMetrics;
  readiness: ReadinessChecks;
  keys: KeyAdmin;
  jwks: () => JwksDocument | undefined;
  csrfSecret: () => string;
  clock: () => number;
  adminExtensions?: AdminExtension[];
}

/** Served first, with no router in front: verifiers poll it, and its body is precomputed. */
const JWKS_PATHS = new Set(['/jwks', '/.well-known/jwks.json']);
const OUR_PATHS = new Set([
  '/',
  '/favicon.ico',
  '/healthz',
  '/readyz',
  '/metrics',
  ...JWKS_PATHS,
  ...CONSOLE_PAGES,
  PROBE_PAGE,
]);
const OUR_PREFIXES = ['/interaction/', '/admin/', '/_issuer/'];

/** Probes and scrapers call these by IP address; nothing in their answers is built from the host. */
const ANY_HOST_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/** Paths served by our own routes; everything else goes straight to oidc-provider. */
function isOurs(path: string): boolean {
  return OUR_PATHS.has(path) || OUR_PREFIXES.some((prefix) => path.startsWith(prefix));
}

/** Errors on the request stream caused by the client: a parse error, a reset, a 4xx. */
function isClientFault(err: unknown): boolean {
  const { code, status } = (err ?? {}) as { code?: unknown; status?: unknown };
  if (typeof status === 'number' && status < 500) return true;
  return typeof code === 'string' && /^(HPE_|ECONNRESET$|ECONNABORTED$|EPIPE$)/.test(code);
}

/** A route served by our own routers: its methods and its path pattern (`:name` parameters). */
export interface OwnRoute {
  methods: string[];
  path: string;
}

const ROUTES = new WeakMap<Koa, OwnRoute[]>();

/** Every route of ours an app built by {@link createApp} serves (the fuzz run walks them all). */
export function ownRoutes(app: Koa): OwnRoute[] {
  return ROUTES.get(app) ?? [];
}

/**
 * The koa app. Every request passes, in this order:
 *   request id + access log → metrics → Host check (allowedHosts) → our routes (home page,
 *   health, metrics, JWKS, interaction pages, admin, static CSS, the web console when enabled)
 *   → the current oidc-provider (discovery, authorize, token, userinfo, …).
 */
export function createApp(deps: AppDeps): Koa {
  const { config, logger, host, metrics } = deps;
  const hosts = new HostPolicy(config.issuer, config.allowedHosts);
  const app = new Koa({ proxy: config.trustProxy });
  app.silent = true;
  app.on('error', (err, ctx) => {
    const where = { err, reqId: ctx?.state?.reqId, path: ctx?.path };
    // A client that sent an unparsable stream or went away is not a fault of the issuer.
    if (isClientFault(err)) logger.warn(where, 'request aborted or malformed');
    else logger.error(where, 'request failed');
  });

  const router = new Router();
  homeRoute(router, config, deps.views);
  healthRoutes(router, deps.readiness);
  router.get('/metrics', async (ctx) => {
    ctx.type = metrics.contentType;
    ctx.body = await metrics.render();
  });
  const jwks = (ctx: Koa.Context) =>
    serveJwks(ctx, deps.jwks(), (status) => metrics.jwksServed(status));
  router.get('/.well-known/jwks.json', jwks);
  router.get('/jwks', jwks);
  const asset = (type: string, body: string) => (ctx: Koa.Context) => {
    ctx.type = type;
    ctx.set('Cache-Control', 'public, max-age=86400');
    ctx.body = body;
  };
  router.get('/_issuer/style.css', asset('text/css', deps.views.stylesheet));
  const favicon = asset('image/svg+xml', deps.views.favicon);
  router.get('/_issuer/favicon.svg', favicon);
  // Browsers ask for /favicon.ico whatever the page links; answer it rather than 404 each time.
  router.get('/favicon.ico', favicon);
  adminRoutes(router, config.admin.token, deps.keys, deps.clock, deps.adminExtensions);
  if (consoleEnabled(config)) {
    consoleRoutes(router, {
      config,
      views: deps.views,
      jwks: deps.jwks,
      ring: () => deps.keys.current(),
      clock: deps.clock,
    });
    probeRoutes(router, {
      config,
      views: deps.views,
      keys: deps.keys,
      mint: { config, ring: () => deps.keys.current(), clock: deps.clock },
      clock: deps.clock,
    });
  }
  const interactions = interactionRoutes({
    ...deps,
    onLogin: (method) => metrics.loggedIn(method),
  });
  ROUTES.set(
    app,
    [router, interactions].flatMap((r) =>
      r.stack.map((layer) => ({
        methods: layer.methods.filter((m) => m !== 'HEAD'),
        path: String(layer.path),
      })),
    ),
  );
  const ourRoutes = compose([
    errorResponses(),
    router.routes(),
    router.allowedMethods(),
    interactions.routes(),
  ] as Koa.Middleware[]);

  const toProvider = async (ctx: Koa.Context) => {
    const handler = host.handler;
    if (!handler) {
      sendUnavailable(ctx, STORE_UNAVAILABLE_DESCRIPTION);
      return;
    }
    ctx.respond = false;
    await handler(ctx.req, ctx.res);
  };

  app.use(async (ctx) => {
    const started = process.hrtime.bigint();
    const incoming = ctx.get('X-Request-Id');
    const reqId = /^[A-Za-z0-9._-]{1,128}$/.test(incoming) ? incoming : randomUUID();
    ctx.state.reqId = reqId;
    ctx.set('X-Request-Id', reqId);
    try {
      const refusal = hosts.check(ctx);
      if (refusal && !(refusal.reason === 'not-allowed' && ANY_HOST_PATHS.has(ctx.path))) {
        refuseHost(ctx, refusal);
        return;
      }
      // oidc-provider's own endpoints skip our routers: they are the hot path (token, userinfo).
      const reads = ctx.method === 'GET' || ctx.method === 'HEAD';
      if (JWKS_PATHS.has(ctx.path) && reads) jwks(ctx);
      else if (
        ctx.path === DISCOVERY_PATH &&
        reads &&
        host.current &&
        serveKeptDiscovery(host.current, ctx)
      )
        return;
      else if (isOurs(ctx.path)) await ourRoutes(ctx, () => toProvider(ctx));
      else await toProvider(ctx);
    } finally {
      const status = ctx.respond === false ? ctx.res.statusCode : ctx.status;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.observeRequest(endpointOf(ctx.path), ctx.method, status, seconds);
      if (logger.isLevelEnabled('info')) {
        logger.info(
          { reqId, method: ctx.method, path: ctx.path, status, ms: Math.round(seconds * 1000) },
          'request',
        );
      }
    }
  });

  return app;
}
