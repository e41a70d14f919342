/**
 * Discovery served precomputed. oidc-provider builds the document from the configuration and
 * the request's origin (its endpoint URLs use the Host, and behind a trusted proxy the
 * forwarded host and scheme) and nothing else, so the first answer per origin is kept for the
 * life of the provider instance and served again as the same bytes with an `ETag`; a matching
 * `If-None-Match` gets 304. A config reload or a key-ring change builds a new instance, and
 * with it an empty store: the next answer is oidc-provider's again.
 */
import { createHash } from 'node:crypto';
import type Koa from 'koa';
import { etagMatches } from '../etag.js';

export const DISCOVERY_PATH = '/.well-known/openid-configuration';

/** Origins kept per instance; without `allowedHosts` any Host may arrive, so the store is bounded. */
const MAX_ORIGINS = 16;

interface Precomputed {
  body: Buffer;
  etag: string;
}

const KEPT = new WeakMap<object, (ctx: Koa.Context) => boolean>();

/**
 * Answers `ctx` (a GET or HEAD of discovery) from what `provider` has kept for its origin, in
 * front of oidc-provider's own request pipeline; false when nothing is kept yet (send it on).
 */
export function serveKeptDiscovery(provider: object, ctx: Koa.Context): boolean {
  return KEPT.get(provider)?.(ctx) ?? false;
}

/**
 * The discovery route's middleware for one provider instance (see the module comment); `owner`
 * is that instance, for {@link serveKeptDiscovery}.
 */
export function precomputedDiscovery(owner: object, trustProxy: boolean): Koa.Middleware {
  // Caches must key on what the endpoint URLs are built from; a short lifetime keeps a config
  // change visible soon.
  const varies = trustProxy ? ['Host', 'X-Forwarded-Host', 'X-Forwarded-Proto'] : ['Host'];
  const byOrigin = new Map<string, Precomputed>();
  const serveKept = (ctx: Koa.Context) => {
    const kept = byOrigin.get(`${ctx.protocol}://${ctx.host}`);
    if (!kept) return false;
    // What oidc-provider's open CORS adds to every GET of its discovery route.
    ctx.vary('Origin');
    ctx.set('Access-Control-Allow-Origin', ctx.get('Origin') || '*');
    send(ctx, kept, varies);
    return true;
  };
  KEPT.set(owner, serveKept);
  return (ctx, next) => {
    // Every other request passes straight through, without an extra async frame on the hot path.
    if (ctx.path !== DISCOVERY_PATH || (ctx.method !== 'GET' && ctx.method !== 'HEAD'))
      return next();
    if (serveKept(ctx)) return Promise.resolve();
    const origin = `${ctx.protocol}://${ctx.host}`;
    return next().then(() => {
      ctx.vary(varies);
      const doc = ctx.body;
      if (ctx.status !== 200 || doc === null || typeof doc !== 'object') return;
      // koa would send JSON.stringify(doc): the same bytes, now hashed once and kept.
      const body = Buffer.from(JSON.stringify(doc));
      const made = { body, etag: `"${createHash('sha256').update(body).digest('base64url')}"` };
      if (byOrigin.size < MAX_ORIGINS) byOrigin.set(origin, made);
      send(ctx, made, varies);
    });
  };
}

function send(ctx: Koa.Context, doc: Precomputed, varies: string[]): void {
  ctx.vary(varies);
  ctx.set('Cache-Control', 'public, max-age=60');
  ctx.set('ETag', doc.etag);
  if (etagMatches(ctx.get('If-None-Match'), doc.etag)) {
    ctx.status = 304;
    return;
  }
  ctx.status = 200;
  ctx.type = 'application/json; charset=utf-8';
  ctx.body = doc.body;
}
