/**
 * The authorization-code + PKCE flow as a relying party and a browser without JavaScript run
 * it: authorize, follow every redirect with a cookie jar until the callback, then redeem the code
 * at the token endpoint. The same driver serves every target (it only follows redirects).
 */
import { createHash, randomBytes } from 'node:crypto';

export interface FlowSpec {
  authorizationEndpoint: string;
  tokenEndpoint: string;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  scope: string;
  /** Logs this user in headlessly (our issuer with `login.headless`, the bare provider). */
  loginHint: string;
}

export interface FlowOutcome {
  idToken: string;
  /** HTTP requests the flow took, the token request included. */
  requests: number;
}

interface Cookie {
  name: string;
  value: string;
  path: string;
}

/** One flow with a fresh cookie jar (a new browser). Throws on any unexpected answer. */
export async function runOneFlow(spec: FlowSpec): Promise<FlowOutcome> {
  const jar: Cookie[] = [];
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(8).toString('base64url');
  const url = new URL(spec.authorizationEndpoint);
  url.search = new URLSearchParams({
    client_id: spec.clientId,
    response_type: 'code',
    redirect_uri: spec.redirectUri,
    scope: spec.scope,
    state,
    login_hint: spec.loginHint,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();

  let next = url;
  let requests = 0;
  let callback: URL | undefined;
  for (let hop = 0; hop < 12 && !callback; hop += 1) {
    const cookie = jar
      .filter((c) => next.pathname.startsWith(c.path))
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
    const res = await fetch(next, {
      redirect: 'manual',
      headers: cookie ? { cookie, accept: 'text/html' } : { accept: 'text/html' },
    });
    requests += 1;
    const body = await res.text();
    storeCookies(jar, res.headers.getSetCookie());
    const location = res.headers.get('location');
    if (res.status < 300 || res.status >= 400 || !location) {
      throw new Error(`flow stopped at ${next.pathname} with ${res.status}: ${body.slice(0, 300)}`);
    }
    const target = new URL(location, next);
    if (target.href.startsWith(spec.redirectUri)) callback = target;
    else next = target;
  }
  if (!callback) throw new Error('flow: too many redirects');
  const code = callback.searchParams.get('code');
  if (!code) throw new Error(`flow: no code in the callback ${callback.search}`);
  if (callback.searchParams.get('state') !== state) throw new Error('flow: state mismatch');

  const res = await fetch(spec.tokenEndpoint, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${spec.clientId}:${spec.clientSecret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: spec.redirectUri,
      code_verifier: verifier,
    }),
  });
  requests += 1;
  const tokens = (await res.json()) as { id_token?: string; error?: string };
  if (res.status !== 200 || !tokens.id_token) {
    throw new Error(`flow: token endpoint answered ${res.status} ${JSON.stringify(tokens)}`);
  }
  return { idToken: tokens.id_token, requests };
}

function storeCookies(jar: Cookie[], lines: string[]): void {
  for (const line of lines) {
    const [pair = '', ...attrs] = line.split(';').map((s) => s.trim());
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    const path =
      attrs
        .find((a) => a.toLowerCase().startsWith('path='))
        ?.slice(5)
        .trim() ?? '/';
    const expired = attrs.some(
      (a) => /^max-age=0$/i.test(a) || /^expires=thu, 01 jan 1970/i.test(a),
    );
    const at = jar.findIndex((c) => c.name === name && c.path === path);
    if (at >= 0) jar.splice(at, 1);
    if (!expired && value !== '') jar.push({ name, value, path });
  }
}

export interface FlowStats {
  flows: number;
  errors: number;
  firstError?: string;
  seconds: number;
  perSecond: number;
  /** Per-flow latency in ms. */
  p50: number;
  p99: number;
  mean: number;
  requestsPerFlow: number;
  /** The first few ID tokens, for verification by the harness. */
  samples: string[];
}

/** Runs flows back to back on `concurrency` loops for `durationMs`. */
export async function runFlows(
  spec: FlowSpec,
  {
    concurrency,
    durationMs,
    samples = 3,
  }: { concurrency: number; durationMs: number; samples?: number },
): Promise<FlowStats> {
  const latencies: number[] = [];
  const kept: string[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let requestsPerFlow = 0;
  const started = performance.now();
  const deadline = started + durationMs;
  const loop = async () => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      try {
        const outcome = await runOneFlow(spec);
        latencies.push(performance.now() - t0);
        requestsPerFlow = outcome.requests;
        if (kept.length < samples) kept.push(outcome.idToken);
      } catch (err) {
        errors += 1;
        firstError ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  const seconds = (performance.now() - started) / 1000;
  return {
    flows: latencies.length,
    errors,
    ...(firstError ? { firstError } : {}),
    seconds,
    perSecond: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    mean: latencies.reduce((a, b) => a + b, 0) / Math.max(latencies.length, 1),
    requestsPerFlow,
    samples: kept,
  };
}

/** Nearest-rank percentile of `values` (0 when empty). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}
