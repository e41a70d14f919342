/**
 * Runs the probe: sends each case's token to the API under test and compares its answer with
 * what a correct verifier must do. One implementation for `oidc-issuer probe` and the web page;
 * they differ only in how they reach the issuer (`IssuerAccess`) and which targets they allow.
 */
import { decodeProtectedHeader, type JWK } from 'jose';
import { IssuerError } from '../errors.js';
import type { MintedToken, MintRequest } from '../tokens/mint.js';
import { CASES, type Expectation, type ProbeCase, type TokenKit } from './cases.js';
import { type ForeignKey, foreignKey } from './forge.js';
import { type KeyHost, startKeyHost } from './key-host.js';

/** A probe failure that is not a finding. `code` decides the exit status (see cli/exit.ts). */
export class ProbeError extends IssuerError {}

/** How the probe reaches the issuer whose tokens the API trusts. */
export interface IssuerAccess {
  /** The issuer URL (the `iss` of its tokens). */
  readonly issuer: string;
  /** The published JWK set. @throws TokenError `DISCOVERY_FAILED` / `JWKS_UNAVAILABLE`. */
  jwks(): Promise<JWK[]>;
  /** A token from the issuer's mint endpoint. @throws ProbeError. */
  mint(request: MintRequest): Promise<MintedToken>;
  /** Rotates `alg` at once (`next` signs now, even if young). @throws ProbeError. */
  rotateNow(alg: string): Promise<void>;
}

/** The request the probe sends to the API, once per case, with `Authorization: Bearer …`. */
export interface TargetRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
}

/** A set of HTTP statuses, e.g. `2xx`, `200-299`, `401,403`. */
export interface StatusSet {
  text: string;
  has(status: number): boolean;
}

export interface ProbeOptions {
  target: TargetRequest;
  /** The claims of a valid token for the API (the baseline); everything else derives from it. */
  token: Pick<MintRequest, 'aud' | 'scope' | 'sub' | 'clientId' | 'claims'> & {
    type: 'access' | 'id';
  };
  /** The statuses that count as accepted (default 2xx) and refused (default 401, 403). */
  acceptStatus?: StatusSet;
  refuseStatus?: StatusSet;
  /** Run the rotation drill: rotates the issuer's real key ring (twice, at once). */
  rotate?: boolean;
  /** How long the drill waits for the API to pick up the new key (its refetch throttle: jwks-rsa allows 5 fetches a minute). Default 65 s. */
  rotationWaitMs?: number;
  /** Per request to the API. Default 5 s. */
  timeoutMs?: number;
  /** Where the `jku`/`x5u` key server listens. Default 127.0.0.1. */
  keyHost?: string;
  /** Called before the probe does something the user should know of (the rotation). */
  onNotice?: (message: string) => void;
  /** Called after each case. */
  onResult?: (result: CaseResult) => void;
}

export type Verdict = 'pass' | 'fail' | 'skipped';

/** One row of the report. */
export interface CaseResult {
  id: string;
  title: string;
  expect: Expectation;
  /** The statuses that would have been right, e.g. `2xx`, `401,403`, `403`. */
  expected: string;
  /** The API's status, or null when it did not answer (see `error`). */
  got: number | null;
  verdict: Verdict;
  /** Why it failed or was skipped, what was observed (e.g. "accepted after 4 s"). */
  note?: string;
  /** The API's WWW-Authenticate header and the start of its body, for failed cases. */
  response?: { wwwAuthenticate?: string; body?: string };
  /** On failure: the consequence and the usual fixes (from cases.ts). */
  consequence?: string;
  fix?: ProbeCase['fix'];
}

export interface ProbeReport {
  target: { url: string; method: string };
  issuer: string;
  /** True when every case that ran behaved as a correct verifier must. */
  ok: boolean;
  /** True when the baseline was refused and nothing else ran. */
  stoppedAtBaseline: boolean;
  summary: { total: number; passed: number; failed: number; skipped: number };
  cases: CaseResult[];
}

const MAX_BODY_SNIPPET = 2048;
const DEFAULT_ACCEPT = parseStatusSet('2xx');
const DEFAULT_REFUSE = parseStatusSet('401,403');
const FORBIDDEN = parseStatusSet('403');

/**
 * Parses `2xx`, `200-299`, `401,403` (and mixes).
 * @throws ProbeError `PROBE_OPTIONS_INVALID` naming the bad part.
 */
