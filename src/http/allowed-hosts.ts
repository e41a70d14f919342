import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { LRUCache } from 'lru-cache';
import { bareHost } from '../config/hosts.js';
import { writeJson } from './errors.js';

/** A Host value as RFC 9110 allows it here: a DNS name, IPv4 or [IPv6], and an optional port. */
const HOST_SYNTAX = /^(?:\[[0-9a-f:.]+\]|[a-z0-9._-]+)(?::\d{1,5})?$/;

/** Verdicts kept per policy; any Host may arrive, so the store is bounded (least recently used out). */
const MAX_KEPT_VERDICTS = 64;
/** Longer header values are decided each time rather than kept. */
const MAX_KEPT_KEY = 256;

/** Why a request's host is refused, or undefined when it is served. */
export type HostRefusal =
  | { reason: 'malformed'; host: string }
  | { reason: 'not-allowed'; host: string }
  | { reason: 'bad-proto'; proto: string };

/**
 * Decides which Host (or, behind a trusted proxy, X-Forwarded-Host) values the issuer answers.
 * oidc-provider builds every endpoint URL in discovery, and the redirects it sends, from that
 * host: a malformed one broke those URLs (a 500), and a foreign one put the attacker's name in
 * every URL a cache could then hand to others (DNS rebinding, cache poisoning).
 */
export class HostPolicy {
  readonly #names: ReadonlySet<string>;
  readonly #suffixes: readonly string[];
  readonly #any: boolean;
  readonly #trustProxy: boolean;
  /** By `protocol host-header`: the same few values arrive on almost every request. */
  readonly #verdicts = new LRUCache<string, { refusal: HostRefusal | undefined }>({
    max: MAX_KEPT_VERDICTS,
  });

  /**
   * @param issuer the issuer URL; its host is always allowed.
   * @param allowed further `allowedHosts` entries (see config/hosts.ts isHostPattern).
   * @param trustProxy read the host and scheme from X-Forwarded-Host/-Proto (`trustProxy`).
   */
  constructor(issuer: string, allowed: readonly string[], trustProxy: boolean) {
    const patterns = allowed.map(bareHost);
    this.#any = patterns.includes('*');
    this.#suffixes = patterns.filter((p) => p.startsWith('*.')).map((p) => p.slice(1));
    this.#names = new Set([bareHost(new URL(issuer).hostname), ...patterns]);
    this.#trustProxy = trustProxy;
  }

  /** The refusal for this request, or undefined when its host may be served. */
  check(req: IncomingMessage): HostRefusal | undefined {
    // The host and scheme oidc-provider's koa builds URLs from (koa's `ctx.host`/`ctx.protocol`):
    // the forwarded ones only behind a trusted proxy, their first value. The host is read raw,
    // because koa quietly drops a `user@` part.
    const proxied = this.#trustProxy;
    const header = (proxied && headerOf(req, 'x-forwarded-host')) || headerOf(req, 'host');
    const proto = protocolOf(req, proxied);
    const key = `${proto} ${header}`;
    const kept = this.#verdicts.get(key);
    if (kept) return kept.refusal;
    const refusal = this.#decide(header, proto);
    if (key.length <= MAX_KEPT_KEY) this.#verdicts.set(key, { refusal });
    return refusal;
  }

  #decide(header: string, proto: string): HostRefusal | undefined {
    const raw = header.split(',', 1)[0]?.trim() ?? '';
    const host = raw.toLowerCase();
    if (!HOST_SYNTAX.test(host) || !URL.canParse(`http://${host}`)) {
      return { reason: 'malformed', host: raw };
    }
    if (proto !== 'http' && proto !== 'https') return { reason: 'bad-proto', proto };
    const name = bareHost(host.replace(/:\d+$/, ''));
    if (this.#any || this.#names.has(name) || this.#suffixes.some((s) => name.endsWith(s))) {
      return undefined;
    }
    return { reason: 'not-allowed', host: raw };
  }
}

/** koa's `ctx.protocol`: https on TLS, else the first X-Forwarded-Proto behind a trusted proxy. */
function protocolOf(req: IncomingMessage, trustProxy: boolean): string {
  if ((req.socket as TLSSocket).encrypted) return 'https';
  const forwarded = trustProxy ? headerOf(req, 'x-forwarded-proto') : '';
  return forwarded ? (forwarded.split(',', 1)[0] ?? '').trim().toLowerCase() : 'http';
}

/** A request header as one string ('' when absent); repeated fields joined as Node joins them. */
function headerOf(req: IncomingMessage, name: string): string {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : (value ?? '');
}

/** The 400 answer for a refused host: OAuth-style JSON that says what to change. */
export function refuseHost(res: ServerResponse, refusal: HostRefusal): void {
  const shown = (value: string) => JSON.stringify(value.slice(0, 100));
  const description =
    refusal.reason === 'malformed'
      ? `the Host header ${shown(refusal.host)} is not a valid host[:port]`
      : refusal.reason === 'bad-proto'
        ? `X-Forwarded-Proto ${shown(refusal.proto)} must be http or https`
        : `this issuer does not answer to host ${shown(refusal.host)}; add it to allowedHosts (ALLOWED_HOSTS) if it is one of its names`;
  writeJson(
    res,
    400,
    { error: 'invalid_request', error_description: description },
    { 'Cache-Control': 'no-store' },
  );
}
