import type Koa from 'koa';
import { bareHost } from '../config/hosts.js';

/** A Host value as RFC 9110 allows it here: a DNS name, IPv4 or [IPv6], and an optional port. */
const HOST_SYNTAX = /^(?:\[[0-9a-f:.]+\]|[a-z0-9._-]+)(?::\d{1,5})?$/;

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

  /**
   * @param issuer the issuer URL; its host is always allowed.
   * @param allowed further `allowedHosts` entries (see config/hosts.ts isHostPattern).
   */
  constructor(issuer: string, allowed: readonly string[]) {
    const patterns = allowed.map(bareHost);
    this.#any = patterns.includes('*');
    this.#suffixes = patterns.filter((p) => p.startsWith('*.')).map((p) => p.slice(1));
    this.#names = new Set([bareHost(new URL(issuer).hostname), ...patterns]);
  }

  /** The refusal for this request, or undefined when its host may be served. */
  check(ctx: Koa.Context): HostRefusal | undefined {
    // The host oidc-provider's koa builds URLs from: X-Forwarded-Host only behind a trusted
    // proxy, its first value. Read raw, because koa quietly drops a `user@` part.
    const header = (ctx.app.proxy && ctx.get('X-Forwarded-Host')) || ctx.get('Host');
    const raw = header.split(',', 1)[0]?.trim() ?? '';
    const host = raw.toLowerCase();
    if (!HOST_SYNTAX.test(host) || !URL.canParse(`http://${host}`)) {
      return { reason: 'malformed', host: raw };
    }
    const proto = ctx.protocol;
    if (proto !== 'http' && proto !== 'https') return { reason: 'bad-proto', proto };
    const name = bareHost(host.replace(/:\d+$/, ''));
    if (this.#any || this.#names.has(name) || this.#suffixes.some((s) => name.endsWith(s))) {
      return undefined;
    }
    return { reason: 'not-allowed', host: raw };
  }
}

/** The 400 answer for a refused host: OAuth-style JSON that says what to change. */
export function refuseHost(ctx: Koa.Context, refusal: HostRefusal): void {
  const shown = (value: string) => JSON.stringify(value.slice(0, 100));
  const description =
    refusal.reason === 'malformed'
      ? `the Host header ${shown(refusal.host)} is not a valid host[:port]`
      : refusal.reason === 'bad-proto'
        ? `X-Forwarded-Proto ${shown(refusal.proto)} must be http or https`
        : `this issuer does not answer to host ${shown(refusal.host)}; add it to allowedHosts (ALLOWED_HOSTS) if it is one of its names`;
  ctx.status = 400;
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { error: 'invalid_request', error_description: description };
}
