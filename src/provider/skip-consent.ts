import type { Grant, KoaContextWithOIDC } from 'oidc-provider';

/** Claims the consent prompt never asks about (they come with every ID token or none). */
const UNASKED_CLAIMS = new Set(['sub', 'sid', 'auth_time', 'acr', 'amr', 'iss']);

/**
 * oidc-provider's `loadExistingGrant`: the grant of the interaction result or of the session,
 * as by default — and for a client with `skipConsent`, that grant (or a new one) already holds
 * what the request asks for (its OpenID scopes and claims, each resource's scopes), so the
 * consent prompt finds nothing missing. Such a client's sign-in then ends with the login instead
 * of passing a consent interaction that would grant the same without asking (one redirect and
 * two store round trips less per sign-in). A consent that oidc-provider asks for anyway (a
 * native client, `prompt=consent`) still reaches the consent page, which grants it.
 */
export function loadExistingGrant(skipsConsent: (clientId: string) => boolean) {
  return async (ctx: KoaContextWithOIDC): Promise<Grant | undefined> => {
    const { oidc } = ctx;
    const client = oidc.client;
    const session = oidc.session;
    if (!client || !session) return undefined;
    const grantId = oidc.result?.consent?.grantId ?? session.grantIdFor(client.clientId);
    const existing = grantId ? await oidc.provider.Grant.find(grantId) : undefined;
    if (!skipsConsent(client.clientId) || !session.accountId) return existing;

    const grant =
      existing ??
      new oidc.provider.Grant({ accountId: session.accountId, clientId: client.clientId });
    let changed = existing === undefined;
    const scopes = new Set(grant.getOIDCScopeEncountered().split(' '));
    const missingScopes = [...oidc.requestParamOIDCScopes].filter((s) => !scopes.has(s));
    if (missingScopes.length > 0) {
      grant.addOIDCScope(missingScopes.join(' '));
      changed = true;
    }
    const claims = new Set(grant.getOIDCClaimsEncountered());
    const missingClaims = [...oidc.requestParamClaims].filter(
      (c) => !claims.has(c) && !UNASKED_CLAIMS.has(c),
    );
    if (missingClaims.length > 0) {
      grant.addOIDCClaims(missingClaims);
      changed = true;
    }
    for (const [indicator, server] of Object.entries(oidc.resourceServers ?? {})) {
      const granted = new Set(grant.getResourceScopeEncountered(indicator).split(' '));
      const missing = [...oidc.requestParamScopes].filter(
        (s) => server.scopes.has(s) && !granted.has(s),
      );
      if (missing.length > 0) {
        grant.addResourceScope(indicator, missing.join(' '));
        changed = true;
      }
    }
    if (changed) await grant.save();
    return grant;
  };
}
