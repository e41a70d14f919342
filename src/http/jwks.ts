import type { IncomingMessage, ServerResponse } from 'node:http';
import { etagMatches } from '../etag.js';
import type { JwksDocument } from '../keystore/jwks.js';
import { writeUnavailable } from './errors.js';

/**
 * Serves the published keys from a precomputed document: the same bytes and ETag on every
 * instance, `304` on a matching `If-None-Match`, open CORS, cache headers from the policy. It
 * never touches the store, so an outage cannot turn it into a 5xx once a ring was ever loaded.
 * Written on the bare Node response (verifiers poll it; no koa context is made for it).
 * @returns the status sent: 200, 304, or 503 before the first ring.
 */
export function sendJwks(
  req: IncomingMessage,
  res: ServerResponse,
  doc: JwksDocument | undefined,
): number {
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  if (!doc) {
    writeUnavailable(res, 'the key ring has not been loaded yet');
    return 503;
  }
  res.setHeader('Cache-Control', doc.cacheControl);
  res.setHeader('ETag', doc.etag);
  if (etagMatches(req.headers['if-none-match'] ?? '', doc.etag)) {
    res.writeHead(304);
    res.end();
    return 304;
  }
  res.writeHead(200, { 'Content-Type': doc.contentType, 'Content-Length': doc.body.length });
  res.end(req.method === 'HEAD' ? undefined : doc.body);
  return 200;
}