export function parseStatusSet(text: string): StatusSet {
  const ranges: [number, number][] = [];
  for (const part of text.split(',').map((p) => p.trim())) {
    const m = /^([1-5])xx$/i.exec(part) ?? undefined;
    const r = /^(\d{3})(?:-(\d{3}))?$/.exec(part) ?? undefined;
    if (m) ranges.push([Number(m[1]) * 100, Number(m[1]) * 100 + 99]);
    else if (r) ranges.push([Number(r[1]), Number(r[2] ?? r[1])]);
    else {
      throw new ProbeError(
        'PROBE_OPTIONS_INVALID',
        `"${part}" is not an HTTP status, range or class (e.g. 200, 200-299, 2xx, 401,403)`,
      );
    }
  }
  return { text, has: (s) => ranges.some(([a, b]) => s >= a && s <= b) };
}

/**
 * `Name: value` lines as request headers for the API.
 * @throws ProbeError `PROBE_OPTIONS_INVALID` for a line that is not a header, or one that sets
 *   `Authorization` (the probe's own).
 */
export function parseHeaderLines(lines: string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of lines.filter((l) => l.trim() !== '')) {
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).trim() : '';
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
      throw new ProbeError('PROBE_OPTIONS_INVALID', `a header must be 'Name: value' (got ${line})`);
    }
    if (name.toLowerCase() === 'authorization') {
      throw new ProbeError(
        'PROBE_OPTIONS_INVALID',
        'a header cannot set Authorization: the probe sends its own tokens',
      );
    }
    headers[name] = line.slice(colon + 1).trim();
  }
  return headers;
}

/**
 * Runs every applicable case against `options.target` with tokens from `issuer`.
 * @throws ProbeError `PROBE_TARGET_UNREACHABLE` when the API cannot be reached at all, and
 *   the issuer's errors (`IssuerAccess`) when it cannot mint or rotate.
 */
export async function runProbe(issuer: IssuerAccess, options: ProbeOptions): Promise<ProbeReport> {
  const accept = options.acceptStatus ?? DEFAULT_ACCEPT;
  const refuse = options.refuseStatus ?? DEFAULT_REFUSE;
  const timeoutMs = options.timeoutMs ?? 5000;
  const base: MintRequest = { ...options.token };
  const published = await issuer.jwks();
  const kidsAtStart = new Set(published.map((k) => k.kid));
  const valid = await issuer.mint(base);
  const signingJwk = published.find((k) => k.kid === valid.header.kid);
  if (!signingJwk) {
    throw new ProbeError(
      'PROBE_ISSUER_INCONSISTENT',
      `the issuer signed with kid ${valid.header.kid}, which its JWKS does not publish`,
    );
  }

  const keyHost: KeyHost = await startKeyHost(options.keyHost);
  const foreign = new Map<string, Promise<ForeignKey>>();
  const kit: TokenKit = {
    valid,
    signingJwk,
    published,
    type: options.token.type,
    clientId: options.token.clientId ?? 'oidc-issuer-probe',
    mint: async (changes) => (await issuer.mint(merge(base, changes))).token,
    foreign: (alg) => {
      let key = foreign.get(alg);
      if (!key) {
        key = foreignKey(alg);
        foreign.set(alg, key);
        void key.then(async () =>
          keyHost.serve((await Promise.all(foreign.values())).map((k) => k.publicJwk)),
        );
      }
      return key;
    },
    hosted: (path) => keyHost.url(path),
  };

  const results: CaseResult[] = [];
  const record = (result: CaseResult) => {
    results.push(result);
    options.onResult?.(result);
  };
  const expectedFor = (expect: Expectation) =>
    expect === 'accept' ? accept : expect === 'forbidden' ? FORBIDDEN : refuse;
  const send = (token: string) => callTarget(options.target, token, timeoutMs);

  let stoppedAtBaseline = false;
  try {
    for (const probeCase of CASES) {
      const skip = skipReason(probeCase, options);
      if (skip) {
        record(row(probeCase, expectedFor(probeCase.expect), null, 'skipped', skip));
        continue;
      }
      if (!probeCase.token) continue; // the rotation drill, below
      const token = await probeCase.token(kit);
      // Make sure the jku key set is being served before the API may fetch it.
      await Promise.all(foreign.values());
      const answer = await send(token);
      const expected = expectedFor(probeCase.expect);
      const header = decodeProtectedHeader(token);
      const fetchedUrl = [header.jku, header.x5u].find(
        (url): url is string => typeof url === 'string' && keyHost.fetched(url),
      );
      record(judge(probeCase, expected, answer, refuse, fetchedUrl));
      const last = results.at(-1) as CaseResult;
      if (probeCase.id === 'valid' && last.verdict === 'fail') {
        last.note = `${last.note}: ${describeToken(valid)}; check --aud, --scope, --type and --issuer against what the API expects`;
        stoppedAtBaseline = true;
        break;
      }
    }
    if (options.rotate && !stoppedAtBaseline) {
      for (const r of await rotationDrill(issuer, kit, base, kidsAtStart, send, accept, options))
        record(r);
    }
  } finally {
    await keyHost.close();
  }

  const count = (v: Verdict) => results.filter((r) => r.verdict === v).length;
  return {
    target: { url: options.target.url, method: options.target.method },
    issuer: issuer.issuer,
    ok: count('fail') === 0,
    stoppedAtBaseline,
    summary: {
      total: results.length,
      passed: count('pass'),
      failed: count('fail'),
      skipped: count('skipped'),
    },
    cases: results,
  };
}

