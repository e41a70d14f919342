import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_API_AUDIENCE } from '../../src/config/demo.js';
import type { RunningIssuer } from '../../src/issuer.js';
import type { ProbeReport } from '../../src/probe/run.js';
import { type ExampleProcess, startExample } from '../e2e/example-process.js';
import { startExpressApi } from '../support/express-stack.js';
import { startTestIssuer } from '../support/issuer.js';
import { freePort } from '../support/ports.js';
import { FAILS, type Flaw, startVerifierApi, type TestApi } from '../support/verifiers.js';
import { runCli } from './cli-run.js';

const ADMIN_TOKEN = 'probe-test-admin-token-0123456789';

let issuer: RunningIssuer;
let api: ExampleProcess;

beforeAll(async () => {
  issuer = await startTestIssuer({ admin: { token: ADMIN_TOKEN } });
  api = await startExample('api', { ISSUER: issuer.url, AUDIENCE: DEMO_API_AUDIENCE });
});

afterAll(async () => {
  await api?.stop();
  await issuer?.close();
});

/** `oidc-issuer probe <url> --json …` against the test issuer, as a user runs it. */
async function probe(url: string, args: string[] = [], env: Record<string, string> = {}) {
  const result = await runCli(['probe', url, '--json', '--scope', 'api:read', ...args], {
    env: { ISSUER: issuer.url, ADMIN_TOKEN, ...env },
    timeoutMs: 90_000,
  });
  const report = result.stdout.trim().startsWith('{')
    ? (JSON.parse(result.stdout) as ProbeReport)
    : undefined;
  const failed = report?.cases.filter((c) => c.verdict === 'fail').map((c) => c.id) ?? [];
  return { ...result, report, failed };
}

