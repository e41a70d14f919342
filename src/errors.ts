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

/** The shared store (Redis) could not be reached or did not answer in time. Mapped to HTTP 503. */
export class StoreUnavailableError extends IssuerError {
  constructor(message: string, options?: ErrorOptions) {
    super('STORE_UNAVAILABLE', message, options);
  }
}

/** A key could not be parsed, generated or accepted into the key ring. */
export class KeyError extends IssuerError {}
