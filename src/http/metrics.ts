import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { nextTransitionAt, stateAt } from '../keystore/lifecycle.js';
import type { KeyRing } from '../keystore/types.js';

/** The endpoint label of a request path; unknown paths share one label to bound cardinality. */
export function endpointOf(path: string): string {
  if (path.startsWith('/interaction/')) return 'interaction';
  if (path.startsWith('/auth/')) return 'authorization_resume';
  if (path.startsWith('/admin/')) return 'admin';
  return ENDPOINTS[path] ?? 'other';
}

const ENDPOINTS: Record<string, string> = {
  '/.well-known/openid-configuration': 'discovery',
  '/.well-known/oauth-authorization-server': 'discovery',
  '/.well-known/jwks.json': 'jwks',
  '/jwks': 'jwks',
  '/auth': 'authorization',
  '/token': 'token',
  '/me': 'userinfo',
  '/token/introspection': 'introspection',
  '/token/revocation': 'revocation',
  '/session/end': 'end_session',
  '/session/end/confirm': 'end_session',
  '/session/end/success': 'end_session',
  '/device/auth': 'device_authorization',
  '/device': 'device_verification',
  '/request': 'pushed_authorization_request',
  '/healthz': 'healthz',
  '/readyz': 'readyz',
  '/metrics': 'metrics',
};

/** What `/metrics` reads from the memory store. */
export interface MemoryStoreStats {
  readonly size: number;
  readonly bytes: number;
  readonly maxEntries: number;
  readonly maxBytes: number;
  readonly evictions: number;
}

/**
 * One labelled series of a counter, counted in a plain number on the request path and added to
 * the prom-client counter when the registry is read: prom-client hashes and validates the
 * labels on every `inc`, even on a kept child.
 */
class Tally {
  #pending = 0;
  constructor(private readonly child: { inc(value: number): void }) {}

  add(): void {
    this.#pending += 1;
  }

