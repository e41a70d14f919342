import { describe, expect, it } from 'vitest';
import { describeFailure, EXIT, UsageError } from '../../src/cli/exit.js';
import { type ErrorCode, IssuerError, StoreUnavailableError } from '../../src/errors.js';

const exitOf = (err: unknown) => describeFailure(err).code;

/** The exit codes the CLI documents (cli/exit.ts), code by code, as scripts rely on them. */
const INPUT: ErrorCode[] = [
  'TOKEN_MALFORMED',
  'MINT_OPTIONS_INVALID',
  'INPUT_UNREADABLE',
  'INPUT_INVALID',
  'ISSUER_UNUSABLE',
  'KEY_PARSE_FAILED',
  'KEY_NOT_PRIVATE',
  'KEY_ENCRYPTED',
  'KEY_SYMMETRIC',
  'KEY_TYPE_UNSUPPORTED',
  'KEY_TOO_SMALL',
  'KEY_ALG_UNSUPPORTED',
  'KEY_ALG_MISMATCH',
  'KEY_USE_INVALID',
  'KEY_INCONSISTENT',
  'KEY_INPUT_TOO_LARGE',
  'KEY_TOO_LARGE',
  'KEY_TOO_MANY',
  'KEYRING_SECRET_WEAK',
  'ALG_NOT_IN_POLICY',
  'STORE_AUTH_REFUSED',
  'STORE_TOO_OLD',
  'KEYRING_SECRET_MISMATCH',
  'KEYRING_SECRET_REQUIRED',
  'KEYRING_NOT_ENCRYPTED',
  'KEYRING_CORRUPT',
  'KEYRING_FILE_UNUSABLE',
  'PROBE_OPTIONS_INVALID',
  'PROBE_ADMIN_OFF',
  'PROBE_ADMIN_REFUSED',
];
const UNREACHABLE: ErrorCode[] = [
  'DISCOVERY_FAILED',
  'JWKS_UNAVAILABLE',
  'STORE_UNAVAILABLE',
  'PROBE_ISSUER_UNREACHABLE',
  'PROBE_ISSUER_REFUSED',
  'PROBE_ISSUER_INCONSISTENT',
  'PROBE_TARGET_UNREACHABLE',
];
const REFUSED: ErrorCode[] = [
  'KID_NOT_FOUND',
  'ROTATION_TOO_EARLY',
  'NO_NEXT_KEY',
  'KID_EXISTS',
  'KID_REVOKED',
  'KEYRING_EMPTY',
  'KEYRING_CONTENDED',
  'NO_CANDIDATE_KEY',
  'NO_ACTIVE_KEY',
  'LOGIN_FAILED',
  'SIGNING_ALG_WAITING',
];

describe('the error table read by the CLI', () => {
  it('ends an input error with 2, an unreachable dependency with 3, a refusal with 1', () => {
    for (const code of INPUT) expect(exitOf(new IssuerError(code, 'x')), code).toBe(EXIT.usage);
    for (const code of UNREACHABLE) {
      expect(exitOf(new IssuerError(code, 'x')), code).toBe(EXIT.unreachable);
    }
    for (const code of REFUSED) expect(exitOf(new IssuerError(code, 'x')), code).toBe(EXIT.no);
  });

  it('says `<message> (<CODE>)`, and what the store said when it is unreachable', () => {
    expect(describeFailure(new UsageError('the kid is empty', 'KID_EMPTY'))).toEqual({
      code: EXIT.usage,
      message: 'the kid is empty (KID_EMPTY)',
    });
    expect(describeFailure(new StoreUnavailableError('connect ECONNREFUSED'))).toEqual({
      code: EXIT.unreachable,
      message: 'the store is unreachable: connect ECONNREFUSED (STORE_UNAVAILABLE)',
    });
  });
});
