import { createHash, timingSafeEqual } from 'node:crypto';
import type Router from '@koa/router';
import type { Context, Next } from 'koa';
import { isSigningAlg, SIGNING_ALGS, type SigningAlg } from '../algorithms.js';
import { IssuerError, StoreUnavailableError } from '../errors.js';
import { type KeyRingSummary, summarizeRing, summaryJson } from '../keystore/jwks.js';
import type { RotationSummary } from '../keystore/rotation.js';
import type { KeyRing } from '../keystore/types.js';
import { type BodyReader, jsonBody } from './body.js';

/**
 * The key-ring operations the admin API exposes (implemented by the key ring watcher). The
 * summaries `rotate` and `revoke` resolve to are sent as the response body (times as ISO 8601,
 * like `oidc-issuer keys … --json`).
 */
export interface KeyAdmin {
  current(): KeyRing | undefined;
  rotate(alg?: SigningAlg, options?: { early?: boolean }): Promise<RotationSummary>;
  revoke(kid: string): Promise<KeyRingSummary>;
}

/** Extra admin routes registered by other modules (e.g. the dev token-mint endpoint). */
export type AdminExtension = (router: Router, parseJson: BodyReader) => void;

/**
 * `/admin/*`: key listing, rotation and emergency revocation, behind `Authorization: Bearer
 * <admin.token>`. Without a configured token every admin route answers 404, as if absent.
 */
export function adminRoutes(
  router: Router,
  token: string | undefined,
  keys: KeyAdmin,
  clock: () => number,
  extensions: AdminExtension[] = [],
): void {
  const parseJson = jsonBody(64 * 1024);
  const guard = async (ctx: Context, next: Next) => {
    ctx.set('Cache-Control', 'no-store');
    if (!token) {
      throw new IssuerError('ADMIN_OFF', 'the admin API is off (set admin.token or ADMIN_TOKEN)');
    }
    if (!bearerMatches(ctx.get('Authorization'), token)) {
      ctx.set('WWW-Authenticate', 'Bearer realm="oidc-issuer admin"');
      throw new IssuerError('ADMIN_TOKEN_INVALID', 'a valid admin bearer token is required');
    }
    await next();
  };

  router.use('/admin', guard);

  router.get('/admin/keys', (ctx) => {
    const ring = keys.current();
    if (!ring) throw new StoreUnavailableError('no key ring loaded yet');
    ctx.body = summaryJson(summarizeRing(ring, clock()));
  });

  // Body (optional, JSON): `{"alg"?: "ES256", "now"?: true}`. `now` promotes `next` even
  // when it is younger than keys.prePublication; the answer's `rotation.warning` says who may
  // fail to verify.
  router.post('/admin/keys/rotate', parseJson, async (ctx) => {
    const body = (ctx.request.body ?? {}) as { alg?: unknown; now?: unknown };
    const problem =
      body.alg !== undefined && !isSigningAlg(body.alg)
        ? `alg must be one of ${SIGNING_ALGS.join(', ')}`
        : body.now !== undefined && typeof body.now !== 'boolean'
          ? 'now must be true or false'
          : undefined;
    if (problem) throw new IssuerError('BAD_REQUEST', problem);
    const result = await keys.rotate(body.alg as SigningAlg | undefined, {
      early: body.now === true,
    });
    ctx.body = { ...summaryJson(result), rotation: result.rotation };
  });

  router.post('/admin/keys/:kid/revoke', async (ctx) => {
    ctx.body = summaryJson(await keys.revoke(ctx.params.kid as string));
  });

  for (const extend of extensions) extend(router, parseJson);
}

function bearerMatches(header: string, token: string): boolean {
  const match = /^Bearer\s+(.+)$/i.exec(header);
  return match ? adminTokenMatches(match[1] as string, token) : false;
}

/** Whether `given` is the admin `token`, compared in constant time. */
export function adminTokenMatches(given: string, token: string): boolean {
  // Hash both sides so the comparison is constant-time whatever the lengths.
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b);
}