describe('oidc-issuer probe', () => {
  it('examples/api passes every case, the rotation drill included (exit 0)', async () => {
    const r = await probe(`${api.url}/api/whoami`, ['--rotate']);
    expect(r.stderr).toContain('rotation drill: rotating');
    expect(r.failed, JSON.stringify(r.report, null, 2)).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.report?.ok).toBe(true);
    const skipped = r.report?.cases.filter((c) => c.verdict === 'skipped').map((c) => c.id);
    expect(skipped).toEqual(['access-token-as-id-token']);
    const drill = r.report?.cases.find((c) => c.id === 'rotation-new-key');
    expect(drill?.got).toBe(200);
    expect(drill?.note).toMatch(/^key \S+ accepted/);
    expect(r.report?.summary).toEqual({ total: 23, passed: 22, failed: 0, skipped: 1 });
  });

  describe('each deliberately broken verifier fails exactly its own cases', () => {
    for (const flaw of Object.keys(FAILS) as Flaw[]) {
      it(flaw, async () => {
        const broken = await startVerifierApi({
          issuer: issuer.url,
          audience: DEMO_API_AUDIENCE,
          flaw,
        });
        try {
          const r = await probe(broken.url, ['--rotate', '--rotation-wait', '3s']);
          expect(r.failed.sort(), JSON.stringify(r.report?.cases, null, 2)).toEqual(
            [...FAILS[flaw]].sort(),
          );
          expect(r.code).toBe(1);
          for (const c of r.report?.cases.filter((x) => x.verdict === 'fail') ?? []) {
            expect(c.consequence).toMatch(/\S/);
            expect(Object.keys(c.fix ?? {})).toContain('jsonwebtoken');
          }
        } finally {
          await broken.close();
        }
      });
    }
  });

  it('the same verifier without a flaw passes (the broken ones differ only by their flaw)', async () => {
    const sound = await startVerifierApi({ issuer: issuer.url, audience: DEMO_API_AUDIENCE });
    try {
      const r = await probe(sound.url, ['--rotate', '--rotation-wait', '3s']);
      expect(r.failed).toEqual([]);
      expect(r.code).toBe(0);
    } finally {
      await sound.close();
    }
  });

  it('--type id: an API taking ID tokens passes; one that skips aud fails exactly the audience cases', async () => {
    const sound = await startVerifierApi({
      issuer: issuer.url,
      audience: 'demo-web',
      expects: 'id',
    });
    try {
      const r = await probe(sound.url, [
        '--type',
        'id',
        '--client-id',
        'demo-web',
        '--sub',
        'alice',
      ]);
      expect(r.failed, JSON.stringify(r.report?.cases, null, 2)).toEqual([]);
      const ran = r.report?.cases.filter((c) => c.verdict !== 'skipped').map((c) => c.id);
      expect(ran).toContain('access-token-as-id-token');
      expect(ran).not.toContain('id-token-as-access-token');
      expect(ran).not.toContain('missing-scope');
    } finally {
      await sound.close();
    }
    const lax = await startVerifierApi({
      issuer: issuer.url,
      audience: 'demo-web',
      expects: 'id',
      flaw: 'skips-audience',
    });
    try {
      const r = await probe(lax.url, ['--type', 'id', '--client-id', 'demo-web', '--sub', 'alice']);
      expect(r.failed.sort()).toEqual(['no-audience', 'wrong-audience']);
    } finally {
      await lax.close();
    }
  });

  describe('express + express-jwt + jwks-rsa with the recommended settings', () => {
    let stack: TestApi | undefined;
    afterAll(async () => stack?.close());

    it('passes every case but the two jsonwebtoken never checks (future iat, unknown crit)', async () => {
      stack = await startExpressApi({ issuer: issuer.url, audience: DEMO_API_AUDIENCE });
      const r = await probe(stack.url, ['--rotate']);
      expect(r.failed.sort(), JSON.stringify(r.report?.cases, null, 2)).toEqual([
        'crit-unknown',
        'issued-in-future',
      ]);
      expect(r.report?.cases.find((c) => c.id === 'rotation-new-key')?.verdict).toBe('pass');
    }, 120_000);

    it('passes every case with the two checks docs/probe.md gives', async () => {
      const fixed = await startExpressApi({
        issuer: issuer.url,
        audience: DEMO_API_AUDIENCE,
        withProbeFixes: true,
      });
      try {
        // The added checks do not touch key fetching, which the test above drills.
        const r = await probe(fixed.url);
        expect(r.failed, JSON.stringify(r.report?.cases, null, 2)).toEqual([]);
        expect(r.code).toBe(0);
      } finally {
        await fixed.close();
      }
    }, 90_000);
  });

  it('prints a table, a summary and, per finding, the consequence and the usual fixes', async () => {
    const broken = await startVerifierApi({
      issuer: issuer.url,
      audience: DEMO_API_AUDIENCE,
      flaw: 'allows-none',
    });
    try {
      const r = await runCli(['probe', broken.url, '--scope', 'api:read'], {
        env: { ISSUER: issuer.url, ADMIN_TOKEN },
      });
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/^CASE +EXPECTED +GOT +VERDICT +NOTE$/m);
      expect(r.stdout).toMatch(/^alg-none +401,403 \(refuse\) +200 +FAIL +accepted$/m);
      expect(r.stdout).toMatch(/^valid +2xx \(accept\) +200 +pass$/m);
      expect(r.stdout).toContain('FAIL: 1 of 20 cases did not behave as expected (3 skipped)');
      expect(r.stdout).toContain('consequence: Anyone can forge any token');
      expect(r.stdout).toMatch(/jsonwebtoken: pass `algorithms: \['RS256'\]`/);
      expect(r.stdout).toContain('more: docs/probe.md#alg-none');
      expect(r.stdout).not.toContain('undefined');
    } finally {
      await broken.close();
    }
  });

  it('--json gives the report: target, issuer, ok, summary and one row per case', async () => {
    const r = await probe(`${api.url}/api/whoami`);
    expect(r.code).toBe(0);
    expect(Object.keys(r.report ?? {}).sort()).toEqual(
      ['cases', 'issuer', 'ok', 'stoppedAtBaseline', 'summary', 'target'].sort(),
    );
    expect(r.report?.target).toEqual({ url: `${api.url}/api/whoami`, method: 'GET' });
    expect(r.report?.issuer).toBe(issuer.url);
    for (const c of r.report?.cases ?? []) {
      expect(c).toMatchObject({
        id: expect.any(String),
        title: expect.any(String),
        expect: expect.stringMatching(/^(accept|refuse|forbidden)$/),
        expected: expect.any(String),
        verdict: expect.stringMatching(/^(pass|skipped)$/),
      });
    }
    expect(r.report?.cases.find((c) => c.id === 'missing-scope')).toMatchObject({
      expected: '403',
      got: 403,
    });
  });

  it('stops after the baseline when the API refuses a valid token, and says what the token had', async () => {
    const r = await probe(`${api.url}/api/whoami`, ['--aud', 'http://localhost:4000/other']);
    expect(r.code).toBe(1);
    expect(r.report?.stoppedAtBaseline).toBe(true);
    expect(r.report?.cases).toHaveLength(1);
    expect(r.report?.cases[0]?.note).toContain('aud "http://localhost:4000/other"');
    expect(r.report?.cases[0]?.response?.body).toContain('aud');
  });

  it('exit 2 for usage errors, naming what to fix', async () => {
    const noAdmin = await runCli(['probe', `${api.url}/api/whoami`], {
      env: { ISSUER: issuer.url },
    });
    expect(noAdmin.code).toBe(2);
    expect(noAdmin.stderr).toContain('set ADMIN_TOKEN');

    const wrongAdmin = await probe(`${api.url}/api/whoami`, [], {
      ADMIN_TOKEN: 'not-the-admin-token-at-all',
    });
    expect(wrongAdmin.code).toBe(2);
    expect(wrongAdmin.stderr).toContain('refused the admin token');

    const badStatus = await probe(`${api.url}/api/whoami`, ['--accept-status', '2xx,abc']);
    expect(badStatus.code).toBe(2);
    expect(badStatus.stderr).toContain('"abc" is not an HTTP status');

    const badUrl = await probe('localhost:4000/api');
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr).toContain('must be an http(s) URL');

    const badHeader = await probe(`${api.url}/api/whoami`, ['-H', 'Authorization: Bearer x']);
    expect(badHeader.code).toBe(2);
    expect(badHeader.stderr).toContain('cannot set Authorization');
    expect(badHeader.stderr).toContain('(PROBE_OPTIONS_INVALID)');
  });

  it('exit 3 when the API or the issuer cannot be reached', async () => {
    const closed = await freePort();
    const noApi = await probe(`http://127.0.0.1:${closed}/api`);
    expect(noApi.code).toBe(3);
    expect(noApi.stderr).toContain(`cannot reach the API at http://127.0.0.1:${closed}/api`);

    const noIssuer = await probe(`${api.url}/api/whoami`, [], {
      ISSUER: `http://127.0.0.1:${closed}`,
    });
    expect(noIssuer.code).toBe(3);
    expect(noIssuer.stderr).toContain(`http://127.0.0.1:${closed}`);
  });
});
