import { IssuerError } from '../errors.js';

/**
 * Bad input to a token tool: a string that is not a JWT, mint options that do not make a
 * token, a key set that cannot be read. `code` is fixed (`TOKEN_MALFORMED`,
 * `MINT_OPTIONS_INVALID`, `NO_ACTIVE_KEY`, `JWKS_UNAVAILABLE`, …; answered as src/errors.ts'
 * table says); messages are for people.
 */
export class TokenError extends IssuerError {}
