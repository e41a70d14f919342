/**
 * The fault table of the security checklist, with real processes: three issuer processes share
 * one redis-server (the third through a TCP proxy this test can cut). After every fault,
 * "nothing lost" is checked literally: the published kids are a superset of those before, every
 * token minted before still verifies, and no instance signs with a key the others do not
 * publish.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser } from '../support/browser.js';
import { startRedis, type TestRedis, uniqueNamespace } from '../support/redis.js';
import {
  converged,
  expectAllVerify,
  expectSuperset,
  freePort,
  type Instance,
  jwksOf,
  kidOf,
  kidsOf,
  mint,
  ready,
  rotate,
  sleep,
  startInstances,
  startTcpProxy,
  type TcpProxy,
  waitFor,
  waitReady,
  writeFaultConfig,
} from './fleet.js';

let redis: TestRedis;
let proxy: TcpProxy;
let fleet: Instance[];
let A: Instance;
let B: Instance;
let C: Instance;
let issuer: string;
let configFile: string;
const namespace = uniqueNamespace('faults');
/** Every token minted so far, by any instance; all must keep verifying. */
const minted: string[] = [];
const extra: Instance[] = [];

beforeAll(async () => {
  redis = await startRedis();
  proxy = await startTcpProxy(redis.port);
  configFile = writeFaultConfig();
  const ports = [await freePort(), await freePort(), await freePort()];
  issuer = `http://127.0.0.1:${ports[0]}`;
  fleet = await startInstances(
    3,
    {
      issuer,
      configFile,
      namespace,
      redisUrls: [redis.url, redis.url, `redis://127.0.0.1:${proxy.port}`],
    },
    ports,
  );
  [A, B, C] = fleet as [Instance, Instance, Instance];
  await waitReady(fleet);
  await converged(fleet);
}, 60_000);

afterAll(async () => {
  await Promise.all([...(fleet ?? []), ...extra].map((i) => i.proc.stop()));
  await proxy?.close();
  await redis?.stop();
});

async function mintEverywhere(instances = fleet): Promise<string[]> {
  const tokens = await Promise.all(instances.map(mint));
  minted.push(...tokens);
  return tokens;
}

/** The checks every fault ends with, once the fleet has recovered. */
async function expectNothingLost(before: Set<string>, what: string): Promise<Set<string>> {
  await waitReady(fleet, 15_000);
  const after = await converged(fleet, 15_000);
  expectSuperset(after, before, what);
  const shared = await jwksOf(A);
  await expectAllVerify(minted, shared, issuer);
  // No instance signs with a key the shared JWKS does not hold.
  for (const token of await mintEverywhere()) expect(after).toContain(kidOf(token));
  return after;
}

