/** oidc-provider's cookies for one issuer: their names and path, and the device form's session. */
import type { CookiesSetOptions, KoaContextWithOIDC, Session } from 'oidc-provider';

/**
 * oidc-provider also renders the user-code form from its error handler (`GET /device/<uid>`
 * with no interaction behind it, `POST /device` without a session cookie, …). That runs after
 * its session middleware has finished, so the form's fresh xsrf secret sits on a session that
 * was never stored and has no cookie; its last step then fails to persist that session (a 500).
 * Store such a session here and set its cookie, so the form on every error page works.
 */
export async function storeFormSession(
  ctx: KoaContextWithOIDC,
  ttlSeconds: number,
  cookie: CookiesSetOptions,
): Promise<void> {
  // oidc-provider's types declare `exp` always set and omit `id`; a never-stored session has no exp.
  const session = ctx.oidc.session as (Session & { id: string; exp?: number }) | undefined;
  if (!session || typeof session.exp === 'number') return;
  // `maxAge` is an option of the `cookies` module oidc-provider uses (missing from its types).
  const options = { ...cookie, maxAge: ttlSeconds * 1000 } as CookiesSetOptions;
  ctx.oidc.cookies.set(ctx.oidc.provider.cookieName('session'), session.id, options);
  await session.save(ttlSeconds);
}

/** A hosted issuer's cookies are sent only below its path. */
export function cookieScope(mountPath: string): { path?: string } {
  return mountPath ? { path: mountPath } : {};
}

/**
 * oidc-provider's cookie names, with a hosted issuer's path in them: a browser sends the
 * top-level issuer's cookies (path /) to every path, and a cookie of the same name whose
 * signature does not verify with this issuer's keys would be cleared (the `cookies` module does).
 */
export function cookieNames(mountPath: string): {
  session: string;
  interaction: string;
  resume: string;
} {
  const suffix = mountPath ? `_${mountPath.slice(1)}` : '';
  return {
    session: `_session${suffix}`,
    interaction: `_interaction${suffix}`,
    resume: `_interaction_resume${suffix}`,
  };
}