/**
 * The rotation drill: a token signed by the active key is kept; the key ring is rotated twice
 * at once, so the key that signs afterwards was created during the drill and the API cannot
 * have it cached; the API must accept a token signed by it (refetching its key set on the
 * unknown kid, within `rotationWaitMs` of cooldown) and still accept the kept token.
 */
async function rotationDrill(
  issuer: IssuerAccess,
  kit: TokenKit,
  base: MintRequest,
  kidsAtStart: Set<string | undefined>,
  send: (token: string) => Promise<Answer>,
  accept: StatusSet,
  options: ProbeOptions,
): Promise<CaseResult[]> {
  const [newKeyCase, retiringCase] = ['rotation-new-key', 'rotation-retiring-key'].map(
    (id) => CASES.find((c) => c.id === id) as ProbeCase,
  ) as [ProbeCase, ProbeCase];
  const alg = String(kit.valid.header.alg);
  const kept = await issuer.mint(base);
  options.onNotice?.(
    `rotation drill: rotating the issuer's ${alg} keys twice, now (keys rotate --now): the active key ${kept.header.kid} starts retiring; tokens it signed stay valid until they expire`,
  );
  await issuer.rotateNow(alg);
  await issuer.rotateNow(alg);

  // Another instance behind a load balancer may take a moment to sign with the new key.
  let fresh = await issuer.mint(base);
  for (let i = 0; i < 20 && kidsAtStart.has(fresh.header.kid); i += 1) {
    await sleep(250);
    fresh = await issuer.mint(base);
  }
  const results: CaseResult[] = [];
  if (kidsAtStart.has(fresh.header.kid)) {
    results.push(
      row(
        newKeyCase,
        accept,
        null,
        'fail',
        `the issuer still signs with ${fresh.header.kid} after rotating`,
      ),
    );
  } else {
    const waitMs = options.rotationWaitMs ?? 65_000;
    const started = Date.now();
    let answer = await send(fresh.token);
    while (
      !(answer.status !== null && accept.has(answer.status)) &&
      Date.now() - started < waitMs
    ) {
      await sleep(1000);
      answer = await send(fresh.token);
    }
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const result = judge(newKeyCase, accept, answer, accept);
    result.note =
      result.verdict === 'pass'
        ? `key ${fresh.header.kid} accepted ${Number(seconds) < 1 ? 'at once' : `after ${seconds} s`}`
        : `key ${fresh.header.kid} still refused after ${seconds} s${result.note ? `; ${result.note}` : ''}`;
    results.push(result);
  }
  results.push(judge(retiringCase, accept, await send(kept.token), accept));
  const last = results.at(-1) as CaseResult;
  if (last.verdict === 'pass') last.note = `key ${kept.header.kid} (retiring) accepted`;
  return results;
}

function skipReason(c: ProbeCase, options: ProbeOptions): string | undefined {
  if (c.forType && c.forType !== options.token.type) {
    return `only when the API expects ${c.forType === 'id' ? 'an ID token' : 'an access token'} (--type ${c.forType})`;
  }
  if (c.needs === 'scope' && !options.token.scope) return 'needs a required scope (--scope)';
  if (c.needs === 'rotate' && !options.rotate) {
    return 'needs the rotation drill (--rotate; it rotates the real key ring)';
  }
  return undefined;
}

