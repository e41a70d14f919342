/**
 * Errors raised by oidc-issuer itself, and how each is answered. Every error carries a fixed
 * string `code` that callers and tests match on; messages are for people and may change.
 *
 * {@link ERRORS} is the one table from a code to its HTTP status, its CLI exit code and the
 * `error` member of its JSON answer: the HTTP error middleware (http/errors.ts) and the CLI
 * (cli/exit.ts) both read it, so a new code is added here and nowhere else.
 */

/** The exit codes every `oidc-issuer` command keeps (cli/exit.ts says what each means). */
export const EXIT = { ok: 0, no: 1, usage: 2, unreachable: 3 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** How one error code is answered. */
export interface ErrorSpec {
  /** The HTTP status a route answers with. */
  readonly status: number;
  /** The exit code a command ends with. */
  readonly exit: ExitCode;
  /**
   * The `error` member of the JSON answer: an OAuth 2.0 error code (RFC 6749 §5.2, RFC 6750
   * §3.1) where one fits, else the word the route has always answered with; without it the code
   * in lower case (the admin API's documented key-ring refusals, e.g. `rotation_too_early`).
   */
  readonly error?: string;
}

const { no, usage, unreachable } = EXIT;
const invalid = 'invalid_request';
const unavailable = 'temporarily_unavailable';
const server = 'server_error';

export const ERRORS = {
  // Configuration and store (errors.ts).
  CONFIG_INVALID: { status: 500, exit: usage, error: server },
  STORE_UNAVAILABLE: { status: 503, exit: unreachable, error: unavailable },
  STORE_AUTH_REFUSED: { status: 500, exit: usage, error: server },
  STORE_TOO_OLD: { status: 500, exit: usage, error: server },
  SIGNING_ALG_WAITING: { status: 503, exit: no, error: unavailable },

  // Key input (keystore/import.ts, jwks.ts, serialize.ts; KeyError).
  KEY_PARSE_FAILED: { status: 400, exit: usage },
  KEY_NOT_PRIVATE: { status: 400, exit: usage },
  KEY_ENCRYPTED: { status: 400, exit: usage },
  KEY_SYMMETRIC: { status: 400, exit: usage },
  KEY_TYPE_UNSUPPORTED: { status: 400, exit: usage },
  KEY_TOO_SMALL: { status: 400, exit: usage },
  KEY_TOO_LARGE: { status: 400, exit: usage },
  KEY_ALG_UNSUPPORTED: { status: 400, exit: usage },
  KEY_ALG_MISMATCH: { status: 400, exit: usage },
  KEY_USE_INVALID: { status: 400, exit: usage },
  KEY_INCONSISTENT: { status: 400, exit: usage },
  KEY_INPUT_TOO_LARGE: { status: 400, exit: usage },
  KEY_TOO_MANY: { status: 400, exit: usage },
  KEYRING_SECRET_WEAK: { status: 400, exit: usage },
  ALG_NOT_IN_POLICY: { status: 400, exit: usage, error: invalid },

  // The stored key ring cannot be used by this configuration; waiting does not heal it
  // (keystore/faults.ts): the issuer's fault, never the client's.
  KEYRING_SECRET_MISMATCH: { status: 500, exit: usage, error: server },
  KEYRING_SECRET_REQUIRED: { status: 500, exit: usage, error: server },
  KEYRING_NOT_ENCRYPTED: { status: 500, exit: usage, error: server },
  KEYRING_CORRUPT: { status: 500, exit: usage, error: server },
  KEYRING_FILE_UNUSABLE: { status: 500, exit: usage, error: server },

  // Key-ring commands refused (keystore/rotation.ts, commands.ts; the admin API).
  KID_NOT_FOUND: { status: 404, exit: no },
  ROTATION_TOO_EARLY: { status: 409, exit: no },
  NO_NEXT_KEY: { status: 409, exit: no },
  KID_EXISTS: { status: 409, exit: no },
  KID_REVOKED: { status: 409, exit: no },
  KEYRING_EMPTY: { status: 409, exit: no },
  KEYRING_CONTENDED: { status: 503, exit: no, error: unavailable },
  NO_CANDIDATE_KEY: { status: 503, exit: no, error: unavailable },

  // Token tools (tools/*; TokenError). 422: the input was understood, but what it points at
  // (a URL, an issuer) could not be used.
  TOKEN_MALFORMED: { status: 400, exit: usage, error: invalid },
  MINT_OPTIONS_INVALID: { status: 400, exit: usage, error: invalid },
  INPUT_UNREADABLE: { status: 400, exit: usage, error: invalid },
  INPUT_INVALID: { status: 400, exit: usage, error: invalid },
  BAD_REQUEST: { status: 400, exit: usage, error: invalid },
  ISSUER_UNUSABLE: { status: 422, exit: usage },
  DISCOVERY_FAILED: { status: 422, exit: unreachable },
  JWKS_UNAVAILABLE: { status: 422, exit: unreachable },
  NO_ACTIVE_KEY: { status: 503, exit: no, error: unavailable },
  LOGIN_FAILED: { status: 422, exit: no },

  // The probe (probe/*; ProbeError).
  PROBE_OPTIONS_INVALID: { status: 400, exit: usage, error: invalid },
  PROBE_ADMIN_OFF: { status: 422, exit: usage },
  PROBE_ADMIN_REFUSED: { status: 422, exit: usage },
  PROBE_ISSUER_UNREACHABLE: { status: 422, exit: unreachable },
  PROBE_ISSUER_REFUSED: { status: 422, exit: unreachable },
  PROBE_ISSUER_INCONSISTENT: { status: 422, exit: unreachable },
  PROBE_TARGET_UNREACHABLE: { status: 422, exit: unreachable },

  // The admin API's guard (http/admin.ts) and the console's probe page (http/probe-page.ts).
  ADMIN_OFF: { status: 404, exit: no, error: 'not_found' },
  ADMIN_TOKEN_INVALID: { status: 401, exit: no, error: 'invalid_token' },
  CONSOLE_ADMIN_OFF: { status: 403, exit: no, error: 'admin_off' },
  CONSOLE_ADMIN_TOKEN_REQUIRED: { status: 403, exit: no, error: 'admin_token_required' },
  PROBE_BUSY: { status: 429, exit: no, error: 'busy' },

  // Sign-in pages (http/interactions.ts; PageError).
  INTERACTION_FORM_STALE: { status: 403, exit: no, error: invalid },
  INTERACTION_NOT_YOURS: { status: 400, exit: no, error: invalid },
  INTERACTION_PROMPT_UNEXPECTED: { status: 400, exit: no, error: invalid },

  // Command-line usage (cli/*; UsageError), commander's own mistakes named as main.ts names them.
  USAGE: { status: 400, exit: usage, error: invalid },
  INPUT_EMPTY: { status: 400, exit: usage, error: invalid },
  JSON_INVALID: { status: 400, exit: usage, error: invalid },
  DURATION_INVALID: { status: 400, exit: usage, error: invalid },
  KID_EMPTY: { status: 400, exit: usage, error: invalid },
  KID_AMBIGUOUS: { status: 400, exit: usage, error: invalid },
  OUT_DIR_UNUSABLE: { status: 400, exit: usage, error: invalid },
  UNKNOWN_OPTION: { status: 400, exit: usage, error: invalid },
  UNKNOWN_COMMAND: { status: 400, exit: usage, error: invalid },
  MISSING_ARGUMENT: { status: 400, exit: usage, error: invalid },
  OPTION_MISSING_ARGUMENT: { status: 400, exit: usage, error: invalid },
  MISSING_MANDATORY_OPTION_VALUE: { status: 400, exit: usage, error: invalid },
  CONFLICTING_OPTION: { status: 400, exit: usage, error: invalid },
  EXCESS_ARGUMENTS: { status: 400, exit: usage, error: invalid },
  INVALID_ARGUMENT: { status: 400, exit: usage, error: invalid },
} as const satisfies Record<string, ErrorSpec>;

/** Every code an {@link IssuerError} may carry. */
export type ErrorCode = keyof typeof ERRORS;

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERRORS, code);
}

