/**
 * The benchmark harness: starts each target as its own pinned process, loads it from a separate
 * pinned load-generator process, verifies sample tokens with jose, and collects medians.
 * `runBench` is the whole run; `bench/run.ts` writes the reports, the smoke test calls it tiny.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../src/paths.js';
import type { BenchAlg } from './fixtures.js';
import { percentile, runOneFlow } from './flow.js';
import { type HttpLoadResult, LoadGenerator } from './load.js';
import {
  captureOutput,
  defaultPinning,
  type Pinning,
  processTree,
  spawnPinned,
  track,
} from './procs.js';
import { type BenchRedis, type MonitoredCommand, startBenchRedis } from './redis-server.js';
import { measureRotation, type RotationResult } from './rotation.js';
import {
  accessTokenExpectations,
  flowSpec,
  idTokenExpectations,
  launchTarget,
  type RunningTarget,
  TARGET_IDS,
  type TargetId,
  tokenRequest,
} from './targets.js';
import { tokensFrom, verifyTokens } from './verify.js';
import { waitForWorkers } from './workers.js';

export const SCENARIO_IDS = [
  'token',
  'jwks',
  'jwks-304',
  'discovery',
  'hello',
  'code-flow',
] as const;
export type ScenarioId = (typeof SCENARIO_IDS)[number];

/**
 * Scenarios whose runs are interleaved with each other (one run of each in turn, `repeats`
 * times), so the ratios within a group (JWKS vs koa hello, 304 vs 200, ours vs bare) compare
 * runs taken under the same background load.
 */
const INTERLEAVED_GROUPS: ScenarioId[][] = [
  ['token'],
  ['jwks', 'jwks-304', 'discovery', 'hello'],
  ['code-flow'],
];

export interface BenchOptions {
  targets: TargetId[];
  /** The first alg gets every scenario; the others only `token`. */
  algs: BenchAlg[];
  scenarios: ScenarioId[];
  /** Seconds per measured run. */
  durationSec: number;
  /** Seconds of unmeasured load before the runs of each scenario. */
  warmupSec: number;
  /** Measured runs per scenario; the report shows their median. */
  repeats: number;
  /** autocannon connections. */
  connections: number;
  /** Code flows in flight at once. */
  flowConcurrency: number;
  /** Timed starts per target (0: skip start-up timing). */
  startupRepeats: number;
  /** Timed `createTestIssuer()` starts after the first of a fresh process (0: skip in-process). */
  inProcessStarts: number;
  /** Timed `login()` calls on one in-process test issuer. */
  inProcessLogins: number;
  /** Admin rotations across three Redis instances (0: skip). */
  rotations: number;
  /** Measure node:crypto signatures/s on one core. */
  signing: boolean;
  /** Count Redis commands per token request and per code flow (needs ours-redis). */
  redisRoundTrips: boolean;
  /** How long a target idles after start before its idle RSS is read. */
  idleSettleMs: number;
  /** Cores for targets and load; `false` runs unpinned. Default: `defaultPinning()`. */
  pin: Pinning | false | undefined;
  /**
   * The Node binary every target runs on (our issuer, the others, the in-process API, the
   * signing ceiling); the harness and the load generator stay on the Node running the bench.
   */
  node: string;
  /** Worker counts for the workers rows (ours-redis, `start --workers <n>`, unpinned); [] skips. */
  workers: number[];
  log: (line: string) => void;
}

export const DEFAULT_OPTIONS: BenchOptions = {
  targets: [...TARGET_IDS],
  algs: ['RS256', 'ES256'],
  scenarios: [...SCENARIO_IDS],
  durationSec: 3,
  warmupSec: 1,
  repeats: 5,
  connections: 10,
  flowConcurrency: 4,
  startupRepeats: 3,
  inProcessStarts: 5,
  inProcessLogins: 20,
  rotations: 20,
  signing: true,
  redisRoundTrips: true,
  idleSettleMs: 1000,
  pin: undefined,
  node: process.execPath,
  workers: [1, 2],
  log: (line) => process.stderr.write(`${line}\n`),
};

export interface RunSample {
  /** Requests (or flows) per second. */
  rps: number;
  /** Latency in ms. */
  p50: number;
  p99: number;
  total: number;
  /** Target CPU (all threads) per request or flow, in ms. */
  cpuMs?: number;
  statusCodes?: Record<string, number>;
}

