/**
 * Verifies a JWT the way a resource server would (discovery → JWKS → key by kid → signature →
 * iss, aud, exp, nbf), but instead of stopping at the first failure it explains every problem
 * it finds, for `oidc-issuer token verify`.
 */
import type { JWK } from 'jose';
import { type DecodedJwt, decodeJwt, type TimeClaim, timeClaims } from './decode.js';
import { TokenError } from './errors.js';
import { discover, type FetchOptions, isHttpUrl, loadJwks } from './key-source.js';
import { checkClaims, checkTimes } from './verify-claims.js';
import { checkSignature } from './verify-signature.js';

/** Why a token is not valid. Fixed strings; match on these, not on messages. */
export type ProblemCode =
  | 'MALFORMED'
  | 'ALG_NONE'
  | 'ALG_SYMMETRIC'
  | 'ALG_MISMATCH'
  | 'UNKNOWN_KID'
  | 'NO_MATCHING_KEY'
  | 'BAD_SIGNATURE'
  | 'WRONG_ISSUER'
  | 'WRONG_AUDIENCE'
  | 'WRONG_TYPE'
  | 'EXPIRED'
  | 'NOT_YET_VALID'
  | 'ISSUED_IN_FUTURE'
  | 'BAD_TIME_CLAIM';

export interface Problem {
  code: ProblemCode;
  message: string;
}

export interface VerifyOptions extends FetchOptions {
  /** The expected issuer. Default: the token's own `iss` (then only its keys are trusted). */
  issuer?: string;
  /**
   * Where the keys are: a URL, a file (`-` = stdin), or a set already at hand (the console
   * passes the issuer's own). Default: `jwks_uri` from discovery.
   */
  jwks?: string | JwkSetAt;
  /** The expected audience (any one of them must be in `aud`). Not checked when absent. */
  audience?: string | string[];
  /** The expected `typ` header (e.g. `at+jwt`). Not checked when absent. */
  typ?: string;
  /** Leeway for exp/nbf/iat. Default 15 s (the issuer's default). */
  clockToleranceMs?: number;
  /** Epoch ms; default now. */
  now?: number;
}

/** The key that verified (or should have verified) the token. */
export interface VerdictKey {
  kid?: string;
  kty?: string;
  alg?: string;
  /** Whether the key is in the issuer's published JWKS. */
  published: boolean;
}

/** Everything `verifyToken` found out. `valid` is true exactly when `problems` is empty. */
export interface Verdict {
  valid: boolean;
  problems: Problem[];
  /** Things worth knowing that do not make the token invalid. */
  notes: string[];
  header?: DecodedJwt['header'];
  claims?: DecodedJwt['claims'];
  times: TimeClaim[];
  /** The issuer trusted for keys, and whether it came from the option or the token. */
  issuer?: { value: string; from: 'option' | 'token' };
  discoveryUrl?: string;
  jwksUri?: string;
  publishedKids: string[];
  key?: VerdictKey;
}

/** A JWK set and where it was published. */
export interface JwkSetAt {
  keys: JWK[];
  location: string;
}

const DEFAULT_TOLERANCE_MS = 15_000;

/**
 * Verifies `token`. Returns a verdict for anything the token itself gets wrong (malformed,
 * unknown kid, bad signature, expired…).
 * @throws TokenError when the keys cannot be obtained, so validity cannot be decided:
 *   `DISCOVERY_FAILED`, `JWKS_UNAVAILABLE`, `ISSUER_UNUSABLE`, `INPUT_UNREADABLE`.
 */
export async function verifyToken(token: string, options: VerifyOptions = {}): Promise<Verdict> {
  const now = options.now ?? Date.now();
  const tolerance = options.clockToleranceMs ?? DEFAULT_TOLERANCE_MS;
  const verdict: Verdict = { valid: false, problems: [], notes: [], times: [], publishedKids: [] };
  const problem = (code: ProblemCode, message: string) => verdict.problems.push({ code, message });

  let decoded: DecodedJwt;
  try {
    decoded = decodeJwt(token);
  } catch (e) {
    if (!(e instanceof TokenError)) throw e;
    problem('MALFORMED', e.message);
    return verdict;
  }
  const { header, claims } = decoded;
  verdict.header = header;
  verdict.claims = claims;
  verdict.times = timeClaims(claims, now);
  const alg = typeof header.alg === 'string' ? header.alg : '';
  const kid = typeof header.kid === 'string' ? header.kid : undefined;

  for (const name of ['jku', 'x5u', 'jwk', 'x5c'] as const) {
    if (header[name] !== undefined) {
      verdict.notes.push(
        `the header carries "${name}"; it is ignored (keys come only from the issuer's JWKS)`,
      );
    }
  }
  if (header.crit !== undefined) {
    verdict.notes.push(
      'the header lists "crit" extensions; a strict verifier may refuse the token',
    );
  }

  // Where the keys come from.
  const iss = typeof claims.iss === 'string' ? claims.iss : undefined;
  const issuer = options.issuer ?? iss;
  if (issuer !== undefined)
    verdict.issuer = { value: issuer, from: options.issuer ? 'option' : 'token' };
  if (!options.issuer) {
    verdict.notes.push(
      iss
        ? 'the issuer was taken from the token itself (pass --issuer to pin the one you trust)'
        : 'the token has no iss claim',
    );
  }
  let jwksSource = options.jwks;
  if (!jwksSource) {
    if (!issuer || !isHttpUrl(issuer)) {
      throw new TokenError(
        'ISSUER_UNUSABLE',
        issuer
          ? `cannot find the keys: the issuer ${JSON.stringify(issuer)} is not an http(s) URL; pass --jwks`
          : 'cannot find the keys: the token has no iss; pass --issuer or --jwks',
      );
    }
    const doc = await discover(issuer, options);
    verdict.discoveryUrl = doc.url;
    if (doc.issuer !== issuer) {
      problem(
        'WRONG_ISSUER',
        `the discovery document at ${doc.url} names the issuer ${JSON.stringify(doc.issuer)}, not ${JSON.stringify(issuer)}`,
      );
    }
    if (typeof doc.jwks_uri !== 'string') {
      throw new TokenError(
        'DISCOVERY_FAILED',
        `the discovery document at ${doc.url} has no jwks_uri`,
      );
    }
    jwksSource = doc.jwks_uri;
  }
  const jwks = typeof jwksSource === 'string' ? await loadJwks(jwksSource, options) : jwksSource;
  verdict.jwksUri = jwks.location;
  verdict.publishedKids = jwks.keys
    .map((k) => k.kid)
    .filter((k): k is string => typeof k === 'string');

  // Signature.
  if (alg === '') {
    problem('MALFORMED', 'the header has no alg');
  } else if (alg.toLowerCase() === 'none') {
    problem('ALG_NONE', 'the token is unsigned (alg "none"); it proves nothing about who made it');
  } else if (/^HS/i.test(alg)) {
    problem(
      'ALG_SYMMETRIC',
      `the token is signed with a shared secret (${alg}); an issuer publishes no symmetric keys, so nobody can check it against a JWKS`,
    );
  } else {
    await checkSignature(token, alg, kid, jwks.keys, jwks.location, verdict, problem);
  }

  checkClaims(header, claims, iss, options, verdict, problem);
  checkTimes(claims, now, tolerance, verdict, problem);

  verdict.valid = verdict.problems.length === 0;
  return verdict;
}
