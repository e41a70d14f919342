import { createHash } from 'node:crypto';
import { decodeJwt } from 'jose';
import type Koa from 'koa';
import type { AccessToken, Grant, KoaContextWithOIDC, default as Provider } from 'oidc-provider';

/**
 * Lets a user's JWT access token (RFC 9068, for a resource server) also work at userinfo, as
 * relying-party libraries expect after a login.
 *
 * oidc-provider has no option for this: its userinfo endpoint looks access tokens up in the
 * adapter and refuses any with an audience, and JWT access tokens are never stored. So when
 * the token endpoint issues a JWT access token for a user whose grant holds `openid`, this
 * stores beside it the opaque access token oidc-provider would have issued for userinfo (same
 * grant, session binding, OIDC scopes and claims request, same expiry), under the SHA-256 of
 * the JWT. At userinfo a bearer JWT is replaced by that hash before oidc-provider sees it,
 * which then does all it does for its own tokens (expiry, grant and session checks, revocation,
 * claims filtering, CORS, errors). Only someone holding the JWT can compute the hash; the
 * JWT's `jti`, which APIs may log, is not the key.
 */
export function userinfoForJwtAccessTokens(provider: Provider): Koa.Middleware {
  return (ctx, next) => {
    if (ctx.path === USERINFO_PATH) {
      const bearer = /^Bearer ([^\s.]+\.[^\s.]+\.[^\s.]+)$/i.exec(ctx.get('authorization'));
      if (bearer) ctx.request.header.authorization = `Bearer ${companionId(bearer[1] as string)}`;
      return next();
    }
    if (ctx.method !== 'POST' || ctx.path !== TOKEN_PATH) return next();
    return next().then(() => companionOf(provider, ctx as KoaContextWithOIDC)?.save());
  };
}

/** oidc-provider's default routes (build.ts does not change them). */
const USERINFO_PATH = '/me';
const TOKEN_PATH = '/token';

const companionId = (jwt: string) => createHash('sha256').update(jwt).digest('base64url');

interface ScopedSource {
  scope?: string;
  scopes: Set<string>;
  claims?: unknown;
}

/**
 * The companion to store for the token response in `ctx`, if it carries a user's JWT access
 * token. Not async, so a response without one (client_credentials) adds no promise.
 */
function companionOf(provider: Provider, ctx: KoaContextWithOIDC): AccessToken | undefined {
  if (ctx.status !== 200 || !ctx.oidc) return;
  const entities = ctx.oidc.entities as {
    AccessToken?: AccessToken & { format?: string; sid?: string; claims?: unknown };
    Grant?: Grant;
    AuthorizationCode?: ScopedSource;
    RefreshToken?: ScopedSource;
    DeviceCode?: ScopedSource;
    /** The password grant's login (provider/password-grant.ts). */
    PasswordLogin?: ScopedSource;
  };
  const { AccessToken: at, Grant: grant } = entities;
  const value = (ctx.body as { access_token?: unknown } | undefined)?.access_token;
  if (!at || !grant || at.format !== 'jwt' || !at.accountId || typeof value !== 'string') return;
  // A sender-constrained (DPoP) token's proof covers the JWT itself, not a companion.
  if (at.isSenderConstrained()) return;
  const source =
    entities.AuthorizationCode ??
    entities.RefreshToken ??
    entities.DeviceCode ??
    entities.PasswordLogin;
  if (!source) return;
  // The scope the token request asked for (a refresh may narrow it), as oidc-provider reads it.
  const requested = ctx.oidc.params?.scope
    ? new Set(String(ctx.oidc.params.scope).split(' '))
    : source.scopes;
  const scope = grant.getOIDCScopeFiltered(requested);
  if (!scope.split(' ').includes('openid')) return;
  const companion = new provider.AccessToken({
    accountId: at.accountId,
    client: ctx.oidc.client,
    expiresWithSession: at.expiresWithSession,
    grantId: at.grantId,
    gty: at.gty,
    sessionUid: at.sessionUid,
    sid: at.sid,
    scope,
    claims: source.claims,
  } as ConstructorParameters<typeof provider.AccessToken>[0]);
  // Set by hand, so oidc-provider's id generator (which also records the format) is skipped.
  companion.jti = companionId(value);
  (companion as { format?: string }).format = 'opaque';
  companion.exp = decodeJwt(value).exp as number;
  return companion;
}