export interface ScenarioResult {
  target: TargetId;
  alg: BenchAlg;
  scenario: ScenarioId;
  runs: RunSample[];
  /** Median of each metric over the runs. */
  median: { rps: number; p50: number; p99: number; cpuMs?: number };
  /** Tokens verified with jose (before the runs and sampled from every run). */
  verified: number;
  /** HTTP requests per code flow. */
  requestsPerFlow?: number;
  /** Set when the scenario could not be measured or a run did not count. */
  error?: string;
}

export interface SessionResult {
  target: TargetId;
  alg: BenchAlg;
  readyMs: number;
  rssIdleMiB: number | undefined;
  rssAfterLoadMiB: number | undefined;
}

export interface StartupResult {
  target: TargetId;
  /** First start: for our issuer an empty key ring (keys are generated). */
  coldMs: number;
  /** Later starts: the key ring exists. */
  warmMs: number[];
  warmMedianMs: number;
}

/** The in-process API (`createTestIssuer`, memory store), timed in a fresh process. */
export interface InProcessResult {
  /** Importing the package. */
  importMs: number;
  /** The first `createTestIssuer()` of the process, to ready. */
  firstStartMs: number;
  /** Later starts in the same process. */
  startMs: number[];
  startMedianMs: number;
  firstLoginMs: number;
  loginMs: number[];
  loginMedianMs: number;
  /** Process CPU (all threads, key generation included) per later start and per login. */
  cpuMsPerStart: number;
  cpuMsPerLogin: number;
}

export interface RoundTripCount {
  /** Commands the issuer sent, i.e. round trips (averages). */
  roundTrips: number;
  byCommand: Record<string, number>;
  /** Commands run inside its Lua scripts (no round trips of their own). */
  insideScripts: number;
  insideScriptsByCommand: Record<string, number>;
}

export interface RedisRoundTrips {
  perTokenRequest: RoundTripCount;
  perCodeFlow: RoundTripCount;
}

/**
 * One row of the workers measure: our issuer on Redis as `start --workers <n>`, loaded with
 * the load generator on the same cores. CPU per request and RSS are summed over the
 * supervisor and its workers.
 */
export interface WorkersRow {
  workers: number;
  /** Processes of the issuer (1 for one worker: no supervisor). */
  processes: number;
  rssIdleMiB: number | undefined;
  rssAfterLoadMiB: number | undefined;
  scenarios: ScenarioResult[];
}

export interface BenchResults {
  meta: {
    date: string;
    /** The targets' Node (`--node`). */
    node: string;
    /** The Node running the harness and the load generator. */
    harnessNode: string;
    cpuModel: string;
    cores: number;
    os: string;
    loadAverageBefore: number[];
    loadAverageAfter: number[];
    pinning: Pinning | null;
    tasksetNote: string;
    options: Omit<BenchOptions, 'log' | 'pin'>;
    wallSeconds: number;
  };
  signing?: Record<string, number>;
  scenarios: ScenarioResult[];
  sessions: SessionResult[];
  startup: StartupResult[];
  inProcess?: InProcessResult;
  rotation?: RotationResult;
  redisRoundTrips?: RedisRoundTrips;
  workers?: {
    alg: BenchAlg;
    rows: WorkersRow[];
    /** Set when the workers could not be started or did not all serve. */
    error?: string;
  };
}

/** Which scenarios a target runs: everything it serves for the first alg, `token` for others. */
export function scenariosFor(id: TargetId, primaryAlg: boolean): ScenarioId[] {
  if (id === 'koa-hello') return primaryAlg ? ['hello'] : [];
  if (!primaryAlg) return ['token'];
  if (id === 'ours-memory') return ['token', 'jwks', 'jwks-304', 'discovery', 'code-flow'];
  if (id === 'ours-redis') return ['token', 'code-flow'];
  return ['token', 'jwks', 'discovery', 'code-flow'];
}

const median = (values: number[]) => percentile(values, 50);

