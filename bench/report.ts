/** Ratios, goal checks and the BENCHMARKS.md text computed from one `BenchResults`. */
import type { BenchResults, ScenarioId, ScenarioResult } from './harness.js';
import { TARGET_LABELS, type TargetId } from './targets.js';

export interface Ratio {
  name: string;
  value: number | undefined;
  /** e.g. `≥ 0.9`; undefined for information only. */
  goal?: string;
  met?: boolean;
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

/** The ratios the issue asks for, each with its goal where there is one. */
export function computeRatios(r: BenchResults): Ratio[] {
  const ratios: Ratio[] = [];
  const atLeast = (name: string, value: number | undefined, min: number) =>
    ratios.push({
      name,
      value,
      goal: `≥ ${min}`,
      ...(value !== undefined ? { met: value >= min } : {}),
    });
  const info = (name: string, value: number | undefined) => ratios.push({ name, value });
  const algs = [...new Set(r.scenarios.map((s) => s.alg))];
  for (const alg of algs) {
    const rps = (t: TargetId) => find(r, t, 'token', alg)?.median.rps;
    atLeast(
      `token ${alg}: ours (memory) / bare oidc-provider`,
      div(rps('ours-memory'), rps('oidc-provider')),
      0.9,
    );
    if (rps('ours-redis') !== undefined)
      atLeast(
        `token ${alg}: ours (Redis) / bare oidc-provider`,
        div(rps('ours-redis'), rps('oidc-provider')),
        0.8,
      );
    info(
      `token ${alg}: ours (memory) / oauth2-mock-server`,
      div(rps('ours-memory'), rps('oauth2-mock-server')),
    );
    info(
      `token ${alg}: ours (memory) / node:crypto signing ceiling`,
      div(rps('ours-memory'), r.signing?.[alg]),
    );
    info(
      `token ${alg}: bare oidc-provider / node:crypto signing ceiling`,
      div(rps('oidc-provider'), r.signing?.[alg]),
    );
  }
  const hello = find(r, 'koa-hello', 'hello')?.median.rps;
  const jwks = find(r, 'ours-memory', 'jwks')?.median.rps;
  const jwks304 = find(r, 'ours-memory', 'jwks-304')?.median.rps;
  atLeast('JWKS: ours / koa hello', div(jwks, hello), 0.8);
  atLeast('JWKS 304 (If-None-Match) / JWKS 200', div(jwks304, jwks), 1);
  info('JWKS: ours / bare oidc-provider', div(jwks, find(r, 'oidc-provider', 'jwks')?.median.rps));
  atLeast(
    'discovery: ours / bare oidc-provider',
    div(
      find(r, 'ours-memory', 'discovery')?.median.rps,
      find(r, 'oidc-provider', 'discovery')?.median.rps,
    ),
    2,
  );
  const flow = (t: TargetId) => find(r, t, 'code-flow')?.median.rps;
  info(
    'code flow: ours (memory) / bare oidc-provider',
    div(flow('ours-memory'), flow('oidc-provider')),
  );
  info(
    'code flow: ours (Redis) / bare oidc-provider',
    div(flow('ours-redis'), flow('oidc-provider')),
  );
  info(
    'code flow: ours (memory) / oauth2-mock-server',
    div(flow('ours-memory'), flow('oauth2-mock-server')),
  );

  const startup = (t: TargetId) => r.startup.find((s) => s.target === t)?.warmMedianMs;
  const ours = startup('ours-memory');
  const bare = startup('oidc-provider');
  if (ours !== undefined && bare !== undefined) {
    ratios.push({
      name: 'start-up (warm): ours (memory) − bare oidc-provider, ms',
      value: ours - bare,
      goal: '≤ 150',
      met: ours - bare <= 150,
    });
  }
  if (r.inProcess) {
    const atMost = (name: string, value: number, max: number) =>
      ratios.push({ name, value, goal: `≤ ${max}`, met: value <= max });
    atMost(
      'createTestIssuer() to ready (in-process, memory), median ms',
      r.inProcess.startMedianMs,
      150,
    );
    atMost('login() (in-process, memory), median ms', r.inProcess.loginMedianMs, 30);
    if (bare !== undefined) {
      info(
        'createTestIssuer() median / bare oidc-provider warm start-up',
        div(r.inProcess.startMedianMs, bare),
      );
    }
  }
  const idle = r.sessions.find((s) => s.target === 'ours-memory')?.rssIdleMiB;
  if (idle !== undefined) {
    ratios.push({
      name: 'idle RSS: ours (memory), MiB',
      value: idle,
      goal: '≤ 90',
      met: idle <= 90,
    });
  }
  if (r.rotation) {
    const p99 = r.rotation.jwksOnAll.p99;
    ratios.push({
      name: 'rotation visible in the JWKS of all 3 instances, p99 ms',
      value: p99,
      goal: '≤ 100',
      met: p99 <= 100,
    });
  }
  return ratios;
}

const n = (v: number | undefined, digits = 0) =>
  v === undefined || Number.isNaN(v)
    ? '–'
    : v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** The ratios as console lines. */
export function ratioLines(ratios: Ratio[]): string[] {
  return ratios.map(
    (x) =>
      `${x.met === undefined ? ' ' : x.met ? '✓' : '✗'} ${x.name}: ${n(x.value, 2)}${x.goal ? ` (goal ${x.goal})` : ''}`,
  );
}

const NOTES_START = '<!-- notes:start -->';
const NOTES_END = '<!-- notes:end -->';

/** Keeps the hand-written analysis between the notes markers of the previous BENCHMARKS.md. */
export function preservedNotes(previous: string | undefined): string {
  const start = previous?.indexOf(NOTES_START) ?? -1;
  const end = previous?.indexOf(NOTES_END) ?? -1;
  if (previous && start >= 0 && end > start) return previous.slice(start, end + NOTES_END.length);
  return `${NOTES_START}\n_No analysis written for this run yet._\n${NOTES_END}`;
}

/** BENCHMARKS.md for `r`. */
export function renderMarkdown(
  r: BenchResults,
  ratios: Ratio[],
  context: { command: string; commit: string; notes: string },
): string {
  const m = r.meta;
  const o = m.options;
  const out: string[] = [];
  const row = (cells: (string | number)[]) => out.push(`| ${cells.join(' | ')} |`);
  out.push('# Benchmarks', '');
  out.push(
    'Generated by `npm run bench` (bench/run.ts); raw numbers in `bench/results/latest.json`. Numbers are medians of',
    `${o.repeats} runs of ${o.durationSec} s each (after ${o.warmupSec} s of warm-up), on loopback.`,
    '',
    `- date: ${m.date}`,
    `- commit: \`${context.commit}\``,
    `- command: \`${context.command}\``,
    `- machine: ${m.cores} cores, ${m.cpuModel}, ${m.os}, Node ${m.node}`,
    `- pinning: ${m.tasksetNote}`,
    `- load average (1/5/15 min) before: ${m.loadAverageBefore.join(' / ')}, after: ${m.loadAverageAfter.join(' / ')}` +
      ' (other work on the machine competes for the same cores; compare ratios within one run, not absolute numbers across runs)',
    `- load: autocannon 8, ${o.connections} connections; code flows: ${o.flowConcurrency} in flight; wall time ${m.wallSeconds} s`,
    '',
  );

  out.push('## Targets and goals', '');
  row(['measure', 'value', 'goal', 'met']);
  row(['---', '---:', '---', '---']);
  for (const x of ratios) {
    row([x.name, n(x.value, 2), x.goal ?? '', x.met === undefined ? '' : x.met ? 'yes' : '**no**']);
  }
  out.push('');

  const section = (title: string, scenarios: ScenarioId[], unit: string) => {
    const rows = r.scenarios.filter((s) => scenarios.includes(s.scenario));
    if (rows.length === 0) return;
    out.push(`## ${title}`, '');
    row([
      'target',
      'alg',
      'scenario',
      unit,
      'p50 ms',
      'p99 ms',
      'CPU ms each',
      'runs',
      'tokens verified',
    ]);
    row(['---', '---', '---', '---:', '---:', '---:', '---:', '---', '---:']);
    for (const s of rows) {
      if (s.error) {
        row([
          TARGET_LABELS[s.target],
          s.alg,
          s.scenario,
          `failed: ${s.error.replace(/\|/g, '/').replace(/\n/g, ' ')}`,
          '',
          '',
          '',
          '',
          '',
        ]);
        continue;
      }
      row([
        TARGET_LABELS[s.target],
        s.scenario === 'token' ? s.alg : s.scenario === 'code-flow' ? s.alg : '',
        s.scenario + (s.requestsPerFlow ? ` (${s.requestsPerFlow} requests)` : ''),
        n(s.median.rps),
        n(s.median.p50, 2),
        n(s.median.p99, 2),
        n(s.median.cpuMs, 3),
        s.runs.map((x) => n(x.rps)).join(', '),
        s.scenario === 'token' || s.scenario === 'code-flow' ? String(s.verified) : '',
      ]);
    }
    out.push('');
  };
  section('Token endpoint (client_credentials, RFC 9068 JWT access token)', ['token'], 'req/s');
  section(
    'Key set, discovery and the koa ceiling',
    ['jwks', 'jwks-304', 'discovery', 'hello'],
    'req/s',
  );
  section(
    'Authorization code + PKCE, full flow (authorize → login → consent → callback → token)',
    ['code-flow'],
    'flows/s',
  );

  if (r.signing) {
    out.push('## Signing ceiling (node:crypto, one core, 400-byte input)', '');
    row(['alg', 'signatures/s']);
    row(['---', '---:']);
    for (const [alg, v] of Object.entries(r.signing)) row([alg, n(v)]);
    out.push('');
  }

  out.push('## Start-up and memory', '');
  row([
    'target',
    'alg',
    'start → first discovery 200, cold ms',
    'warm ms (median)',
    'RSS idle MiB',
    'RSS after load MiB',
  ]);
  row(['---', '---', '---:', '---:', '---:', '---:']);
  for (const s of r.sessions) {
    const st = r.startup.find((x) => x.target === s.target);
    const primary = s.alg === o.algs[0];
    row([
      TARGET_LABELS[s.target],
      s.alg,
      primary && st ? n(st.coldMs) : '',
      primary && st ? `${n(st.warmMedianMs)} (${st.warmMs.map((x) => n(x)).join(', ')})` : '',
      n(s.rssIdleMiB, 1),
      n(s.rssAfterLoadMiB, 1),
    ]);
  }
  out.push(
    '',
    'Cold: an empty key ring (our issuer generates its keys). Warm: the ring exists (file or Redis). koa-hello answers `/hello` instead of discovery.',
    '',
  );

  if (r.inProcess) {
    const x = r.inProcess;
    out.push('## In-process API (`createTestIssuer`, memory store)', '');
    out.push(
      'A fresh Node process on the target core imports the package, starts test issuers one after another (each stopped again) and signs alice in through demo-web with `login()`.',
      '',
    );
    row(['measure', 'first of the process ms', 'median ms', 'CPU ms each', 'all ms']);
    row(['---', '---:', '---:', '---:', '---']);
    row(['import the package', n(x.importMs), '', '', '']);
    row([
      '`createTestIssuer()` to ready',
      n(x.firstStartMs),
      n(x.startMedianMs),
      n(x.cpuMsPerStart),
      x.startMs.map((v) => n(v)).join(', '),
    ]);
    row([
      '`login()`',
      n(x.firstLoginMs),
      n(x.loginMedianMs, 1),
      n(x.cpuMsPerLogin, 1),
      x.loginMs.map((v) => n(v)).join(', '),
    ]);
    out.push('');
  }

  if (r.rotation) {
    const x = r.rotation;
    out.push(`## Key rotation across ${x.instances} instances on one Redis`, '');
    out.push(
      `${x.rotations} rotations (\`POST /admin/keys/rotate\`, round robin over the instances, keys.prePublication 1 s), each followed by back-to-back polling of every instance.`,
      '',
    );
    row(['measure', 'p50 ms', 'p99 ms', 'max ms']);
    row(['---', '---:', '---:', '---:']);
    row(['rotate call answered', n(x.rotateCall.p50, 1), n(x.rotateCall.p99, 1), '']);
    row([
      'new `next` kid in the JWKS of all instances',
      n(x.jwksOnAll.p50, 1),
      n(x.jwksOnAll.p99, 1),
      n(x.jwksOnAll.max, 1),
    ]);
    row([
      'all instances sign with the new active kid',
      n(x.signingOnAll.p50, 1),
      n(x.signingOnAll.p99, 1),
      n(x.signingOnAll.max, 1),
    ]);
    out.push('');
  }

  if (r.redisRoundTrips) {
    const x = r.redisRoundTrips;
    const fmt = (b: Record<string, number>) =>
      Object.entries(b)
        .sort((a, c) => c[1] - a[1])
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
    out.push("## Redis round trips (MONITOR on the harness's redis-server)", '');
    row(['per', 'round trips', 'sent', 'run inside Lua scripts']);
    row(['---', '---:', '---', '---']);
    for (const [label, c] of [
      ['client_credentials token request', x.perTokenRequest],
      ['full code flow', x.perCodeFlow],
    ] as const) {
      row([
        label,
        n(c.roundTrips, 2),
        fmt(c.byCommand),
        `${n(c.insideScripts, 2)}: ${fmt(c.insideScriptsByCommand)}`,
      ]);
    }
    out.push('', 'Key-ring re-reads (periodic, not per request) are left out.', '');
  }

  out.push('## Analysis', '', context.notes, '');
  return `${out.join('\n')}\n`;
}
