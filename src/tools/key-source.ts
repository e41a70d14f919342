/** Fetching what a verifier needs: discovery documents and JWK sets, from URLs or files. */
import { readFile } from 'node:fs/promises';
import type { JWK } from 'jose';
import type { ErrorCode } from '../errors.js';
import { parseJsonObject } from '../json.js';
import { DISCOVERY_PATH } from '../provider/discovery.js';
import { TokenError } from './errors.js';

/** Options for the network reads of the token tools. */
export interface FetchOptions {
  /** Injected for tests; default the global `fetch`. */
  fetch?: typeof fetch;
  /** Per request. Default 5000 ms. */
  timeoutMs?: number;
}

const MAX_BODY = 1024 * 1024;

export const isHttpUrl = (value: string): boolean => /^https?:\/\//i.test(value);

/**
 * GETs `url` and parses the body as a JSON object.
 * @throws TokenError `code` with the URL and the reason (unreachable, status, not JSON).
 */
async function fetchJson(
  url: string,
  code: ErrorCode,
  what: string,
  options: FetchOptions = {},
): Promise<Record<string, unknown>> {
  const doFetch = options.fetch ?? fetch;
  let res: Response;
  try {
    res = await doFetch(url, {
      headers: { accept: 'application/json, application/jwk-set+json' },
      redirect: 'follow',
      signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
    });
  } catch (e) {
    const reason =
      (e as Error).cause instanceof Error
        ? ((e as Error).cause as Error).message
        : (e as Error).message;
    throw new TokenError(code, `cannot fetch the ${what} at ${url}: ${reason}`);
  }
  const text = await res.text();
  if (!res.ok) throw new TokenError(code, `the ${what} at ${url} answered HTTP ${res.status}`);
  if (text.length > MAX_BODY) throw new TokenError(code, `the ${what} at ${url} is over 1 MB`);
  return parseObject(text, code, `the ${what} at ${url}`);
}

/** Reads a file (`-` is stdin) as text. @throws TokenError `INPUT_UNREADABLE`. */
export async function readText(path: string): Promise<string> {
  try {
    if (path === '-') {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    }
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new TokenError(
      'INPUT_UNREADABLE',
      `cannot read ${path === '-' ? 'stdin' : path}: ${(e as Error).message}`,
    );
  }
}

/** A JSON object from `text`. @throws TokenError `code`. */
function parseObject(text: string, code: ErrorCode, what: string): Record<string, unknown> {
  const parsed = parseJsonObject(text);
  if (parsed.ok) return parsed.value;
  throw new TokenError(
    code,
    parsed.syntax !== undefined
      ? `${what} is not valid JSON (${parsed.syntax})`
      : `${what} is not a JSON object`,
  );
}

/** A JWK set from a URL, a file path, or `-` (stdin). @throws TokenError `JWKS_UNAVAILABLE`. */
export async function loadJwks(
  source: string,
  options: FetchOptions = {},
): Promise<{ keys: JWK[]; location: string }> {
  const doc = isHttpUrl(source)
    ? await fetchJson(source, 'JWKS_UNAVAILABLE', 'JWKS', options)
    : parseObject(
        await readText(source).catch(rethrowAs('JWKS_UNAVAILABLE')),
        'JWKS_UNAVAILABLE',
        source,
      );
  if (!Array.isArray(doc.keys)) {
    throw new TokenError('JWKS_UNAVAILABLE', `${source} is not a JWK set (no "keys" array)`);
  }
  return { keys: doc.keys.filter((k): k is JWK => !!k && typeof k === 'object'), location: source };
}

/**
 * The key document at `url`: a JWK set, one JWK, or a discovery document, which is followed to
 * its `jwks_uri`. For `jwk inspect` and the console's inspector.
 * @throws TokenError `JWKS_UNAVAILABLE`.
 */
export async function fetchKeyDocument(
  url: string,
  options: FetchOptions = {},
): Promise<Record<string, unknown>> {
  const doc = await fetchJson(url, 'JWKS_UNAVAILABLE', 'document', options);
  if (!('keys' in doc) && !('kty' in doc) && typeof doc.jwks_uri === 'string') {
    return fetchJson(doc.jwks_uri, 'JWKS_UNAVAILABLE', 'JWKS', options);
  }
  return doc;
}

/** The issuer's discovery document. @throws TokenError `DISCOVERY_FAILED`. */
export async function discover(
  issuer: string,
  options: FetchOptions = {},
): Promise<{ issuer?: unknown; jwks_uri?: unknown; url: string }> {
  const url = `${issuer.replace(/\/+$/, '')}${DISCOVERY_PATH}`;
  const doc = await fetchJson(url, 'DISCOVERY_FAILED', 'discovery document', options);
  return { ...doc, url };
}

function rethrowAs(code: ErrorCode) {
  return (e: unknown): never => {
    throw e instanceof TokenError ? new TokenError(code, e.message) : e;
  };
}
