/**
 * The goals of issue 17 (each a row of BENCHMARKS.md's goals table, checked per run), the
 * workers rows reported beside them, and the other ratios worth reading, all computed from
 * one `BenchResults`.
 */
import type { BenchResults, ScenarioId, ScenarioResult } from './harness.js';
import type { TargetId } from './targets.js';

export interface Ratio {
  /** Also the row's key when runs on several Nodes share a table. */
  name: string;
  value: number | undefined;
  /** Decimals shown (default 2). */
  digits?: number;
  /**
   * `goal`: one of the issue's targets (`goal` and `met` set); `report`: asked for by the issue
   * without a goal (the workers rows), shown in the goals table; `info`: the other ratios.
   */
  kind: 'goal' | 'report' | 'info';
  /** e.g. `≥ 0.95`. */
  goal?: string;
  met?: boolean;
  /** Shown after the value, e.g. the CPU per request of a workers row. */
  detail?: string;
}

function find(
  r: BenchResults,
  target: TargetId,
  scenario: ScenarioId,
  alg?: string,
): ScenarioResult | undefined {
  return r.scenarios.find(
    (s) =>
      s.target === target &&
      s.scenario === scenario &&
      (alg === undefined || s.alg === alg) &&
      !s.error,
  );
}

const div = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined || b === 0 ? undefined : a / b;
const minus = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined ? undefined : a - b;

/** The goals, the workers rows and the other ratios of one run, in table order. */
export function computeRatios(r: BenchResults): Ratio[] {
  const ratios: Ratio[] = [];
  const check = (
    name: string,
    value: number | undefined,
    op: '≥' | '≤',
    bound: number,
    digits?: number,
  ) =>
    ratios.push({
      name,
      value,
      kind: 'goal',
      goal: `${op} ${bound}`,
      ...(digits !== undefined ? { digits } : {}),
      ...(value !== undefined ? { met: op === '≥' ? value >= bound : value <= bound } : {}),
    });
  const info = (name: string, value: number | undefined, digits?: number) =>
    ratios.push({ name, value, kind: 'info', ...(digits !== undefined ? { digits } : {}) });

  const algs = [...new Set(r.scenarios.map((s) => s.alg))];
  const tokenRps = (t: TargetId, alg: string) => find(r, t, 'token', alg)?.median.rps;
  for (const alg of algs) {
    check(
      `token ${alg}: ours (memory) / bare oidc-provider`,
      div(tokenRps('ours-memory', alg), tokenRps('oidc-provider', alg)),
      '≥',
      1.0,
    );
    check(
      `token ${alg}: ours (Redis) / bare oidc-provider`,
      div(tokenRps('ours-redis', alg), tokenRps('oidc-provider', alg)),
      '≥',
      0.95,
    );
  }
  const rps = (t: TargetId, s: ScenarioId) => find(r, t, s)?.median.rps;
  check(
    'discovery: ours / bare oidc-provider',
    div(rps('ours-memory', 'discovery'), rps('oidc-provider', 'discovery')),
    '≥',
    2,
  );
  check(
    'JWKS: ours / koa hello',
    div(rps('ours-memory', 'jwks'), rps('koa-hello', 'hello')),
    '≥',
    0.8,
  );

  const warm = (t: TargetId) => r.startup.find((s) => s.target === t)?.warmMedianMs;
  check(
    'start-up (warm): ours (memory) − bare oidc-provider, ms',
    minus(warm('ours-memory'), warm('oidc-provider')),
    '≤',
    100,
    0,
  );
  const primary = r.meta.options.algs[0];
  const idle = (t: TargetId) =>
    r.sessions.find((s) => s.target === t && s.alg === primary)?.rssIdleMiB;
  check(
    'idle RSS: ours (memory) − bare oidc-provider, MiB',
    minus(idle('ours-memory'), idle('oidc-provider')),
    '≤',
    10,
    1,
  );
  check('Redis round trips per code flow', r.redisRoundTrips?.perCodeFlow.roundTrips, '≤', 10, 1);
  check(
    'code flow: ours (Redis) / ours (memory)',
    div(rps('ours-redis', 'code-flow'), rps('ours-memory', 'code-flow')),
    '≥',
    0.7,
  );
  check(
    'createTestIssuer() to ready (in-process, memory), median ms',
    r.inProcess?.startMedianMs,
    '≤',
    150,
    0,
  );
  check('login() (in-process, memory), median ms', r.inProcess?.loginMedianMs, '≤', 30, 1);

  ratios.push(...workersRows(r));

  for (const alg of algs) {
    info(
      `token ${alg}: ours (memory) / oauth2-mock-server`,
      div(tokenRps('ours-memory', alg), tokenRps('oauth2-mock-server', alg)),
    );
    info(
      `token ${alg}: ours (memory) / node:crypto signing ceiling`,
      div(tokenRps('ours-memory', alg), r.signing?.[alg]),
    );
    info(
      `token ${alg}: bare oidc-provider / node:crypto signing ceiling`,
      div(tokenRps('oidc-provider', alg), r.signing?.[alg]),
    );
  }
  info(
    'JWKS: ours / bare oidc-provider',
    div(rps('ours-memory', 'jwks'), rps('oidc-provider', 'jwks')),
  );
  info(
    'JWKS 304 (If-None-Match) / JWKS 200',
    div(rps('ours-memory', 'jwks-304'), rps('ours-memory', 'jwks')),
  );
  info(
    'code flow: ours (memory) / bare oidc-provider',
    div(rps('ours-memory', 'code-flow'), rps('oidc-provider', 'code-flow')),
  );
  info(
    'code flow: ours (Redis) / bare oidc-provider',
    div(rps('ours-redis', 'code-flow'), rps('oidc-provider', 'code-flow')),
  );
  info(
    'code flow: ours (memory) / oauth2-mock-server',
    div(rps('ours-memory', 'code-flow'), rps('oauth2-mock-server', 'code-flow')),
  );
  info('idle RSS: ours (memory), MiB', idle('ours-memory'), 1);
  info('start-up (warm): ours (memory), ms', warm('ours-memory'), 0);
  info(
    'createTestIssuer() median / bare oidc-provider warm start-up',
    div(r.inProcess?.startMedianMs, warm('oidc-provider')),
  );
  info('rotation visible in the JWKS of all 3 instances, p99 ms', r.rotation?.jwksOnAll.p99, 0);
  return ratios.filter((x) => x.kind !== 'info' || x.value !== undefined);
}

