import {
  type Client,
  errors,
  type KoaContextWithOIDC,
  type default as Provider,
} from 'oidc-provider';
import type { ClientConfig } from '../config/schema.js';

type PolicyToken = { clientId?: string | undefined; kind: string; aud?: string | string[] };

/**
 * Who may introspect a token (oidc-provider's `features.introspection.allowedPolicy`): the
 * client it was issued to, and for an access token a client whose `introspects` names one of
 * the token's audiences. Anyone else gets `active: false`, as if the token did not exist.
 */
export function introspectionPolicy(clients: ReadonlyMap<string, ClientConfig>) {
  return async (_ctx: KoaContextWithOIDC, client: Client, token: PolicyToken) => {
    if (token.clientId === client.clientId) return true;
    if (token.kind !== 'AccessToken' && token.kind !== 'ClientCredentials') return false;
    const serves = clients.get(client.clientId)?.introspects ?? [];
    const audiences = typeof token.aud === 'string' ? [token.aud] : (token.aud ?? []);
    return audiences.some((aud) => serves.includes(aud));
  };
}

/**
 * Who may revoke a token (`features.revocation.allowedPolicy`): only the client it was issued
 * to (RFC 7009 §2.1). Another confidential client is told so (`invalid_request`); a public
 * client, which anyone can act as, learns nothing and the token is left alone.
 */
export async function revocationPolicy(
  _ctx: KoaContextWithOIDC,
  client: Client,
  token: PolicyToken,
): Promise<boolean> {
  if (token.clientId === client.clientId) return true;
  if (client.clientAuthMethod === 'none') return false;
  throw new errors.InvalidRequest('client is not authorized to revoke the presented token');
}

/**
 * RFC 6749 §5.2's answer for an authenticated client using a grant type its config does not
 * list (`grantTypes`): `unauthorized_client`. oidc-provider answers `invalid_request` there, so
 * this replaces that answer; an unknown grant type stays `unsupported_grant_type`.
 *
 * It listens to `grant.error`, which oidc-provider's token endpoint emits only for a failed
 * request, once its error answer is set and before it is sent: unlike a middleware around the
 * endpoint, it costs the token requests that succeed nothing.
 */
export function answerUnauthorizedClients(provider: Provider): void {
  provider.on('grant.error', (ctx: KoaContextWithOIDC) => {
    const { client, params } = ctx.oidc ?? {};
    const grantType = params?.grant_type;
    const body = ctx.body as { error?: unknown } | undefined;
    if (ctx.status !== 400 || body?.error !== 'invalid_request' || !client) return;
    if (typeof grantType !== 'string' || client.grantTypeAllowed(grantType)) return;
    ctx.body = {
      error: 'unauthorized_client',
      error_description: `client ${client.clientId} is not allowed the ${grantType} grant (grantTypes in its config)`,
    };
  });
}