/** Runs the benchmark described by `partial` (merged over `DEFAULT_OPTIONS`). */
export async function runBench(partial: Partial<BenchOptions> = {}): Promise<BenchResults> {
  const options: BenchOptions = { ...DEFAULT_OPTIONS, ...partial };
  const { log } = options;
  const pinning = options.pin === false ? undefined : (options.pin ?? defaultPinning());
  const started = performance.now();
  const workDir = mkdtempSync(join(tmpdir(), 'oidc-issuer-bench-'));
  const load = new LoadGenerator();
  let redis: BenchRedis | undefined;
  const results: BenchResults = {
    meta: {
      date: new Date().toISOString(),
      node: nodeVersion(options.node),
      harnessNode: process.version,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      cores: availableParallelism(),
      os: `${process.platform} ${release()}`,
      loadAverageBefore: loadavg().map((l) => Math.round(l * 100) / 100),
      loadAverageAfter: [],
      pinning: pinning ?? null,
      tasksetNote: pinning
        ? `targets and the signing ceiling on core ${pinning.target}; load generator and redis-server on core(s) ${pinning.load} (taskset -c)`
        : 'not pinned (taskset missing, one core, or --no-pin)',
      options: withoutFunctions(options),
      wallSeconds: 0,
    },
    scenarios: [],
    sessions: [],
    startup: [],
  };
  try {
    if (options.signing) {
      log('signing ceiling …');
      results.signing = await signingCeiling(options.algs, pinning?.target, options.node);
    }
    const needsRedis =
      (options.targets.includes('ours-redis') &&
        (options.scenarios.length > 0 ||
          options.startupRepeats > 0 ||
          options.workers.length > 0)) ||
      options.rotations > 0;
    if (needsRedis) redis = await startBenchRedis(pinning?.load);
    await load.start(pinning?.load);

    for (const [i, alg] of options.algs.entries()) {
      const plan = options.targets
        .map((id) => ({
          id,
          scenarios: scenariosFor(id, i === 0).filter((s) => options.scenarios.includes(s)),
        }))
        .filter((p) => p.scenarios.length > 0);
      if (plan.length === 0) continue;
      await algRound(alg, plan, { options, load, redis, workDir, cores: pinning?.target, results });
    }

    const workersScenarios = WORKERS_SCENARIOS.filter((s) => options.scenarios.includes(s));
    if (
      options.workers.length > 0 &&
      options.targets.includes('ours-redis') &&
      workersScenarios.length > 0 &&
      redis
    ) {
      const alg = options.algs[0] ?? 'RS256';
      results.workers = await measureWorkers(alg, workersScenarios, {
        options,
        load,
        redis,
        workDir,
        cores: undefined,
        results,
      }).catch((err: Error) => {
        log(`  ✗ workers: ${err.message}`);
        return { alg, rows: [], error: err.message };
      });
    }

    if (options.startupRepeats > 0) {
      for (const id of options.targets) {
        log(`start-up: ${id} …`);
        results.startup.push(
          await measureStartup(id, options.algs[0] ?? 'RS256', options.startupRepeats, {
            workDir,
            cores: pinning?.target,
            redisUrl: redis?.url,
            node: options.node,
          }),
        );
      }
    }

    if (options.inProcessStarts > 0) {
      log('in-process API: createTestIssuer() and login() …');
      results.inProcess = await measureInProcess(
        options.inProcessStarts,
        options.inProcessLogins,
        pinning?.target,
        options.node,
      );
    }

    if (options.rotations > 0 && redis) {
      log(`rotation: ${options.rotations} rotations over three Redis instances …`);
      results.rotation = await measureRotation({
        redisUrl: redis.url,
        workDir,
        cores: pinning?.target,
        rotations: options.rotations,
        alg: options.algs[0] ?? 'RS256',
        node: options.node,
      });
    }
  } finally {
    await load.stop();
    await redis?.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
  results.meta.loadAverageAfter = loadavg().map((l) => Math.round(l * 100) / 100);
  results.meta.wallSeconds = Math.round((performance.now() - started) / 1000);
  return results;
}

interface SessionContext {
  options: BenchOptions;
  load: LoadGenerator;
  redis: BenchRedis | undefined;
  workDir: string;
  cores: string | undefined;
  results: BenchResults;
}

/**
 * Every target of one alg runs at once (idle ones cost nothing) and the runs of a scenario are
 * interleaved target by target, so a burst of other work on the machine hits all of them alike.
 * Per target: idle RSS, then the scenarios, then RSS after the load.
 */
async function algRound(
  alg: BenchAlg,
  plan: { id: TargetId; scenarios: ScenarioId[] }[],
  ctx: SessionContext,
): Promise<void> {
  const { options } = ctx;
  const { log } = options;
  const running: { target: RunningTarget; scenarios: ScenarioId[]; record: SessionResult }[] = [];
  try {
    for (const { id, scenarios } of plan) {
      log(`${alg}: starting ${id} …`);
      const target = await launchTarget(id, alg, {
        workDir: ctx.workDir,
        cores: ctx.cores,
        redisUrl: ctx.redis?.url,
        redisNamespace: `bench-${alg}`,
        node: options.node,
      });
      const record: SessionResult = {
        target: id,
        alg,
        readyMs: target.readyMs,
        rssIdleMiB: undefined,
        rssAfterLoadMiB: undefined,
      };
      running.push({ target, scenarios, record });
      ctx.results.sessions.push(record);
    }
    await new Promise((r) => setTimeout(r, options.idleSettleMs));
    for (const r of running) r.record.rssIdleMiB = r.target.rss();

    const redisTarget = running.find((r) => r.target.id === 'ours-redis')?.target;
    if (redisTarget && ctx.redis && options.redisRoundTrips && alg === options.algs[0]) {
      log('ours-redis: counting Redis commands …');
      ctx.results.redisRoundTrips = await countRoundTrips(redisTarget, ctx.redis);
    }

    for (const group of INTERLEAVED_GROUPS) {
      const prepared: PreparedScenario[] = [];
      for (const scenario of group) {
        for (const r of running.filter((x) => x.scenarios.includes(scenario))) {
          log(`${r.target.id} ${alg} ${scenario}: checking and warming up …`);
          prepared.push(await prepareScenario(r.target, scenario, ctx));
        }
      }
      ctx.results.scenarios.push(...(await runInterleaved(prepared, options)));
    }
    for (const r of running) r.record.rssAfterLoadMiB = r.target.rss();
  } finally {
    await Promise.all(running.map((r) => r.target.stop()));
  }
}

/**
 * `options.repeats` measured runs of each prepared scenario in turn, then the medians; a
 * scenario whose run did not count keeps the error and gets no more runs.
 */
async function runInterleaved(
  prepared: PreparedScenario[],
  options: BenchOptions,
  label = (r: ScenarioResult) => `${r.target} ${r.alg} ${r.scenario}`,
): Promise<ScenarioResult[]> {
  const { log } = options;
  for (let rep = 0; rep < options.repeats; rep += 1) {
    for (const p of prepared) {
      if (p.result.error) continue;
      await p.runOnce().catch((err: Error) => {
        p.result.error = err.message;
      });
    }
  }
  for (const { result } of prepared) {
    result.median = {
      rps: median(result.runs.map((r) => r.rps)),
      p50: median(result.runs.map((r) => r.p50)),
      p99: median(result.runs.map((r) => r.p99)),
      ...(result.runs.every((r) => r.cpuMs !== undefined)
        ? { cpuMs: median(result.runs.map((r) => r.cpuMs as number)) }
        : {}),
    };
    if (result.error) log(`  ✗ ${label(result)}: ${result.error}`);
    else
      log(
        `  ${label(result)}: ${result.median.rps.toFixed(0)}/s p50 ${result.median.p50.toFixed(2)} ms p99 ${result.median.p99.toFixed(2)} ms, CPU ${result.median.cpuMs?.toFixed(3)} ms (runs ${result.runs.map((r) => r.rps.toFixed(0)).join(', ')})`,
      );
  }
  return prepared.map((p) => p.result);
}

/** The scenarios of the workers rows. */
const WORKERS_SCENARIOS: ScenarioId[] = ['token', 'code-flow'];

/**
 * The workers rows: ours-redis as `start --workers <n>` for each n, with the first alg. Targets
 * and a load generator of their own run unpinned (the workers need the cores the load generator
 * is pinned to), so load and issuer share the cores; runs are interleaved over the worker counts
 * like the other scenarios. CPU per request is the supervisor's plus its workers'.
 */
async function measureWorkers(
  alg: BenchAlg,
  scenarios: ScenarioId[],
  ctx: SessionContext & { redis: BenchRedis },
): Promise<NonNullable<BenchResults['workers']>> {
  const { options } = ctx;
  const load = new LoadGenerator();
  const running: { target: RunningTarget; row: WorkersRow }[] = [];
  try {
    await load.start(undefined);
    const unpinned = { ...ctx, load };
    for (const workers of options.workers) {
      options.log(`workers: starting ours-redis with --workers ${workers} (unpinned) …`);
      const target = await launchTarget('ours-redis', alg, {
        workDir: ctx.workDir,
        cores: undefined,
        redisUrl: ctx.redis.url,
        redisNamespace: `bench-workers-${workers}-${alg}`,
        node: options.node,
        workers,
      });
      running.push({
        target,
        row: {
          workers,
          processes: 0,
          rssIdleMiB: undefined,
          rssAfterLoadMiB: undefined,
          scenarios: [],
        },
      });
      if (workers > 1 && target.pid !== undefined) {
        await waitForWorkers(target.pid, target.url, workers).catch(async (err) => {
          await target.stop();
          throw err;
        });
      }
    }
    await new Promise((r) => setTimeout(r, options.idleSettleMs));
    for (const { target, row } of running) {
      row.processes = target.pid === undefined ? 0 : processTree(target.pid).length;
      row.rssIdleMiB = target.rss();
    }
    for (const scenario of scenarios) {
      const prepared: { row: WorkersRow; p: PreparedScenario }[] = [];
      for (const { target, row } of running) {
        options.log(`workers ${row.workers} ${alg} ${scenario}: checking and warming up …`);
        prepared.push({ row, p: await prepareScenario(target, scenario, unpinned) });
      }
      const byResult = new Map(prepared.map(({ row, p }) => [p.result, row]));
      const done = await runInterleaved(
        prepared.map((x) => x.p),
        options,
        (r) => `ours-redis ×${byResult.get(r)?.workers} workers ${r.alg} ${r.scenario}`,
      );
      for (const result of done) byResult.get(result)?.scenarios.push(result);
    }
    for (const { target, row } of running) row.rssAfterLoadMiB = target.rss();
  } finally {
    await Promise.all(running.map((r) => r.target.stop()));
    await load.stop();
  }
  return { alg, rows: running.map((r) => r.row) };
}

interface PreparedScenario {
  result: ScenarioResult;
  /** One measured run, appended to `result.runs`; throws when the run does not count. */
  runOnce(): Promise<void>;
}

/** Checks a first answer (verifying its token), warms up, and returns the measured-run step. */
async function prepareScenario(
  target: RunningTarget,
  scenario: ScenarioId,
  ctx: SessionContext,
): Promise<PreparedScenario> {
  const { options, load } = ctx;
  const result: ScenarioResult = {
    target: target.id,
    alg: target.alg,
    scenario,
    runs: [],
    median: { rps: 0, p50: 0, p99: 0 },
    verified: 0,
  };
  try {
    if (scenario === 'code-flow') {
      const spec = flowSpec(target);
      const expect = idTokenExpectations(target);
      const first = await runOneFlow(spec);
      result.verified += await verifyTokens([first.idToken], expect);
      result.requestsPerFlow = first.requests;
      const job = { spec, concurrency: options.flowConcurrency };
      if (options.warmupSec > 0) await load.flows({ ...job, durationMs: options.warmupSec * 1000 });
      return {
        result,
        async runOnce() {
          const cpu0 = target.cpu();
          const stats = await load.flows({ ...job, durationMs: options.durationSec * 1000 });
          const cpuMs = cpuPer(cpu0, target.cpu(), stats.flows);
          if (stats.errors > 0) {
            throw new Error(`${stats.errors} flows failed (first: ${stats.firstError})`);
          }
          result.verified += await verifyTokens(stats.samples, expect);
          result.runs.push({
            rps: stats.perSecond,
            p50: stats.p50,
            p99: stats.p99,
            total: stats.flows,
            ...(cpuMs !== undefined ? { cpuMs } : {}),
          });
        },
      };
    }
    const request = await httpRequestFor(target, scenario);
    if (scenario === 'token') {
      const res = await fetch(`${target.url}${request.path}`, {
        method: 'POST',
        headers: request.headers,
        body: request.body,
      });
      const body = await res.text();
      if (res.status !== 200) throw new Error(`token endpoint answered ${res.status}: ${body}`);
      result.verified += await verifyTokens(
        tokensFrom([body], 'access_token'),
        accessTokenExpectations(target),
      );
    }
    const job = {
      url: `${target.url}${request.path}`,
      method: request.method,
      headers: request.headers,
      ...(request.body !== undefined ? { body: request.body } : {}),
      connections: options.connections,
      collect: scenario === 'token' ? 3 : 0,
    };
    if (options.warmupSec > 0) await load.http({ ...job, durationSec: options.warmupSec });
    return {
      result,
      async runOnce() {
        const cpu0 = target.cpu();
        const run = await load.http({ ...job, durationSec: options.durationSec });
        const cpuMs = cpuPer(cpu0, target.cpu(), run.total);
        checkStatuses(run, request.expectStatus);
        if (scenario === 'token') {
          result.verified += await verifyTokens(
            tokensFrom(run.bodies, 'access_token'),
            accessTokenExpectations(target),
          );
        }
        result.runs.push({
          rps: run.rps,
          p50: run.p50,
          p99: run.p99,
          total: run.total,
          ...(cpuMs !== undefined ? { cpuMs } : {}),
          statusCodes: run.statusCodes,
        });
      },
    };
  } catch (err) {
    result.error = (err as Error).message;
    return { result, runOnce: async () => {} };
  }
}

/** A run counts only when every answer had the expected status and nothing failed. */
function checkStatuses(run: HttpLoadResult, expected: number): void {
  const unexpected = Object.entries(run.statusCodes).filter(([code]) => Number(code) !== expected);
  if (run.errors > 0 || run.timeouts > 0 || unexpected.length > 0 || run.total === 0) {
    throw new Error(
      `run did not count: statuses ${JSON.stringify(run.statusCodes)}, errors ${run.errors}, timeouts ${run.timeouts}`,
    );
  }
}

async function httpRequestFor(
  target: RunningTarget,
  scenario: Exclude<ScenarioId, 'code-flow'>,
): Promise<{
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
  expectStatus: number;
}> {
  switch (scenario) {
    case 'token':
      return { method: 'POST', ...tokenRequest(target), expectStatus: 200 };
    case 'hello':
      return { method: 'GET', path: '/hello', headers: {}, expectStatus: 200 };
    case 'discovery':
      return { method: 'GET', path: target.readyPath, headers: {}, expectStatus: 200 };
    case 'jwks':
    case 'jwks-304': {
      const path = new URL(target.discovery!.jwksUri).pathname;
      if (scenario === 'jwks') return { method: 'GET', path, headers: {}, expectStatus: 200 };
      const etag = (await fetch(`${target.url}${path}`)).headers.get('etag');
      if (!etag) throw new Error(`${target.id} sends no ETag on its JWKS`);
      return { method: 'GET', path, headers: { 'if-none-match': etag }, expectStatus: 304 };
    }
  }
}

/**
 * Redis round trips per client_credentials request and per code flow, from MONITOR on the
 * harness's own redis-server: commands the issuer sent (each one a round trip; EVALSHA counts
 * once) and the commands its Lua scripts ran. Key-ring traffic (periodic re-reads) is left out.
 */
async function countRoundTrips(target: RunningTarget, redis: BenchRedis): Promise<RedisRoundTrips> {
  const per = async (n: number, once: () => Promise<void>): Promise<RoundTripCount> => {
    const recorder = await redis.monitor();
    for (let i = 0; i < n; i += 1) await once();
    const seen = (await recorder.stop()).filter(
      (c) =>
        c.name !== 'ping' && c.name !== 'monitor' && !c.args.some((a) => a.endsWith(':keyring')),
    );
    const tally = (list: MonitoredCommand[]) => {
      const out: Record<string, number> = {};
      for (const c of list) out[c.name] = (out[c.name] ?? 0) + 1;
      for (const k of Object.keys(out)) out[k] = round2((out[k] as number) / n);
      return out;
    };
    const sent = seen.filter((c) => !c.fromScript);
    const scripted = seen.filter((c) => c.fromScript);
    return {
      roundTrips: round2(sent.length / n),
      byCommand: tally(sent),
      insideScripts: round2(scripted.length / n),
      insideScriptsByCommand: tally(scripted),
    };
  };
  const request = tokenRequest(target);
  const perTokenRequest = await per(50, async () => {
    const res = await fetch(`${target.url}${request.path}`, {
      method: 'POST',
      headers: request.headers,
      body: request.body,
    });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`token request answered ${res.status}`);
  });
  const spec = flowSpec(target);
  const perCodeFlow = await per(20, async () => {
    await runOneFlow(spec);
  });
  return { perTokenRequest, perCodeFlow };
}

