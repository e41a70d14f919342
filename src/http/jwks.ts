import type { Context } from 'koa';
import { etagMatches } from '../etag.js';
import type { JwksDocument } from '../keystore/jwks.js';
import { sendUnavailable } from './errors.js';

/**
 * Serves the published keys from a precomputed document: the same bytes and ETag on every
 * instance, `304` on a matching `If-None-Match`, open CORS, cache headers from the policy. It
 * never touches the store, so an outage cannot turn it into a 5xx once a ring was ever loaded.
 */
export function serveJwks(
  ctx: Context,
  doc: JwksDocument | undefined,
  onServed?: (status: number) => void,
): void {
  ctx.set('Access-Control-Allow-Origin', '*');
  ctx.set('X-Content-Type-Options', 'nosniff');
  if (!doc) {
    sendUnavailable(ctx, 'the key ring has not been loaded yet');
    return;
  }
  ctx.set('Cache-Control', doc.cacheControl);
  ctx.set('ETag', doc.etag);
  if (etagMatches(ctx.get('If-None-Match'), doc.etag)) {
    ctx.status = 304;
    onServed?.(304);
    return;
  }
  ctx.status = 200;
  ctx.type = doc.contentType;
  ctx.body = doc.body;
  onServed?.(200);
}