  /** Moves what was counted since the last read into the counter. */
  flush(): void {
    if (this.#pending === 0) return;
    this.child.inc(this.#pending);
    this.#pending = 0;
  }
}

/** Prometheus metrics of one issuer process, served at `/metrics`. */
export class Metrics {
  readonly registry = new Registry();
  readonly #tallies: Tally[] = [];
  readonly #flushTallies = () => {
    for (const tally of this.#tallies) tally.flush();
  };
  readonly requests = new Counter({
    name: 'oidc_issuer_http_requests_total',
    help: 'HTTP requests by endpoint, method and status',
    labelNames: ['issuer', 'endpoint', 'method', 'status'] as const,
    registers: [this.registry],
    collect: this.#flushTallies,
  });
  readonly duration = new Histogram({
    name: 'oidc_issuer_http_request_duration_seconds',
    help: 'HTTP request latency by endpoint',
    labelNames: ['issuer', 'endpoint'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly tokens = new Counter({
    name: 'oidc_issuer_tokens_issued_total',
    help: 'Successful token endpoint responses by grant type',
    labelNames: ['issuer', 'grant_type'] as const,
    registers: [this.registry],
    collect: this.#flushTallies,
  });
  readonly logins = new Counter({
    name: 'oidc_issuer_logins_total',
    help: 'Successful logins by method',
    labelNames: ['issuer', 'method'] as const,
    registers: [this.registry],
  });
  readonly jwks = new Counter({
    name: 'oidc_issuer_jwks_requests_total',
    help: 'JWKS requests by status (200 or 304)',
    labelNames: ['issuer', 'status'] as const,
    registers: [this.registry],
    collect: this.#flushTallies,
  });
  readonly storeErrors = new Counter({
    name: 'oidc_issuer_store_errors_total',
    help: 'Requests that failed because the store was unavailable',
    registers: [this.registry],
  });
  readonly storeLatency = new Histogram({
    name: 'oidc_issuer_store_ping_seconds',
    help: 'Store round-trip time measured by readiness checks',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
    registers: [this.registry],
  });
  readonly providerSwaps = new Counter({
    name: 'oidc_issuer_provider_rebuilds_total',
    help: 'oidc-provider instances built because the key ring changed or a key changed state',
    labelNames: ['issuer'] as const,
    registers: [this.registry],
  });
  readonly keyAge = new Gauge({
    name: 'oidc_issuer_signing_key_age_seconds',
    help: 'Age of each published signing key',
    labelNames: ['issuer', 'kid', 'alg', 'state'] as const,
    registers: [this.registry],
  });
  readonly nextTransition = new Gauge({
    name: 'oidc_issuer_key_next_transition_seconds',
    help: 'Seconds until the next key state change',
    labelNames: ['issuer'] as const,
    registers: [this.registry],
  });

  /**
   * Exposes the bounded memory store's size (memory mode only): entries, approximate bytes,
   * the bounds, and how many live entries were evicted to stay within them.
   */
  watchMemoryStore(store: MemoryStoreStats): void {
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.set(read());
        },
      });
    gauge('oidc_issuer_memory_store_entries', 'Entries in the memory store', () => store.size);
    gauge(
      'oidc_issuer_memory_store_bytes',
      'Approximate bytes in the memory store',
      () => store.bytes,
    );
    gauge(
      'oidc_issuer_memory_store_max_entries',
      'Entry bound of the memory store',
      () => store.maxEntries,
    );
    gauge(
      'oidc_issuer_memory_store_max_bytes',
      'Byte bound of the memory store',
      () => store.maxBytes,
    );
    new Counter({
      name: 'oidc_issuer_memory_store_evictions_total',
      help: 'Live memory-store entries evicted because a bound was reached',
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(store.evictions);
      },
    });
  }

  readonly #rings = new Map<string, () => KeyRing | undefined>();

  constructor(private readonly clock: () => number = Date.now) {
    collectDefaultMetrics({ register: this.registry, prefix: 'oidc_issuer_' });
  }

  /**
   * The metrics of one issuer the process serves, labelled `issuer` with `label` (`/` for the
   * top-level one, else its path); its key gauges read `ring` at scrape time.
   */
  forIssuer(label: string, ring: () => KeyRing | undefined): IssuerMetrics {
    this.#rings.set(label, ring);
    const tally = (child: { inc(value: number): void }) => {
      const made = new Tally(child);
      this.#tallies.push(made);
      return made;
    };
    // Kept per label set, so the request path neither rebuilds nor hashes labels.
    const requests = new Map<string, Tally>();
    const durations = new Map<string, { observe(value: number): void }>();
    const tokens = new Map<string, Tally>();
    const jwks = {
      200: tally(this.jwks.labels(label, '200')),
      304: tally(this.jwks.labels(label, '304')),
    };
    return {
      contentType: this.registry.contentType,
      render: () => this.render(),
      observeRequest: (endpoint, method, status, seconds) => {
        const key = `${endpoint} ${method} ${status}`;
        let counted = requests.get(key);
        if (!counted) {
          counted = tally(this.requests.labels(label, endpoint, method, String(status)));
          requests.set(key, counted);
        }
        counted.add();
        let duration = durations.get(endpoint);
        if (!duration) {
          duration = this.duration.labels(label, endpoint);
          durations.set(endpoint, duration);
        }
        duration.observe(seconds);
        if (status === 503) this.storeErrors.inc();
      },
      jwksServed: (status) => jwks[status as 200 | 304]?.add(),
      loggedIn: (method) => this.logins.inc({ issuer: label, method }),
      tokenIssued: (grantType) => {
        let counted = tokens.get(grantType);
        if (!counted) {
          counted = tally(this.tokens.labels(label, grantType));
          tokens.set(grantType, counted);
        }
        counted.add();
      },
      providerBuilt: () => this.providerSwaps.inc({ issuer: label }),
      storePinged: (seconds) => this.storeLatency.observe(seconds),
      forget: () => {
        this.#rings.delete(label);
      },
    };
  }

  /** Refreshes the key gauges from the rings at scrape time, then renders the exposition text. */
  async render(): Promise<string> {
    const now = this.clock();
    this.keyAge.reset();
    this.nextTransition.reset();
    for (const [issuer, read] of this.#rings) {
      const ring = read();
      for (const key of ring?.keys ?? []) {
        const state = stateAt(key, now);
        if (state === 'removed') continue;
        this.keyAge.set(
          { issuer, kid: key.kid, alg: key.alg, state },
          (now - key.createdAt) / 1000,
        );
      }
      // Without the policy: minting the key after next ahead of time changes no key's state.
      const next = nextTransitionAt(ring, now);
      this.nextTransition.set({ issuer }, next === undefined ? 0 : (next - now) / 1000);
    }
    return this.registry.metrics();
  }
}

/** One issuer's view of the process metrics (see {@link Metrics.forIssuer}). */
export interface IssuerMetrics {
  readonly contentType: string;
  /** The whole process's exposition text (every issuer's series). */
  render(): Promise<string>;
  /** Counts one finished request; 503s also count as store errors. */
  observeRequest(endpoint: string, method: string, status: number, seconds: number): void;
  jwksServed(status: number): void;
  loggedIn(method: string): void;
  tokenIssued(grantType: string): void;
  providerBuilt(): void;
  storePinged(seconds: number): void;
  /** Stops reporting the issuer's keys (it is no longer served; its counters stay). */
  forget(): void;
}
