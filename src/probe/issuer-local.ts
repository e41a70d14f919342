import type { JWK } from 'jose';
import { TokenError } from '../tools/errors.js';
import { type MintSource, mintToken, parseMintRequest } from '../tools/mint.js';
import { type IssuerAccess, ProbeError } from './options.js';

/**
 * The issuer the probe runs in (the web page): tokens from the same minter as
 * `POST /admin/tokens`, the key set it publishes, and its key ring's early rotation.
 */
export function issuerInProcess(deps: {
  issuer: string;
  mint: MintSource;
  jwks: () => JWK[];
  rotateNow: (alg: string) => Promise<unknown>;
}): IssuerAccess {
  return {
    issuer: deps.issuer,
    jwks: async () => deps.jwks(),
    async mint(request) {
      try {
        return await mintToken(deps.mint, parseMintRequest(request));
      } catch (err) {
        if (!(err instanceof TokenError)) throw err;
        throw new ProbeError(
          err.code === 'NO_ACTIVE_KEY' ? 'PROBE_ISSUER_UNREACHABLE' : 'PROBE_OPTIONS_INVALID',
          err.message,
        );
      }
    },
    async rotateNow(alg) {
      await deps.rotateNow(alg);
    },
  };
}
