/**
 * Real traffic against a running issuer while its Redis fails over: refresh-token grants and
 * whole code flows (login page, password, consent, code redemption), each answer classified.
 * What the failover tests promise is read off the outcomes: before the crash everything
 * succeeds; inside the failover window the only failure is the store's 503
 * `temporarily_unavailable`; after it everything succeeds again; nothing hangs.
 */
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from 'jose';
import { expect } from 'vitest';
import { Browser, type Page } from './browser.js';
import {
  authUrl,
  basic,
  pkcePair,
  redeem,
  signIn,
  tokenRequest,
  WEB,
  WEB_CALLBACK,
  webAuthParams,
} from './flows.js';

export interface Outcome {
  kind: 'refresh' | 'code flow';
  /** Epoch ms the request (or the flow's first request) started and the last one ended. */
  start: number;
  end: number;
  /** `ok`, `unavailable` (the store's 503), or what else came back (a test failure). */
  result: 'ok' | 'unavailable' | string;
}

/** A request (or a flow) that takes longer than this counts as a hang. */
const HANG_MS = 15_000;

export interface Traffic {
  /** Outcomes so far. */
  readonly outcomes: readonly Outcome[];
  /** Stops starting new requests and resolves with every outcome once the last one ended. */
  stop(): Promise<Outcome[]>;
}

/**
 * Starts `loops` refresh-token loops (redeeming `refreshToken`, which this client does not
 * rotate) and as many code-flow loops against `issuer`.
 */