/** Start-up to the first discovery 200: one cold start, then `repeats` warm ones. */
async function measureStartup(
  id: TargetId,
  alg: BenchAlg,
  repeats: number,
  ctx: { workDir: string; cores: string | undefined; redisUrl: string | undefined; node: string },
): Promise<StartupResult> {
  const family = `startup-${id}-${Date.now()}`;
  const launchCtx = {
    workDir: ctx.workDir,
    cores: ctx.cores,
    keysDir: join(ctx.workDir, family),
    redisNamespace: family,
    node: ctx.node,
    ...(ctx.redisUrl ? { redisUrl: ctx.redisUrl } : {}),
  };
  const times: number[] = [];
  for (let i = 0; i <= repeats; i += 1) {
    const target = await launchTarget(id, alg, launchCtx);
    times.push(target.readyMs);
    await target.stop();
  }
  const [coldMs = 0, ...warmMs] = times;
  return { target: id, coldMs, warmMs, warmMedianMs: median(warmMs) };
}

/** `createTestIssuer()` and `login()` in a fresh process on the target core. */
async function measureInProcess(
  starts: number,
  logins: number,
  cores: string | undefined,
  node: string,
): Promise<InProcessResult> {
  const script = join(PACKAGE_ROOT, 'dist', 'bench', 'servers', 'in-process.js');
  const child = track(spawnPinned(cores, node, [script, String(starts), String(logins)]));
  const output = captureOutput(child);
  let out = '';
  child.stdout?.on('data', (d) => {
    out += d;
  });
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  if (code !== 0) throw new Error(`in-process bench exited with ${code}: ${output()}`);
  const raw = JSON.parse(out) as Omit<InProcessResult, 'startMedianMs' | 'loginMedianMs'>;
  return { ...raw, startMedianMs: median(raw.startMs), loginMedianMs: median(raw.loginMs) };
}

