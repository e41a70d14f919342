/**
 * Errors raised by oidc-issuer itself. Each carries a fixed string `code` that callers and
 * tests match on; messages are for people and may change.
 */
export class IssuerError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

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
  readonly status = 503;
  readonly statusCode = 503;
  readonly expose = true;
  readonly error = 'temporarily_unavailable';
  readonly error_description = 'the issuer cannot reach its store right now; try again shortly';
  readonly error_detail: string;
  constructor(detail: string, options?: ErrorOptions) {
    super('STORE_UNAVAILABLE', 'temporarily_unavailable', options);
    this.error_detail = detail;
  }
}

/**
 * Redis refused the credentials in the store URL. Unlike an outage this does not heal by
 * waiting, so a start ends on it (exit 2) and names the setting to fix, never the secret.
 */
export class StoreAuthError extends IssuerError {
  constructor(where: string, reply: string) {
    super(
      'STORE_AUTH_REFUSED',
      `Redis at ${where} refused the login (${brief(reply)}); check the user and password in REDIS_URL (redis.url)`,
    );
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
  readonly status = 503;
  readonly statusCode = 503;
  readonly expose = true;
  readonly error = 'temporarily_unavailable';
  readonly error_description: string;
  constructor(description: string) {
    super('SIGNING_ALG_WAITING', 'temporarily_unavailable');
    this.error_description = description;
  }
}
