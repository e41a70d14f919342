import { describe, expect, it } from 'vitest';
import { runBench } from '../../bench/harness.js';
import { computeRatios, renderMarkdown } from '../../bench/report.js';

// The benchmark harness (npm run bench) on one target for about a second, so it cannot rot.
// It spawns the built CLI and load generator: `npm test` builds dist/ first.
describe('bench harness', () => {
  it('loads our issuer from a separate process, verifies sampled tokens and reports medians', async () => {
    const lines: string[] = [];
    const results = await runBench({
      targets: ['ours-memory'],
      algs: ['RS256'],
      scenarios: ['token', 'jwks-304'],
      durationSec: 1,
      warmupSec: 0,
      repeats: 1,
      startupRepeats: 0,
      inProcessStarts: 1,
      inProcessLogins: 2,
      rotations: 0,
      signing: false,
      redisRoundTrips: false,
      idleSettleMs: 100,
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

    const markdown = renderMarkdown(results, computeRatios(results), {
      command: 'test',
      commit: 'test',
      notes: '',
    });
    expect(markdown).toContain('| oidc-issuer (memory store) | RS256 | token |');
  }, 60_000);
});
