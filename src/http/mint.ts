import type { MintSource } from '../tools/mint.js';
import type { AdminExtension } from './admin.js';

/**
 * `POST /admin/tokens`: mints a token signed by the active key, for test suites written in any
 * language. The body takes the options of `oidc-issuer token mint` as JSON (`type`, `sub`,
 * `aud`, `clientId`, `scope`, `claims`, `expiresIn`, `alg`, `nonce`, `header`) and the answer is
 * `{ token, header, claims }`. It sits behind the admin guard: `Authorization: Bearer
 * <admin.token>`, and 404 when no admin token is configured. The minting code (and its request
 * schema) is loaded with the first request.
 */
export function tokenMintRoutes(source: MintSource): AdminExtension {
  return (router, parseJson) => {
    router.post('/admin/tokens', parseJson, async (ctx) => {
      const { mintToken, parseMintRequest } = await import('../tools/mint.js');
      const request = parseMintRequest(ctx.request.body ?? {});
      ctx.status = 201;
      ctx.body = await mintToken(source, request);
    });
  };
}