/** `iss …, aud …, typ …, scope …` of a token, for "why was the baseline refused". */
function describeToken(t: MintedToken): string {
  const parts = [
    `iss ${String(t.claims.iss)}`,
    `aud ${JSON.stringify(t.claims.aud)}`,
    `typ ${t.header.typ ?? '(none)'}`,
    `alg ${t.header.alg}`,
    ...(t.claims.scope ? [`scope "${String(t.claims.scope)}"`] : ['no scope']),
  ];
  return `the token had ${parts.join(', ')}`;
}

/** The baseline request with `changes`; claims are merged, `null` claims are left out. */
function merge(base: MintRequest, changes: MintRequest): MintRequest {
  const claims = { ...(base.claims ?? {}), ...(changes.claims ?? {}) };
  return { ...base, ...changes, ...(Object.keys(claims).length > 0 ? { claims } : {}) };
}

/** The API's answer to one request. */
interface Answer {
  status: number | null;
  error?: string;
  wwwAuthenticate?: string;
  body?: string;
}

function judge(
  c: ProbeCase,
  expected: StatusSet,
  answer: Answer,
  refuse: StatusSet,
  fetchedUrl?: string,
): CaseResult {
  if (answer.status === null) {
    return row(c, expected, null, 'fail', answer.error, answer);
  }
  if (fetchedUrl) {
    return row(
      c,
      expected,
      answer.status,
      'fail',
      `the API fetched ${fetchedUrl}, a URL named in the token`,
      answer,
    );
  }
  if (expected.has(answer.status)) return row(c, expected, answer.status, 'pass');
  let note: string;
  if (answer.status >= 500) note = 'a server error: a bad token should get 401, not a crash';
  else if (c.expect === 'accept') note = 'refused';
  else if (c.expect === 'forbidden' && refuse.has(answer.status))
    note = `refused with ${answer.status}; insufficient scope is 403 (RFC 6750 §3.1)`;
  else note = 'accepted';
  return row(c, expected, answer.status, 'fail', note, answer);
}

function row(
  c: ProbeCase,
  expected: StatusSet,
  got: number | null,
  verdict: Verdict,
  note?: string,
  answer?: Answer,
): CaseResult {
  return {
    id: c.id,
    title: c.title,
    expect: c.expect,
    expected: expected.text,
    got,
    verdict,
    ...(note ? { note } : {}),
    ...(verdict === 'fail' && answer && (answer.wwwAuthenticate || answer.body)
      ? {
          response: {
            ...(answer.wwwAuthenticate ? { wwwAuthenticate: answer.wwwAuthenticate } : {}),
            ...(answer.body ? { body: answer.body } : {}),
          },
        }
      : {}),
    ...(verdict === 'fail' ? { consequence: c.consequence, fix: c.fix } : {}),
  };
}

/**
 * One request to the API: no redirects followed, bounded in time, at most a few KB of the body
 * read. A timeout is an answer (`status: null`); a refused connection ends the probe.
 */
async function callTarget(
  target: TargetRequest,
  token: string,
  timeoutMs: number,
): Promise<Answer> {
  let res: Response;
  try {
    res = await fetch(target.url, {
      method: target.method,
      headers: { ...target.headers, authorization: `Bearer ${token}` },
      ...(target.body !== undefined ? { body: target.body } : {}),
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    const err = e as Error;
    if (err.name === 'TimeoutError') {
      return { status: null, error: `no answer within ${timeoutMs} ms` };
    }
    const reason = err.cause instanceof Error ? err.cause.message : err.message;
    throw new ProbeError(
      'PROBE_TARGET_UNREACHABLE',
      `cannot reach the API at ${target.url}: ${reason}`,
    );
  }
  const body = await readSnippet(res);
  const wwwAuthenticate = res.headers.get('www-authenticate') ?? undefined;
  return {
    status: res.status,
    ...(wwwAuthenticate ? { wwwAuthenticate } : {}),
    ...(body ? { body } : {}),
  };
}

async function readSnippet(res: Response): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < MAX_BODY_SNIPPET) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } catch {
    // A body cut off mid-way is still an answer; its status is what counts.
  } finally {
    void reader.cancel().catch(() => {});
  }
  return Buffer.concat(chunks).subarray(0, MAX_BODY_SNIPPET).toString('utf8');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
