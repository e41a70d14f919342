/** The claim checks of `verifyToken`: issuer, audience, type and the time claims. */
import type { DecodedJwt } from './decode.js';
import { describeSpan } from './time.js';
import type { ProblemCode, Verdict, VerifyOptions } from './verify.js';

type Report = (code: ProblemCode, message: string) => void;

/** `iss` (the token's, if a string) against `options.issuer`, `aud` and `typ` against theirs. */
export function checkClaims(
  header: DecodedJwt['header'],
  claims: Record<string, unknown>,
  iss: string | undefined,
  options: VerifyOptions,
  verdict: Verdict,
  problem: Report,
): void {
  if (options.issuer !== undefined && iss !== options.issuer) {
    problem(
      'WRONG_ISSUER',
      `iss is ${JSON.stringify(iss ?? null)}, expected ${JSON.stringify(options.issuer)}`,
    );
  }
  if (options.audience !== undefined) {
    const expected = Array.isArray(options.audience) ? options.audience : [options.audience];
    const aud = claims.aud;
    const actual =
      typeof aud === 'string'
        ? [aud]
        : Array.isArray(aud)
          ? aud.filter((a) => typeof a === 'string')
          : [];
    if (!expected.some((a) => actual.includes(a))) {
      problem(
        'WRONG_AUDIENCE',
        actual.length === 0
          ? `the token has no aud; expected ${expected.join(' or ')}`
          : `aud is ${actual.join(', ')}; expected ${expected.join(' or ')}`,
      );
    }
  } else {
    verdict.notes.push('the audience was not checked (pass --aud)');
  }
  if (
    options.typ !== undefined &&
    String(header.typ ?? '').toLowerCase() !== options.typ.toLowerCase()
  ) {
    problem(
      'WRONG_TYPE',
      `typ is ${JSON.stringify(header.typ ?? null)}, expected ${JSON.stringify(options.typ)}`,
    );
  }
}

/** `exp`, `nbf` and `iat` at `now`, with `tolerance` (ms) of clock skew. */
export function checkTimes(
  claims: Record<string, unknown>,
  now: number,
  tolerance: number,
  verdict: Verdict,
  problem: (code: ProblemCode, message: string) => void,
): void {
  const leeway = tolerance > 0 ? `, beyond the ${describeSpan(tolerance)} clock tolerance` : '';
  const numeric = (name: string): number | undefined => {
    const value = claims[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      problem('BAD_TIME_CLAIM', `${name} is ${JSON.stringify(value)}, not a number of seconds`);
      return undefined;
    }
    return value * 1000;
  };
  const exp = numeric('exp');
  const nbf = numeric('nbf');
  const iat = numeric('iat');
  if (exp === undefined && claims.exp === undefined)
    verdict.notes.push('the token has no exp: it never expires');
  if (exp !== undefined && now >= exp + tolerance) {
    problem(
      'EXPIRED',
      `expired ${describeSpan(now - exp)} ago (exp ${new Date(exp).toISOString()})${leeway}`,
    );
  }
  if (nbf !== undefined && now + tolerance < nbf) {
    problem(
      'NOT_YET_VALID',
      `not valid for another ${describeSpan(nbf - now)} (nbf ${new Date(nbf).toISOString()})${leeway}`,
    );
  }
  if (iat !== undefined && now + tolerance < iat) {
    problem(
      'ISSUED_IN_FUTURE',
      `issued ${describeSpan(iat - now)} in the future (iat ${new Date(iat).toISOString()})${leeway}`,
    );
  }
}