describe('faults around the key ring ("nothing lost")', () => {
  it('three rotations sent to three instances at once → exactly one new kid', async () => {
    await mintEverywhere();
    const before = await converged(fleet);
    const signer = kidOf(minted[0]!);
    await sleep(1100); // the waiting key has been published for the pre-publication lead

    const answers = await Promise.all(fleet.map(rotate));
    const statuses = answers.map((r) => r.status);
    for (const r of answers) await r.arrayBuffer();
    expect(statuses.filter((s) => s === 200).length, String(statuses)).toBeGreaterThanOrEqual(1);
    for (const s of statuses) expect([200, 409]).toContain(s);

    const after = await expectNothingLost(before, 'concurrent rotation');
    const added = [...after].filter((k) => !before.has(k));
    expect(added, 'exactly one kid minted').toHaveLength(1);
    const signers = new Set((await mintEverywhere()).map(kidOf));
    expect(signers.size).toBe(1);
    expect([...signers][0]).not.toBe(signer);
    expect(before).toContain([...signers][0]); // the key that signs now was published before
  });

  it('one instance cut off from Redis while another rotates: it keeps signing with a published key and turns not-ready', async () => {
    const before = await converged(fleet);
    await mintEverywhere();
    await sleep(1100);
    await proxy.cut();
    const cutAt = Date.now();

    const rotated = await rotate(A);
    expect(rotated.status, await rotated.text()).toBe(200);
    const shared = await converged([A, B]);

    // C still signs, and with a key that the instances it lost touch with still publish.
    const fromC = await mint(C);
    minted.push(fromC);
    expect(shared).toContain(kidOf(fromC));
    await expectAllVerify([fromC], await jwksOf(A), issuer);

    // ...and reports not-ready within a bound (3 × the 1 s refresh interval, plus slack).
    await waitFor(async () => !(await ready(C)), 8_000, 'the cut-off instance to report not-ready');
    expect(Date.now() - cutAt).toBeLessThan(8_000);
    expect(await ready(A)).toBe(true);
    const readyz = (await (await fetch(`${C.base}/readyz`)).json()) as {
      checks: Record<string, string>;
    };
    expect(readyz.checks.store).toBe('unreachable');
    // Its JWKS keeps answering from memory during the cut.
    expectSuperset(await kidsOf(C), before, 'cut-off instance JWKS');

    await proxy.restore();
    const after = await expectNothingLost(before, 'partition');
    expect(kidOf(await mint(C))).toBe(kidOf(await mint(A)));
    expect(after.size).toBe(before.size + 1);
  });

  it('a paused (hung) Redis: store-backed requests fail fast with 503, JWKS keeps serving, then recovery', async () => {
    const before = await converged(fleet);
    await mintEverywhere();
    // A code obtained before the hang, to check that retries never give two 200s.
    const browser = new Browser();
    const verifier = 'v'.repeat(43);
    const { createHash } = await import('node:crypto');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const authorize = `${A.base}/auth?${new URLSearchParams({
      client_id: 'demo-web',
      response_type: 'code',
      redirect_uri: 'http://localhost:3001/callback',
      scope: 'openid',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    })}`;
    const login = await browser.follow(authorize, {}, 'http://localhost:3001/callback');
    const consent = await browser.submit(
      login,
      /\/login$/,
      { username: 'alice', password: 'alice' },
      'http://localhost:3001/callback',
      -1,
    );
    const done = await browser.submit(consent, /\/confirm$/, {}, 'http://localhost:3001/callback');
    const code = new URL(done.url).searchParams.get('code')!;
    expect(code).toBeTruthy();
    const redeem = (i: Instance) =>
      fetch(`${i.base}/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from('demo-web:demo-web-secret').toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code,
          code_verifier: verifier,
          redirect_uri: 'http://localhost:3001/callback',
        }),
      });

    redis.pause();
    try {
      const started = Date.now();
      const during = await redeem(A);
      const elapsed = Date.now() - started;
      await during.arrayBuffer();
      expect(during.status).toBe(503);
      expect(elapsed).toBeLessThan(5_000);
      const page = await new Browser().request(authorize);
      expect(page.status).toBe(503);
      expect(page.headers.get('content-type')).toMatch(/html/);
      const jwks = await fetch(`${B.base}/jwks`);
      expect(jwks.status).toBe(200);
      await jwks.arrayBuffer();
      await waitFor(async () => !(await ready(A)), 8_000, 'not-ready while Redis hangs');
    } finally {
      redis.resume();
    }
    const retries = await Promise.all([redeem(A), redeem(B)]);
    const retryStatuses = retries.map((r) => r.status);
    for (const r of retries) await r.arrayBuffer();
    expect(retryStatuses.filter((s) => s === 200).length).toBeLessThanOrEqual(1);
    for (const s of retryStatuses) expect([200, 400]).toContain(s);
    await expectNothingLost(before, 'hung Redis');
  });

  it('Redis restarted without persistence: the running instances write the ring back, nobody invents keys, sessions are gone', async () => {
    const before = await converged(fleet);
    await mintEverywhere();
    const browser = new Browser();
    const login = await browser.follow(
      `${A.base}/auth?${new URLSearchParams({
        client_id: 'demo-web',
        response_type: 'code',
        redirect_uri: 'http://localhost:3001/callback',
        scope: 'openid',
        code_challenge: 'c'.repeat(43),
        code_challenge_method: 'S256',
      })}`,
      {},
      'http://localhost:3001/callback',
    );
    const consent = await browser.submit(
      login,
      /\/login$/,
      { username: 'alice', password: 'alice' },
      'http://localhost:3001/callback',
      -1,
    );
    expect(consent.body).toContain('Allow access');

    await redis.stop();
    await redis.start(); // empty: --save "" and no AOF
    const after = await expectNothingLost(before, 'restart without persistence');
    expect([...after].sort(), 'no key was invented').toEqual([...before].sort());

    // The session lived only in Redis: the browser must sign in again.
    const again = await browser.follow(
      `${A.base}/auth?${new URLSearchParams({
        client_id: 'demo-web',
        response_type: 'code',
        redirect_uri: 'http://localhost:3001/callback',
        scope: 'openid',
        prompt: 'none',
        code_challenge: 'c'.repeat(43),
        code_challenge_method: 'S256',
      })}`,
      {},
      'http://localhost:3001/callback',
    );
    expect(new URL(again.url).searchParams.get('error')).toBe('login_required');
  });

  it('store down at start: the process stays up, answers 503, invents no keys, and becomes ready when the store returns', async () => {
    const before = await converged(fleet);
    // The store is unreachable for this process only (its own cut link), data intact.
    const link = await startTcpProxy(redis.port);
    await link.cut();
    const [late] = await startInstances(1, {
      issuer,
      configFile,
      namespace,
      redisUrls: [`redis://127.0.0.1:${link.port}`],
    });
    extra.push(late!);
    try {
      expect(await ready(late!)).toBe(false);
      for (const path of ['/jwks', '/.well-known/openid-configuration']) {
        const res = await fetch(`${late!.base}${path}`);
        await res.arrayBuffer();
        expect(res.status, path).toBe(503);
      }
      const token = await fetch(`${late!.base}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials',
      });
      await token.arrayBuffer();
      expect(token.status).toBe(503);
      await sleep(1500);
      expect(late!.proc.child.exitCode).toBeNull();
    } finally {
      await link.restore();
    }
    fleet.push(late!);
    extra.pop();
    const after = await expectNothingLost(before, 'store down at start');
    expect([...after].sort(), 'the late instance invented no key').toEqual([...before].sort());
    await link.close();
  });
});