/** node:crypto signatures per second on the target core, per alg. */
async function signingCeiling(
  algs: BenchAlg[],
  cores: string | undefined,
  node: string,
): Promise<Record<string, number>> {
  const script = join(PACKAGE_ROOT, 'dist', 'bench', 'servers', 'sign-ceiling.js');
  const child = track(spawnPinned(cores, node, [script, ...algs]));
  let out = '';
  child.stdout?.on('data', (d) => {
    out += d;
  });
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  if (code !== 0) throw new Error(`sign-ceiling exited with ${code}`);
  return JSON.parse(out) as Record<string, number>;
}

/** `node --version` of the binary the targets run on. */
function nodeVersion(node: string): string {
  return node === process.execPath
    ? process.version
    : execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
}

/**
 * The git commit the numbers belong to, with `+dirty` when the tree has changes other than the
 * bench's own output (BENCHMARKS.md and bench/results/, which the first of two runs on
 * different Nodes has just rewritten).
 */
export function gitDescribe(): string {
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: PACKAGE_ROOT, encoding: 'utf8' }).trim();
  try {
    const changed = git('status', '--porcelain', '--', '.', ':!BENCHMARKS.md', ':!bench/results');
    return git('describe', '--always') + (changed ? '+dirty' : '');
  } catch {
    return 'unknown';
  }
}

const cpuPer = (before: number | undefined, after: number | undefined, count: number) =>
  before === undefined || after === undefined || count === 0
    ? undefined
    : ((after - before) * 1000) / count;
const round2 = (n: number) => Math.round(n * 100) / 100;

function withoutFunctions(options: BenchOptions): Omit<BenchOptions, 'log' | 'pin'> {
  const { log: _log, pin: _pin, ...rest } = options;
  return rest;
}
