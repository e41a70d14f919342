import type { IncomingMessage, ServerResponse } from 'node:http';
import { etagMatches } from '../etag.js';
import type { JwksDocument } from '../keystore/jwks.js';
import { writeUnavailable } from './errors.js';

/** What every JWKS answer carries, whatever its status. */
const ALWAYS = ['Access-Control-Allow-Origin', '*', 'X-Content-Type-Options', 'nosniff'];

/** The header lines of a document's 200 and 304, as `writeHead` takes them (name, value, …). */
interface JwksHeaders {
  ok: readonly string[];
  notModified: readonly string[];
}

/** Per document, made at its first answer: a document never changes, a new ring makes a new one. */
const HEADERS = new WeakMap<JwksDocument, JwksHeaders>();

function headersOf(doc: JwksDocument): JwksHeaders {
  let headers = HEADERS.get(doc);
  if (!headers) {
    const validators = ['Cache-Control', doc.cacheControl, 'ETag', doc.etag];
    headers = {
      notModified: [...ALWAYS, ...validators],
      ok: [
        ...ALWAYS,
        ...validators,
        'Content-Type',
        doc.contentType,
        'Content-Length',
        String(doc.body.length),
      ],
    };
    HEADERS.set(doc, headers);
  }
  return headers;
}

/**
 * Serves the published keys from a precomputed document: the same bytes and ETag on every
 * instance, `304` on a matching `If-None-Match`, open CORS, cache headers from the policy. It
 * never touches the store, so an outage cannot turn it into a 5xx once a ring was ever loaded.
 * Written on the bare Node response (verifiers poll it; no koa context is made for it), every
 * header in one `writeHead` from a list kept per document: Node then stores no header map.
 * `requestId`, when given, is sent as `X-Request-Id` with the rest.
 * @returns the status sent: 200, 304, or 503 before the first ring.
 */
export function sendJwks(
  req: IncomingMessage,
  res: ServerResponse,
  doc: JwksDocument | undefined,
  requestId?: string,
): number {
  const id = requestId === undefined ? [] : ['X-Request-Id', requestId];
  if (!doc) {
    for (let i = 0; i < ALWAYS.length; i += 2) res.setHeader(ALWAYS[i]!, ALWAYS[i + 1]!);
    if (requestId !== undefined) res.setHeader('X-Request-Id', requestId);
    writeUnavailable(res, 'the key ring has not been loaded yet');
    return 503;
  }
  const headers = headersOf(doc);
  if (etagMatches(req.headers['if-none-match'] ?? '', doc.etag)) {
    res.writeHead(304, [...id, ...headers.notModified]);
    res.end();
    return 304;
  }
  res.writeHead(200, [...id, ...headers.ok]);
  res.end(req.method === 'HEAD' ? undefined : doc.body);
  return 200;
}
