import type { IncomingMessage, ServerResponse } from 'node:http';
import { etagMatches } from '../etag.js';
import type { JwksDocument } from '../keystore/jwks.js';
import { writeUnavailable } from './errors.js';

/** What every JWKS answer carries, whatever its status. */
const ALWAYS: Readonly<Record<string, string>> = {
  'Access-Control-Allow-Origin': '*',
  'X-Content-Type-Options': 'nosniff',
};

/** The header lines of a document's 200 and 304, as `writeHead` takes them (name, value, …). */
interface JwksHeaders {
  ok: string[];
  notModified: string[];
}

/** Per document, made at its first answer: a document never changes, a new ring makes a new one. */
const HEADERS = new WeakMap<JwksDocument, JwksHeaders>();

function headersOf(doc: JwksDocument): JwksHeaders {
  let headers = HEADERS.get(doc);
  if (!headers) {
    const always = Object.entries(ALWAYS).flat();
    const validators = ['Cache-Control', doc.cacheControl, 'ETag', doc.etag];
    headers = {
      notModified: [...always, ...validators],
      ok: [
        ...always,
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
  if (!doc) {
    for (const [name, value] of Object.entries(ALWAYS)) res.setHeader(name, value);
    if (requestId !== undefined) res.setHeader('X-Request-Id', requestId);
    writeUnavailable(res, 'the key ring has not been loaded yet');
    return 503;
  }
  const headers = headersOf(doc);
  const withId = (lines: string[]) =>
    requestId === undefined ? lines : ['X-Request-Id', requestId, ...lines];
  if (etagMatches(req.headers['if-none-match'] ?? '', doc.etag)) {
    res.writeHead(304, withId(headers.notModified));
    res.end();
    return 304;
  }
  res.writeHead(200, withId(headers.ok));
  res.end(req.method === 'HEAD' ? undefined : doc.body);
  return 200;
}
