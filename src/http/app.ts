import type { RequestListener } from 'node:http';
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
import { HostPolicy } from './allowed-hosts.js';
import { CONSOLE_PAGES, consoleRoutes } from './console.js';
import { consoleEnabled } from './console-gate.js';
import { JWKS_PATHS, type NodeHandler, requestEntry } from './entry.js';
import { errorResponses, sendUnavailable } from './errors.js';
import { healthRoutes, type ReadinessChecks } from './health.js';
import { homeRoute } from './home.js';
import { interactionRoutes } from './interactions.js';
import { sendJwks } from './jwks.js';
import type { IssuerMetrics } from './metrics.js';
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
const LISTENERS = new WeakMap<Koa, RequestListener>();

/** Every route of ours an app built by {@link createApp} serves (the fuzz run walks them all). */
export function ownRoutes(app: Koa): OwnRoute[] {
  return ROUTES.get(app) ?? [];
}

/**
 * What serves every request of the app's issuer (use it, not `app.callback()`): the request
 * entry (entry.ts) in front of the app.
 */
export function requestListener(app: Koa): RequestListener {
  const listener = LISTENERS.get(app);
  if (!listener) throw new Error('requestListener: not an app made by createApp');
  return listener;
}

/**
 * The issuer's koa app, behind its request entry ({@link requestListener}). Every request
 * passes, in this order:
 *   request id, Host check (allowedHosts) → the JWKS, or oidc-provider's own endpoints straight
 *   to the current provider (entry.ts), or this app: kept discovery → our routes (home page,
 *   health, metrics, interaction pages, admin, static CSS, the web console when enabled) → the
 *   current oidc-provider (discovery, interaction paths our routes do not serve) → metrics and
 *   the access log line (entry.ts).
 */
export function createApp(deps: AppDeps): Koa {
  const { config, logger, host, metrics } = deps;
  const app = new Koa({ proxy: config.trustProxy });
  app.silent = true;
  app.on('error', (err, ctx) => {
    const where = { err, reqId: ctx?.response.get('X-Request-Id'), path: ctx?.path };
    // A client that sent an unparsable stream or went away is not a fault of the issuer.
    if (isClientFault(err)) logger.warn(where, 'request aborted or malformed');
    else logger.error(where, 'request failed');
  });

  const router = new Router();
  homeRoute(router, config, deps.views);
  healthRoutes(router, deps.readiness);
  router.get('/metrics', async (ctx) => {
    const { contentType, text } = await metrics.render();
    ctx.type = contentType;
    ctx.body = text;
  });
  // The entry answers GET and HEAD before this app; the routes keep the JWKS in ownRoutes().
  const jwks = (ctx: Koa.Context) => {
    ctx.respond = false;
    metrics.jwksServed(sendJwks(ctx.req, ctx.res, deps.jwks()));
  };
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
    const reads = ctx.method === 'GET' || ctx.method === 'HEAD';
    if (
      ctx.path === DISCOVERY_PATH &&
      reads &&
      host.current &&
      serveKeptDiscovery(host.current, ctx)
    )
      return;
    if (isOurs(ctx.path)) await ourRoutes(ctx, () => toProvider(ctx));
    else await toProvider(ctx);
  });

  LISTENERS.set(
    app,
    requestEntry({
      hosts: new HostPolicy(config.issuer, config.allowedHosts, config.trustProxy),
      metrics,
      logger,
      jwks: deps.jwks,
      provider: () => host.handler,
      app: app.callback() as NodeHandler,
      servedByApp: (path) => path === DISCOVERY_PATH || isOurs(path),
    }),
  );
  return app;
}
