/**
 * Exit codes every `oidc-issuer` command keeps, so scripts can rely on them:
 *
 * | code | meaning |
 * |------|---------|
 * | 0 | done; the token is valid; no errors found |
 * | 1 | the answer is no, or the operation was refused: invalid token, errors in a key set, rotation too early, unknown kid, a probe finding |
 * | 2 | usage or input error: unknown command or option, missing argument, unreadable file, input that is not a JWT/JSON/key, a token whose keys cannot be located without --issuer/--jwks, invalid configuration, a stored key ring that this configuration cannot use (another secret, no secret, corrupt, file not readable or writable), Redis refusing the credentials in the store URL |
 * | 3 | something needed could not be reached: Redis, the issuer's discovery document or JWKS, the API a probe calls |
 */
import { CommanderError } from 'commander';
import { ConfigError, IssuerError, StoreUnavailableError } from '../errors.js';
import { PERMANENT_RING_FAULTS } from '../keystore/faults.js';

export const EXIT = { ok: 0, no: 1, usage: 2, unreachable: 3 } as const;

/** A usage or input error (exit 2); the message says what to fix, `code` names the mistake. */
export class UsageError extends IssuerError {
  constructor(message: string, code = 'USAGE') {
    super(code, message);
  }
}

/** Ends a command with `code` after it has printed its own output (e.g. an invalid verdict). */
export class ExitStatus extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

const INPUT_CODES = new Set([
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
  ...PERMANENT_RING_FAULTS,
  'PROBE_OPTIONS_INVALID',
  'PROBE_ADMIN_OFF',
  'PROBE_ADMIN_REFUSED',
]);
const UNREACHABLE_CODES = new Set([
  'DISCOVERY_FAILED',
  'JWKS_UNAVAILABLE',
  'STORE_UNAVAILABLE',
  'PROBE_ISSUER_UNREACHABLE',
  'PROBE_ISSUER_REFUSED',
  'PROBE_ISSUER_INCONSISTENT',
  'PROBE_TARGET_UNREACHABLE',
]);

/**
 * The exit code and the one-line message, `<what is wrong> (<CODE>)`, for an error thrown by a
 * command; `stack` instead of `message` for an error that is none of ours (a defect).
 */
export function describeFailure(err: unknown): { code: number; message?: string; stack?: string } {
  if (err instanceof ExitStatus) return { code: err.code };
  // Only --help and --version reach here: main.ts turns commander's usage errors into UsageError.
  if (err instanceof CommanderError) return { code: err.exitCode === 0 ? EXIT.ok : EXIT.usage };
  if (err instanceof ConfigError) {
    return {
      code: EXIT.usage,
      message: `invalid configuration: ${err.problems.join('; ')} (${err.code})`,
    };
  }
  if (err instanceof StoreUnavailableError) {
    return {
      code: EXIT.unreachable,
      message: `the store is unreachable: ${err.error_detail} (${err.code})`,
    };
  }
  if (err instanceof IssuerError) {
    const code =
      err instanceof UsageError || INPUT_CODES.has(err.code)
        ? EXIT.usage
        : UNREACHABLE_CODES.has(err.code)
          ? EXIT.unreachable
          : EXIT.no;
    return { code, message: `${err.message} (${err.code})` };
  }
  if (isSystemError(err)) {
    // A file or directory the command was pointed at cannot be used: waiting will not fix it.
    return { code: EXIT.usage, message: `${err.message} (${err.code})` };
  }
  return { code: EXIT.no, stack: err instanceof Error ? (err.stack ?? err.message) : String(err) };
}

function isSystemError(err: unknown): err is NodeJS.ErrnoException & { code: string } {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).syscall === 'string';
}
