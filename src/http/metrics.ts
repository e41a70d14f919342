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

/** Prometheus metrics of one issuer process, served at `/metrics`. */
export class Metrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'oidc_issuer_http_requests_total',
    help: 'HTTP requests by endpoint, method and status',
    labelNames: ['endpoint', 'method', 'status'] as const,
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: 'oidc_issuer_http_request_duration_seconds',
    help: 'HTTP request latency by endpoint',
    labelNames: ['endpoint'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly tokens = new Counter({
    name: 'oidc_issuer_tokens_issued_total',
    help: 'Successful token endpoint responses by grant type',
    labelNames: ['grant_type'] as const,
    registers: [this.registry],
  });
  readonly logins = new Counter({
    name: 'oidc_issuer_logins_total',
    help: 'Successful logins by method',
    labelNames: ['method'] as const,
    registers: [this.registry],
  });
  readonly jwks = new Counter({
    name: 'oidc_issuer_jwks_requests_total',
    help: 'JWKS requests by status (200 or 304)',
    labelNames: ['status'] as const,
    registers: [this.registry],
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
    registers: [this.registry],
  });
  readonly keyAge = new Gauge({
    name: 'oidc_issuer_signing_key_age_seconds',
    help: 'Age of each published signing key',
    labelNames: ['kid', 'alg', 'state'] as const,
    registers: [this.registry],
  });
  readonly nextTransition = new Gauge({
    name: 'oidc_issuer_key_next_transition_seconds',
    help: 'Seconds until the next key state change',
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

  readonly #requestCounters = new Map<string, { inc(): void }>();
  readonly #durations = new Map<string, { observe(value: number): void }>();

  /**
   * Counts one finished request. The labelled children are kept, so the hot path does not
   * rebuild label sets on every request; 503s also count as store errors.
   */
  observeRequest(endpoint: string, method: string, status: number, seconds: number): void {
    const key = `${endpoint} ${method} ${status}`;
    let counter = this.#requestCounters.get(key);
    if (!counter) {
      counter = this.requests.labels(endpoint, method, String(status));
      this.#requestCounters.set(key, counter);
    }
    counter.inc();
    let duration = this.#durations.get(endpoint);
    if (!duration) {
      duration = this.duration.labels(endpoint);
      this.#durations.set(endpoint, duration);
    }
    duration.observe(seconds);
    if (status === 503) this.storeErrors.inc();
  }

  constructor(
    private readonly ring: () => KeyRing | undefined,
    private readonly clock: () => number = Date.now,
  ) {
    collectDefaultMetrics({ register: this.registry, prefix: 'oidc_issuer_' });
  }

  /** Refreshes the key gauges from the ring at scrape time, then renders the exposition text. */
  async render(): Promise<string> {
    const now = this.clock();
    const ring = this.ring();
    this.keyAge.reset();
    for (const key of ring?.keys ?? []) {
      const state = stateAt(key, now);
      if (state === 'removed') continue;
      this.keyAge.set({ kid: key.kid, alg: key.alg, state }, (now - key.createdAt) / 1000);
    }
    // Without the policy: minting the key after next ahead of time changes no key's state.
    const next = nextTransitionAt(ring, now);
    this.nextTransition.set(next === undefined ? 0 : (next - now) / 1000);
    return this.registry.metrics();
  }
}