/** The `error` member of the JSON answer for `code` (see {@link ErrorSpec.error}). */
export function oauthError(code: ErrorCode): string {
  const spec: ErrorSpec = ERRORS[code];
  return spec.error ?? code.toLowerCase();
}

/** What an {@link IssuerError} may carry besides its cause. */
export interface IssuerErrorOptions extends ErrorOptions {
  /** Further members of the JSON answer (e.g. `notBefore`), for the client to act on. */
  details?: Record<string, unknown>;
}

/**
 * The base of every error of ours: a fixed `code` from {@link ERRORS} and a message. Over HTTP
 * it answers as the table says, with the message as `error_description` (http/errors.ts).
 */
export class IssuerError extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>> | undefined;
  constructor(code: ErrorCode, message: string, options?: IssuerErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.details = options?.details;
  }
}

/** A request a sign-in page refuses (a stale form, another sign-in's page); shown on the error page. */
export class PageError extends IssuerError {}

/** The configuration failed validation; `problems` lists every bad field as `path: reason`. */
export class ConfigError extends IssuerError {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(
      'CONFIG_INVALID',
      `invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.problems = problems;
  }
}

/** Seconds a client should wait before it tries a 503 again (the `Retry-After` of every 503). */
export const RETRY_AFTER = '1';

/** What a client is told while the store cannot be reached. */
export const STORE_UNAVAILABLE_DESCRIPTION =
  'the issuer cannot reach its store right now; try again shortly';

/**
 * The shared store (Redis) could not be reached or did not answer in time.
 *
 * It carries the fields oidc-provider's error handlers read (`status`, `statusCode`, `expose`,
 * `error`, `error_description`), so when an adapter call throws it inside oidc-provider the
 * client gets `503 {"error":"temporarily_unavailable"}` (or an error page / error redirect)
 * instead of a 500 `server_error`. oidc-provider uses `message` as the OAuth error code, so the
 * cause goes to `error_detail` (logged, never shown).
 */
export class StoreUnavailableError extends IssuerError {
  readonly status = ERRORS.STORE_UNAVAILABLE.status;
  readonly statusCode = ERRORS.STORE_UNAVAILABLE.status;
  readonly expose = true;
  readonly error = ERRORS.STORE_UNAVAILABLE.error;
  readonly error_description = STORE_UNAVAILABLE_DESCRIPTION;
  readonly error_detail: string;
  constructor(detail: string, options?: ErrorOptions) {
    super('STORE_UNAVAILABLE', ERRORS.STORE_UNAVAILABLE.error, options);
    this.error_detail = detail;
  }
}

/**
 * Redis (or a Redis Sentinel) refused our credentials. Unlike an outage this does not heal by
 * waiting, so a start ends on it (exit 2). `who` says what refused (`Redis at redis://***@h:1`),
 * `fix` the setting to correct; neither carries the secret.
 */
export class StoreAuthError extends IssuerError {
  constructor(who: string, reply: string, fix: string) {
    super('STORE_AUTH_REFUSED', `${who} refused the login (${brief(reply)}); check ${fix}`);
  }
}

/**
 * The Redis server is older than the adapter's scripts need (store/redis-version.ts). Like a
 * refused login, waiting does not heal it, so a start ends on it (exit 2).
 */
export class StoreVersionError extends IssuerError {
  constructor(message: string) {
    super('STORE_TOO_OLD', message);
  }
}

/** A Redis reply's first clause, at most 80 characters: enough to tell WRONGPASS from NOAUTH. */
function brief(reply: string): string {
  const first = reply.trim().split(/[,;]/)[0] ?? '';
  return first.length > 80 ? `${first.slice(0, 79)}…` : first;
}

/** A key could not be parsed, generated or accepted into the key ring. */
export class KeyError extends IssuerError {}

/**
 * A client or resource server is configured for a signing algorithm that cannot sign yet (see
 * keystore/waiting.ts). Carries the fields oidc-provider's error handlers read, like
 * `StoreUnavailableError`, so the endpoints answer `503 temporarily_unavailable` with the
 * reason, never `invalid_client_metadata`.
 */
export class SigningAlgWaitingError extends IssuerError {
  readonly status = ERRORS.SIGNING_ALG_WAITING.status;
  readonly statusCode = ERRORS.SIGNING_ALG_WAITING.status;
  readonly expose = true;
  readonly error = ERRORS.SIGNING_ALG_WAITING.error;
  readonly error_description: string;
  constructor(description: string) {
    super('SIGNING_ALG_WAITING', ERRORS.SIGNING_ALG_WAITING.error);
    this.error_description = description;
  }
}
