/**
 * Where every request of one issuer starts, on the bare Node request, before any koa context
 * exists: it gets its request id and its Host check (allowedHosts), then goes one of three
 * ways — the JWKS, answered right here; oidc-provider's own endpoints (token, userinfo,
 * authorize, …), handed straight to the current provider; everything else (our routes, kept
 * discovery, a provider not built yet) to the issuer's koa app. When the answer is done it is
 * counted and logged. The token endpoint and the JWKS are the paths clients hammer: sparing
 * them a second koa context (oidc-provider makes its own) and its promises is most of what
 * our wrapping cost there.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import parseurl from 'parseurl';
import type { Logger } from 'pino';
import type { JwksDocument } from '../keystore/jwks.js';
import { type HostPolicy, refuseHost } from './allowed-hosts.js';
import { sendJwks } from './jwks.js';
import { endpointOf, type IssuerMetrics } from './metrics.js';

/** A Node request handler that settles when the answer is done (koa's and oidc-provider's). */
export type NodeHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export interface EntryDeps {
  hosts: HostPolicy;
  metrics: IssuerMetrics;
  logger: Logger;
  jwks: () => JwksDocument | undefined;
  /** The current oidc-provider's handler; undefined before the first key ring. */
  provider: () => NodeHandler | undefined;
  /** The issuer's koa app (`app.callback()`). */
  app: NodeHandler;
  /** Whether the koa app serves `path` (our routes, discovery) rather than oidc-provider alone. */
  servedByApp: (path: string) => boolean;
}

/** Served at once, with no router in front: verifiers poll it, and its body is precomputed. */
export const JWKS_PATHS: ReadonlySet<string> = new Set(['/jwks', '/.well-known/jwks.json']);

/** Probes and scrapers call these by IP address; nothing in their answers is built from the host. */
const ANY_HOST_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/** An incoming X-Request-Id we keep (a proxy's or the caller's); anything else gets a new id. */
const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** The request listener of one issuer (see the module comment). */
export function requestEntry(deps: EntryDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { hosts, metrics, logger } = deps;
  return (req, res) => {
    const started = performance.now();
    const incoming = req.headers['x-request-id'];
    const reqId =
      typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    const path = pathOf(req);
    const done = () => {
      const status = res.statusCode;
      const seconds = (performance.now() - started) / 1000;
      metrics.observeRequest(endpointOf(path ?? ''), req.method ?? '', status, seconds);
      if (logger.isLevelEnabled('info')) {
        const ms = Math.round(seconds * 1000);
        logger.info({ reqId, method: req.method, path, status, ms }, 'request');
      }
    };

    const refusal = hosts.check(req);
    const reads = req.method === 'GET' || req.method === 'HEAD';
    if (!refusal && reads && path && JWKS_PATHS.has(path)) {
      // It writes the request id with its other headers in one go (see sendJwks).
      metrics.jwksServed(sendJwks(req, res, deps.jwks(), reqId));
      return done();
    }
    res.setHeader('X-Request-Id', reqId);
    if (refusal && !(refusal.reason === 'not-allowed' && path && ANY_HOST_PATHS.has(path))) {
      refuseHost(res, refusal);
      return done();
    }
    const provider = path === undefined || deps.servedByApp(path) ? undefined : deps.provider();
    // Neither handler rejects: koa answers whatever is thrown inside it.
    (provider ?? deps.app)(req, res).then(done, done);
  };
}

/**
 * The request's path as koa and oidc-provider read it (parseurl, whose parse they then reuse);
 * undefined when it cannot be parsed (the koa app then answers as it would anyway).
 */
function pathOf(req: IncomingMessage): string | undefined {
  try {
    return parseurl(req)?.pathname ?? undefined;
  } catch {
    return undefined;
  }
}
