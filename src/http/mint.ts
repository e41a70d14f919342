import { TokenError } from '../tokens/errors.js';
import { type MintSource, mintToken, parseMintRequest } from '../tokens/mint.js';
import type { AdminExtension } from './admin.js';

/**
 * `POST /admin/tokens`: mints a token signed by the active key, for test suites written in any
 * language. The body takes the options of `oidc-issuer token mint` as JSON (`type`, `sub`,
 * `aud`, `clientId`, `scope`, `claims`, `expiresIn`, `alg`, `nonce`, `header`) and the answer is
 * `{ token, header, claims }`. It sits behind the admin guard: `Authorization: Bearer
 * <admin.token>`, and 404 when no admin token is configured.
 */
export function tokenMintRoutes(source: MintSource): AdminExtension {
  return (router, parseJson) => {
    router.post('/admin/tokens', parseJson, async (ctx) => {
      try {
        const request = parseMintRequest(ctx.request.body ?? {});
        ctx.status = 201;
        ctx.body = await mintToken(source, request);
      } catch (err) {
        if (!(err instanceof TokenError)) throw err;
        ctx.status = err.code === 'NO_ACTIVE_KEY' ? 503 : 400;
        ctx.body = {
          error: err.code === 'NO_ACTIVE_KEY' ? 'temporarily_unavailable' : 'invalid_request',
          error_description: err.message,
          code: err.code,
        };
      }
    });
  };
}
