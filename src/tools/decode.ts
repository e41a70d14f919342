/** Reads a compact JWS without verifying it: for display, and as the first step of verify. */
import {
  decodeJwt as decodePayload,
  decodeProtectedHeader,
  type JWTPayload,
  type ProtectedHeaderParameters,
} from 'jose';
import { TokenError } from './errors.js';
import { relative, TIME_CLAIMS } from './time.js';

/** A JWT split into its parts; nothing here has been verified. */
export interface DecodedJwt {
  header: ProtectedHeaderParameters & Record<string, unknown>;
  claims: JWTPayload & Record<string, unknown>;
  /** The base64url signature part (empty for `alg: none` tokens). */
  signature: string;
}

/** One NumericDate claim shown as a date. */
export interface TimeClaim {
  claim: string;
  value: number;
  iso: string;
  /** `"in 59m 58s"`, `"3m ago"`. */
  relative: string;
}

const MAX_TOKEN_LENGTH = 64 * 1024;

/**
 * Splits and parses `token` (surrounding whitespace and a `Bearer ` prefix are ignored).
 * @throws TokenError `TOKEN_MALFORMED` with the reason (wrong part count, bad base64url,
 *   not JSON, not an object, an encrypted JWE).
 */
export function decodeJwt(token: string): DecodedJwt {
  const text = token.trim().replace(/^Bearer\s+/i, '');
  if (text === '') throw malformed('the token is empty');
  if (text.length > MAX_TOKEN_LENGTH)
    throw malformed(`the token is over ${MAX_TOKEN_LENGTH} characters`);
  const parts = text.split('.');
  if (parts.length === 5)
    throw malformed('this is an encrypted JWT (JWE, 5 parts); only signed JWTs can be read');
  if (parts.length !== 3) {
    throw malformed(`a JWT has 3 dot-separated parts, this has ${parts.length}`);
  }
  const [h = '', p = '', s = ''] = parts;
  return {
    header: readPart(h, 'header', () => decodeProtectedHeader(text)) as DecodedJwt['header'],
    claims: readPart(p, 'payload', () => decodePayload(text)) as DecodedJwt['claims'],
    signature: s,
  };
}

/** The NumericDate claims of `claims` as dates relative to `now` (epoch ms). */
export function timeClaims(claims: Record<string, unknown>, now: number): TimeClaim[] {
  const out: TimeClaim[] = [];
  for (const claim of TIME_CLAIMS) {
    const value = claims[claim];
    if (typeof value !== 'number' || !Number.isFinite(value)) continue;
    const at = value * 1000;
    const date = new Date(at);
    if (Number.isNaN(date.getTime())) continue;
    out.push({ claim, value, iso: date.toISOString(), relative: relative(at, now) });
  }
  return out;
}

/**
 * One part decoded by jose, its failure told in our words. jose throws with a `cause` when the
 * part is not base64url-encoded JSON, and without one when it is JSON but not an object.
 */
function readPart(part: string, what: 'header' | 'payload', decode: () => object): object {
  if (!/^[A-Za-z0-9_-]+$/.test(part)) {
    throw malformed(`the ${what} is not base64url (it has characters outside A-Z a-z 0-9 - _)`);
  }
  try {
    return decode();
  } catch (e) {
    throw malformed(
      (e as Error).cause === undefined
        ? `the ${what} is not a JSON object`
        : `the ${what} is not JSON once base64url-decoded`,
    );
  }
}

function malformed(reason: string): TokenError {
  return new TokenError('TOKEN_MALFORMED', `malformed token: ${reason}`);
}
