/**
 * Runs the probe: sends each case's token to the API under test and compares its answer with
 * what a correct verifier must do. One implementation for `oidc-issuer probe` and the web page;
 * they differ only in how they reach the issuer (`IssuerAccess`) and which targets they allow.
 */
import { decodeProtectedHeader } from 'jose';
import type { MintedToken, MintRequest } from '../tools/mint.js';
import { CASES, type Expectation, type ProbeCase, type TokenKit } from './cases.js';
import { type ForeignKey, foreignKey } from './forge.js';
import { type KeyHost, startKeyHost } from './key-host.js';
import { type IssuerAccess, ProbeError, type ProbeOptions, parseStatusSet } from './options.js';
import { rotationDrill } from './rotation-drill.js';
import { callTarget } from './target.js';
import { type CaseResult, judge, row, type Verdict } from './verdict.js';

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

const DEFAULT_ACCEPT = parseStatusSet('2xx');
const DEFAULT_REFUSE = parseStatusSet('401,403');
const FORBIDDEN = parseStatusSet('403');

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
