/**
 * The process's Prometheus metrics. The request path counts in plain numbers (a kept series per
 * label set, so nothing is hashed or validated per request); prom-client is loaded, and the
 * process metrics (CPU, memory, event-loop lag, GC) start, at the first `/metrics` read
 * (metrics-exposition.ts): a process nobody scrapes never pays for either.
 */
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

/** One line of a metric as prom-client renders it: `metricName{labels} value`. */
export interface Sample {
  metricName?: string;
  labels: Record<string, string | number>;
  value: number;
}

/** A metric read at scrape time (the shape prom-client's registry renders). */
export interface MetricSource {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  samples(): Sample[];
}

const labelsOf = (names: readonly string[], values: readonly string[]) =>
  Object.fromEntries(names.map((name, i) => [name, values[i] ?? '']));

/** A metric's series, one per label set, made on first use and kept. */
abstract class Family<Series> implements MetricSource {
  abstract readonly type: MetricSource['type'];
  protected readonly series = new Map<string, { labels: readonly string[]; series: Series }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[] = [],
  ) {}

  /** The series of `labels` (in `labelNames` order). */
  of(...labels: string[]): Series {
    const key = labels.join('\u0000');
    let kept = this.series.get(key);
    if (!kept) {
      kept = { labels, series: this.make() };
      this.series.set(key, kept);
    }
    return kept.series;
  }

  protected abstract make(): Series;
  abstract samples(): Sample[];
}

interface Count {
  value: number;
}

class CounterFamily extends Family<Count> {
  readonly type = 'counter';
  protected make(): Count {
    return { value: 0 };
  }
  inc(...labels: string[]): void {
    this.of(...labels).value += 1;
  }
  samples(): Sample[] {
    return [...this.series.values()].map(({ labels, series }) => ({
      labels: labelsOf(this.labelNames, labels),
      value: series.value,
    }));
  }
}

/** A histogram series: `counts[i]` observations in (bounds[i-1], bounds[i]], the last above all. */
class Spread {
  readonly counts: number[];
  sum = 0;
  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }
  observe(value: number): void {
    this.sum += value;
    let i = 0;
    while (i < this.bounds.length && value > (this.bounds[i] as number)) i += 1;
    this.counts[i] = (this.counts[i] as number) + 1;
  }
}

class HistogramFamily extends Family<Spread> {
  readonly type = 'histogram';
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    private readonly bounds: readonly number[],
  ) {
    super(name, help, labelNames);
  }
  protected make(): Spread {
    return new Spread(this.bounds);
  }
  samples(): Sample[] {
    return [...this.series.values()].flatMap(({ labels, series }) => {
      const base = labelsOf(this.labelNames, labels);
      let below = 0;
      const buckets = series.counts.map((count, i) => {
        below += count;
        const le = i < this.bounds.length ? (this.bounds[i] as number) : '+Inf';
        return { metricName: `${this.name}_bucket`, labels: { ...base, le }, value: below };
      });
      return [
        ...buckets,
        { metricName: `${this.name}_sum`, labels: base, value: series.sum },
        { metricName: `${this.name}_count`, labels: base, value: below },
      ];
    });
  }
}

/** A gauge whose samples are read when the metrics are. */
function gauge(name: string, help: string, read: () => Sample[]): MetricSource {
  return { name, help, type: 'gauge', samples: read };
}