/**
 * Per scenario of the workers measure and per worker count: throughput, with the CPU per
 * request over all the issuer's processes and the speed-up over one worker as detail.
 */
function workersRows(r: BenchResults): Ratio[] {
  if (!r.workers) return [];
  const { alg, rows, error } = r.workers;
  const out: Ratio[] = [];
  if (error) {
    out.push({
      name: 'workers (Redis, load on the same cores)',
      value: undefined,
      kind: 'report',
      detail: `failed: ${error.split('\n')[0]}`,
    });
  }
  const one = rows.find((x) => x.workers === 1);
  for (const [scenario, unit] of [
    ['token', 'tokens/s'],
    ['code-flow', 'code flows/s'],
  ] as const) {
    const base = one?.scenarios.find((s) => s.scenario === scenario && !s.error)?.median.rps;
    for (const row of rows) {
      const s = row.scenarios.find((x) => x.scenario === scenario && !x.error);
      if (!s && !row.scenarios.some((x) => x.scenario === scenario)) continue;
      const speedUp = row.workers > 1 ? div(s?.median.rps, base) : undefined;
      const cpu = s?.median.cpuMs;
      out.push({
        name: `workers (Redis, load on the same cores): ${unit} ${alg}, ${row.workers} worker${row.workers === 1 ? '' : 's'}`,
        value: s?.median.rps,
        digits: 0,
        kind: 'report',
        detail: [
          cpu !== undefined
            ? `CPU ${cpu.toFixed(scenario === 'token' ? 3 : 2)} ms each`
            : undefined,
          speedUp !== undefined ? `×${speedUp.toFixed(2)} of 1 worker` : undefined,
        ]
          .filter(Boolean)
          .join(', '),
      });
    }
  }
  return out;
}

const fmt = (v: number | undefined, digits = 2) =>
  v === undefined || Number.isNaN(v)
    ? '–'
    : v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** A ratio's value as shown: number, then detail in brackets. */
export function ratioValue(x: Ratio): string {
  return `${fmt(x.value, x.digits)}${x.detail ? ` (${x.detail})` : ''}`;
}

/** The ratios as console lines. */
export function ratioLines(ratios: Ratio[]): string[] {
  return ratios.map(
    (x) =>
      `${x.met === undefined ? ' ' : x.met ? '✓' : '✗'} ${x.name}: ${ratioValue(x)}${x.goal ? ` (goal ${x.goal})` : ''}`,
  );
}
