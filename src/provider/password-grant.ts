/**
 * The resource owner password credentials grant (RFC 6749 §4.3) for clients with
 * `grantTypes: [password]`, as an oidc-provider custom grant. The OAuth 2.0 Security BCP
 * (RFC 9700 §2.4) says it MUST NOT be used; it is here for test automation that cannot drive a
 * browser, so it signs in configured users only (never "any user" names), and config refuses it
 * where demo credentials are reachable from other machines (config/password-grant-rules.ts).
 *
 * oidc-provider has no such grant ("if you need it today something's wrong"); its docs point to
 * `registerGrantType`. The tokens are its own models, issued as a login would issue them: a grant
 * holding the scopes, an access token (a JWT for the client's default resource, as a login
 * gets), an ID token for `openid`, a refresh token when the client has that grant.
 */
import {
  errors,
  type Grant,
  type default as Provider,
  type ResourceServer,
  type TokenEndpointGrantContext,
} from 'oidc-provider';
import type { ClientConfig, IssuerConfig } from '../config/schema.js';
import type { Accounts } from './accounts.js';
import { registerClientGrant, requiredParam } from './grant-params.js';

const PASSWORD_GRANT = 'password';

/** What `registerPasswordGrant` needs from the provider's construction. */
export interface PasswordGrantInputs {
  config: Pick<IssuerConfig, 'clients'>;
  accounts: Pick<Accounts, 'verifyPassword' | 'findAccount'>;
  /** The resource a user login of `clientId` gets its access token for, if any. */
  userLoginResource: (clientId: string) => string | undefined;
  /** See build.ts: how the client's access tokens for `indicator` are made (InvalidTarget if not). */
  resourceServerInfo: (indicator: string, clientId: string) => ResourceServer;
}

/** Registers the password grant on `provider` when some client is allowed it. */
export function registerPasswordGrant(provider: Provider, inputs: PasswordGrantInputs): void {
  registerClientGrant(
    provider,
    inputs.config.clients,
    PASSWORD_GRANT,
    async (ctx, own, params) => {
      const { client } = ctx.oidc;
      const identity = inputs.accounts.verifyPassword(
        requiredParam(params, 'username'),
        requiredParam(params, 'password'),
      );
      if (!identity) {
        throw new errors.CustomOIDCProviderError('invalid_grant', 'wrong username or password');
      }
      const scopes = scopesOf(params.scope, own);
      const resource =
        typeof params.resource === 'string'
          ? params.resource
          : inputs.userLoginResource(client.clientId);
      const server = resource
        ? new provider.ResourceServer(
            resource,
            inputs.resourceServerInfo(resource, client.clientId),
          )
        : undefined;
      const apiScopes = server ? scopes.filter((s) => server.scopes.has(s)) : [];

      const authTime = Math.floor(Date.now() / 1000);
      const grant = new provider.Grant({ accountId: identity.sub, clientId: client.clientId });
      grant.addOIDCScope(scopes.filter((s) => !apiScopes.includes(s)).join(' '));
      if (resource) grant.addResourceScope(resource, apiScopes.join(' '));
      const grantId = await grant.save();
      ctx.oidc.entity('Grant', grant);

      const at = new provider.AccessToken({
        accountId: identity.sub,
        client,
        grantId,
        gty: PASSWORD_GRANT,
        ...(server ? { resourceServer: server } : {}),
      });
      at.scope =
        (server ? apiScopes.join(' ') : grant.getOIDCScopeFiltered(new Set(scopes))) || undefined;
      ctx.oidc.entity('AccessToken', at);
      // The scopes this login asked for, as userinfo-bridge.ts reads a login's code.
      ctx.oidc.entity('PasswordLogin', { scope: scopes.join(' '), scopes: new Set(scopes) });
      const accessToken = await at.save();

      let refreshToken: string | undefined;
      if (client.grantTypeAllowed('refresh_token')) {
        const rt = new provider.RefreshToken({
          accountId: identity.sub,
          client,
          grantId,
          gty: PASSWORD_GRANT,
          scope: scopes.join(' '),
          authTime,
          rotations: 0,
          ...(resource ? { resource } : {}),
        } as ConstructorParameters<typeof provider.RefreshToken>[0]);
        ctx.oidc.entity('RefreshToken', rt);
        refreshToken = await rt.save();
      }

      const idToken = scopes.includes('openid')
        ? await issueIdToken(provider, ctx, inputs.accounts, identity.sub, grant, scopes)
        : undefined;

      ctx.body = {
        access_token: accessToken,
        token_type: at.tokenType,
        expires_in: at.expiration,
        ...(idToken ? { id_token: idToken } : {}),
        ...(refreshToken ? { refresh_token: refreshToken } : {}),
        ...(at.scope ? { scope: at.scope } : {}),
      };
    },
    ['username', 'password', 'scope', 'resource'],
  );
}

/** The scopes asked for (default: all the client's), each one the client may ask for. */
function scopesOf(value: unknown, own: ClientConfig): string[] {
  if (typeof value !== 'string' || value === '') return [...own.scopes];
  const asked = [...new Set(value.split(' ').filter(Boolean))];
  for (const s of asked) {
    if (!own.scopes.includes(s)) {
      throw new errors.InvalidScope(`scope ${s} is not allowed for this client (scopes)`, s);
    }
  }
  return asked;
}

async function issueIdToken(
  provider: Provider,
  ctx: TokenEndpointGrantContext,
  accounts: PasswordGrantInputs['accounts'],
  sub: string,
  grant: Grant,
  scopes: string[],
): Promise<string> {
  const account = await accounts.findAccount(ctx, sub);
  if (!account) throw new errors.InvalidGrant('the user is no longer configured');
  const scope = grant.getOIDCScopeFiltered(new Set(scopes));
  const token = new provider.IdToken(await account.claims('id_token', scope, {}, []), { ctx });
  // Read by issue() to release each scope's claims; missing from oidc-provider's types.
  (token as unknown as { scope: string }).scope = scope;
  return token.issue({ use: 'idtoken' });
}