/** Prometheus metrics of one issuer process, served at `/metrics`. */
export class Metrics {
  readonly #requests = new CounterFamily(
    'oidc_issuer_http_requests_total',
    'HTTP requests by endpoint, method and status',
    ['issuer', 'endpoint', 'method', 'status'],
  );
  readonly #duration = new HistogramFamily(
    'oidc_issuer_http_request_duration_seconds',
    'HTTP request latency by endpoint',
    ['issuer', 'endpoint'],
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  );
  readonly #tokens = new CounterFamily(
    'oidc_issuer_tokens_issued_total',
    'Successful token endpoint responses by grant type',
    ['issuer', 'grant_type'],
  );
  readonly #logins = new CounterFamily('oidc_issuer_logins_total', 'Successful logins by method', [
    'issuer',
    'method',
  ]);
  readonly #jwks = new CounterFamily(
    'oidc_issuer_jwks_requests_total',
    'JWKS requests by status (200 or 304)',
    ['issuer', 'status'],
  );
  readonly #storeErrors = new CounterFamily(
    'oidc_issuer_store_errors_total',
    'Requests that failed because the store was unavailable',
  );
  readonly #storeLatency = new HistogramFamily(
    'oidc_issuer_store_ping_seconds',
    'Store round-trip time measured by readiness checks',
    [],
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
  );
  readonly #providerSwaps = new CounterFamily(
    'oidc_issuer_provider_rebuilds_total',
    'oidc-provider instances built because the key ring changed or a key changed state',
    ['issuer'],
  );
  readonly #rings = new Map<string, () => KeyRing | undefined>();
  readonly #sources: MetricSource[] = [
    this.#requests,
    this.#duration,
    this.#tokens,
    this.#logins,
    this.#jwks,
    this.#storeErrors,
    this.#storeLatency,
    this.#providerSwaps,
    gauge('oidc_issuer_signing_key_age_seconds', 'Age of each published signing key', () =>
      this.#keyAges(),
    ),
    gauge(
      'oidc_issuer_key_next_transition_seconds',
      'Seconds until the next key state change',
      () => this.#nextTransitions(),
    ),
  ];
  #exposition?: Promise<() => Promise<RenderedMetrics>>;

  constructor(private readonly clock: () => number = Date.now) {}

  /**
   * Exposes the bounded memory store's size (memory mode only): entries, approximate bytes,
   * the bounds, and how many live entries were evicted to stay within them.
   */
  watchMemoryStore(store: MemoryStoreStats): void {
    const read = (
      name: string,
      help: string,
      value: () => number,
      type: 'gauge' | 'counter' = 'gauge',
    ) => this.#sources.push({ name, help, type, samples: () => [{ labels: {}, value: value() }] });
    read('oidc_issuer_memory_store_entries', 'Entries in the memory store', () => store.size);
    read(
      'oidc_issuer_memory_store_bytes',
      'Approximate bytes in the memory store',
      () => store.bytes,
    );
    read(
      'oidc_issuer_memory_store_max_entries',
      'Entry bound of the memory store',
      () => store.maxEntries,
    );
    read(
      'oidc_issuer_memory_store_max_bytes',
      'Byte bound of the memory store',
      () => store.maxBytes,
    );
    read(
      'oidc_issuer_memory_store_evictions_total',
      'Live memory-store entries evicted because a bound was reached',
      () => store.evictions,
      'counter',
    );
  }

  /**
   * The metrics of one issuer the process serves, labelled `issuer` with `label` (`/` for the
   * top-level one, else its path); its key gauges read `ring` at scrape time.
   */
  forIssuer(label: string, ring: () => KeyRing | undefined): IssuerMetrics {
    this.#rings.set(label, ring);
    const jwks = { 200: this.#jwks.of(label, '200'), 304: this.#jwks.of(label, '304') };
    return {
      render: () => this.render(),
      observeRequest: (endpoint, method, status, seconds) => {
        this.#requests.inc(label, endpoint, method, String(status));
        this.#duration.of(label, endpoint).observe(seconds);
        if (status === 503) this.#storeErrors.inc();
      },
      jwksServed: (status) => {
        const counted = jwks[status as 200 | 304];
        if (counted) counted.value += 1;
      },
      loggedIn: (method) => this.#logins.inc(label, method),
      tokenIssued: (grantType) => this.#tokens.inc(label, grantType),
      providerBuilt: () => this.#providerSwaps.inc(label),
      storePinged: (seconds) => this.#storeLatency.of().observe(seconds),
      forget: () => {
        this.#rings.delete(label);
      },
    };
  }

  /** The exposition text of every metric, the key gauges read from the rings now. */
  render(): Promise<RenderedMetrics> {
    this.#exposition ??= import('./metrics-exposition.js').then(({ exposition }) =>
      exposition(this.#sources),
    );
    return this.#exposition.then((render) => render());
  }

  #keyAges(): Sample[] {
    const now = this.clock();
    return [...this.#rings].flatMap(([issuer, read]) =>
      (read()?.keys ?? []).flatMap((key) => {
        const state = stateAt(key, now);
        if (state === 'removed') return [];
        const labels = { issuer, kid: key.kid, alg: key.alg, state };
        return [{ labels, value: (now - key.createdAt) / 1000 }];
      }),
    );
  }

  #nextTransitions(): Sample[] {
    const now = this.clock();
    return [...this.#rings].map(([issuer, read]) => {
      // Without the policy: minting the key after next ahead of time changes no key's state.
      const next = nextTransitionAt(read(), now);
      return { labels: { issuer }, value: next === undefined ? 0 : (next - now) / 1000 };
    });
  }
}

/** `/metrics`'s answer: the Prometheus text and its content type. */
export interface RenderedMetrics {
  contentType: string;
  text: string;
}

/** One issuer's view of the process metrics (see {@link Metrics.forIssuer}). */
export interface IssuerMetrics {
  /** The whole process's exposition (every issuer's series). */
  render(): Promise<RenderedMetrics>;
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