export function startTraffic(issuer: string, refreshToken: string, loops = 2): Traffic {
  const outcomes: Outcome[] = [];
  let running = true;
  const record = async (kind: Outcome['kind'], work: () => Promise<Outcome['result']>) => {
    const start = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const hang = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve(`no answer within ${HANG_MS} ms`), HANG_MS);
    });
    const result = await Promise.race([
      work().catch((err: unknown) => `request failed: ${String(err)}`),
      hang,
    ]);
    clearTimeout(timer);
    outcomes.push({ kind, start, end: Date.now(), result });
  };
  const loop = async (kind: Outcome['kind'], work: () => Promise<Outcome['result']>) => {
    while (running) {
      await record(kind, work);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const all = [
    ...Array.from({ length: loops }, () => loop('refresh', () => refresh(issuer, refreshToken))),
    ...Array.from({ length: loops }, () => loop('code flow', () => codeFlow(issuer))),
  ];
  return {
    outcomes,
    async stop() {
      running = false;
      await Promise.all(all);
      return outcomes;
    },
  };
}

async function refresh(issuer: string, refreshToken: string): Promise<Outcome['result']> {
  const answer = await tokenRequest(
    issuer,
    { grant_type: 'refresh_token', refresh_token: refreshToken },
    basic(WEB.id, WEB.secret),
  );
  if (answer.status === 200 && typeof answer.body.access_token === 'string') return 'ok';
  return unavailableOrWhat(answer.status, answer.body.error, JSON.stringify(answer.body));
}

/** One sign-in as alice through the pages, then the code redeemed at the token endpoint. */
async function codeFlow(issuer: string): Promise<Outcome['result']> {
  const browser = new Browser();
  const { verifier, challenge } = pkcePair();
  let page = await browser.follow(authUrl(issuer, webAuthParams(challenge)), {}, WEB_CALLBACK);
  for (let step = 0; step < 4; step += 1) {
    if (page.status === 0) break;
    if (page.status !== 200) return pageOutcome(page);
    if (page.body.includes('Sign in')) {
      page = await browser.submit(
        page,
        /\/login$/,
        { username: 'alice', password: 'alice' },
        WEB_CALLBACK,
        -1,
      );
    } else if (page.body.includes('Allow access')) {
      page = await browser.submit(page, /\/confirm$/, {}, WEB_CALLBACK);
    } else {
      return `unexpected page: ${page.body.slice(0, 200)}`;
    }
  }
  if (page.status !== 0) return pageOutcome(page);
  const params = new URL(page.url).searchParams;
  const code = params.get('code');
  // The authorization endpoint reports errors to the client's redirect URI.
  if (!code) return unavailableOrWhat(503, params.get('error'), page.url);
  const tokens = await redeem(issuer, code, verifier);
  if (tokens.status === 200 && typeof tokens.body.id_token === 'string') return 'ok';
  return unavailableOrWhat(tokens.status, tokens.body.error, JSON.stringify(tokens.body));
}

function pageOutcome(page: Page): Outcome['result'] {
  if (page.status === 503 && page.body.includes('Temporarily unavailable')) return 'unavailable';
  return `page ${page.status}: ${page.body.slice(0, 200)}`;
}

function unavailableOrWhat(status: number, error: unknown, what: string): Outcome['result'] {
  if (status === 503 && error === 'temporarily_unavailable') return 'unavailable';
  return `${status}: ${what.slice(0, 300)}`;
}

/**
 * What the outcomes say about one failover whose crash was started at `crashStartedAt` (epoch
 * ms) and done (the master dead) at `crashAt`.
 */
export interface FailoverReport {
  /** Outcomes of requests that ended before the crash started. */
  before: Outcome[];
  unavailable: Outcome[];
  /** Neither ok nor the store's 503: each one is a broken promise. */
  unexpected: Outcome[];
  /** ms from the crash to the end of the last 503 (0 when there was none). */
  lastUnavailableMs: number;
  /** ms from the crash to the end of the first success that started after it. */
  firstOkMs: number | undefined;
  /** The longest a request (or a whole code flow) took, in ms. */
  longestMs: number;
}

export function failoverReport(
  outcomes: readonly Outcome[],
  crashStartedAt: number,
  crashAt: number,
): FailoverReport {
  const unavailable = outcomes.filter((o) => o.result === 'unavailable');
  const firstOk = outcomes
    .filter((o) => o.result === 'ok' && o.start >= crashAt)
    .reduce<number | undefined>(
      (min, o) => (min === undefined || o.end < min ? o.end : min),
      undefined,
    );
  return {
    before: outcomes.filter((o) => o.end < crashStartedAt),
    unavailable,
    unexpected: outcomes.filter((o) => o.result !== 'ok' && o.result !== 'unavailable'),
    lastUnavailableMs: Math.max(0, ...unavailable.map((o) => o.end - crashAt)),
    firstOkMs: firstOk === undefined ? undefined : firstOk - crashAt,
    longestMs: Math.max(0, ...outcomes.map((o) => o.end - o.start)),
  };
}

/** How a test's Redis fails over: make the replicas current, crash, wait for the takeover. */
export interface FailoverDrill {
  /** Shown in the measurement line, e.g. `sentinel` or `cluster`. */
  label: string;
  /** Waits until the replicas hold every acknowledged write (replication is asynchronous). */
  synced(): Promise<void>;
  /**
   * Crashes the master the issuer's keys live on and resolves once it is dead; a description
   * for the measurement line.
   */
  crash(): Promise<string>;
  /** Resolves once the topology agrees on a new master (Sentinels, or every cluster node). */
  failedOver(): Promise<void>;
}

/**
 * The failover promise, for any topology: while `issuer` serves refresh grants and code flows,
 * `drill` crashes the master. Before the crash everything succeeds; between the crash and the
 * issuer settling on the new master the only failure is the store's 503
 * (`temporarily_unavailable`), never another status, a hang or a crash; after it everything
 * succeeds. The key ring is the same (same kids; an ID token from before verifies), and a
 * refresh token issued before the crash still works. Logs the measured window.
 */
export async function expectFailoverKeepsPromises(
  issuer: string,
  drill: FailoverDrill,
): Promise<FailoverReport> {
  const jwksOf = async () => (await (await fetch(`${issuer}/jwks`)).json()) as JSONWebKeySet;
  const grant = async () => {
    const { code, verifier } = await signIn(issuer, new Browser());
    const tokens = await redeem(issuer, code, verifier);
    expect(tokens.status, JSON.stringify(tokens.body)).toBe(200);
    return tokens.body as { refresh_token: string; id_token: string };
  };
  const jwksBefore = await jwksOf();
  const kept = await grant();
  const traffic = await grant();
  await drill.synced();

  const load = startTraffic(issuer, traffic.refresh_token);
  await waitUntil(() => load.outcomes.length >= 8, 20_000, 'traffic before the crash');
  const crashStartedAt = Date.now();
  const crashed = await drill.crash();
  const crashAt = Date.now();
  await drill.failedOver();
  const electedAt = Date.now();
  // Once the topology agrees, the issuer's connection follows within its reconnect backoff.
  await waitUntil(
    () => load.outcomes.filter((o) => o.result === 'ok' && o.start > electedAt).length >= 6,
    20_000,
    'successes after the failover',
  );
  const settledAt = Date.now();
  await new Promise((r) => setTimeout(r, 2000));
  const outcomes = await load.stop();
  const report = failoverReport(outcomes, crashStartedAt, crashAt);
  console.info(
    `${drill.label} failover (${crashed}): new master agreed on ${electedAt - crashAt} ms after ` +
      `the crash; first success ${report.firstOkMs} ms, last 503 ${report.lastUnavailableMs} ms ` +
      `after it; ${outcomes.length} requests/flows, ${report.unavailable.length} answered 503, ` +
      `the longest took ${report.longestMs} ms`,
  );

  expect(report.unexpected, JSON.stringify(report.unexpected.slice(0, 5))).toEqual([]);
  expect(report.before.length).toBeGreaterThan(0);
  expect(report.before.filter((o) => o.result !== 'ok')).toEqual([]);
  // The crash hit traffic: requests ran while the master was gone.
  expect(outcomes.some((o) => o.start >= crashAt && o.start < electedAt)).toBe(true);
  // 503 only inside the window: nothing started after the issuer settled failed.
  const late = outcomes.filter((o) => o.start >= settledAt);
  expect(late.length).toBeGreaterThan(0);
  expect(late.filter((o) => o.result !== 'ok')).toEqual([]);

  const jwksAfter = await jwksOf();
  const kids = (set: JSONWebKeySet) => set.keys.map((k) => k.kid).sort();
  expect(kids(jwksAfter)).toEqual(kids(jwksBefore));
  await jwtVerify(kept.id_token, createLocalJWKSet(jwksAfter), { audience: WEB.id });
  const refreshed = await tokenRequest(
    issuer,
    { grant_type: 'refresh_token', refresh_token: kept.refresh_token },
    basic(WEB.id, WEB.secret),
  );
  expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200);
  // New grants are stored on the new master.
  await grant();
  expect((await fetch(`${issuer}/readyz`)).status).toBe(200);
  return report;
}

async function waitUntil(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
