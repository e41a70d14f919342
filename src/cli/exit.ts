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
import {
  ConfigError,
  ERRORS,
  type ErrorCode,
  EXIT,
  IssuerError,
  isErrorCode,
  StoreUnavailableError,
} from '../errors.js';

export { EXIT };

/** The codes the error table ends with exit 2 (usage or input error). */
export type UsageCode = {
  [C in ErrorCode]: (typeof ERRORS)[C]['exit'] extends typeof EXIT.usage ? C : never;
}[ErrorCode];

/** `code` if the table names it as a usage error, else `USAGE`. */
export function usageCode(code: string): UsageCode {
  return isErrorCode(code) && ERRORS[code].exit === EXIT.usage ? (code as UsageCode) : 'USAGE';
}

/** A usage or input error (exit 2); the message says what to fix, `code` names the mistake. */
export class UsageError extends IssuerError {
  constructor(message: string, code: UsageCode = 'USAGE') {
    super(code, message);
  }
}

/** Ends a command with `code` after it has printed its own output (e.g. an invalid verdict). */
export class ExitStatus extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

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
    return { code: ERRORS[err.code].exit, message: `${err.message} (${err.code})` };
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
