/** What the custom grants (token-exchange.ts, password-grant.ts) share about their requests. */
import { errors, type default as Provider, type TokenEndpointGrantContext } from 'oidc-provider';
import type { ClientConfig } from '../config/schema.js';

/** A custom grant's work once oidc-provider has authenticated `ctx.oidc.client`. */
export type ClientGrantHandler = (
  ctx: TokenEndpointGrantContext,
  own: ClientConfig,
  params: Record<string, unknown>,
) => Promise<void>;

/**
 * Registers `grant` on `provider` when at least one of `clients` has it (otherwise oidc-provider
 * answers `unsupported_grant_type`); `handler` gets the calling client's config and the
 * parameters. `parameters` and `mayRepeat` go to oidc-provider's `registerGrantType` as they are.
 */
export function registerClientGrant(
  provider: Provider,
  clients: readonly ClientConfig[],
  grant: ClientConfig['grantTypes'][number],
  handler: ClientGrantHandler,
  parameters: readonly string[],
  mayRepeat?: readonly string[],
): void {
  if (!clients.some((c) => c.grantTypes.includes(grant))) return;
  const byId = new Map(clients.map((c) => [c.id, c]));
  provider.registerGrantType(
    grant,
    (ctx) =>
      // oidc-provider has checked the client's grant_types, so it is one of `clients`.
      handler(
        ctx,
        byId.get(ctx.oidc.client.clientId) as ClientConfig,
        ctx.oidc.params as Record<string, unknown>,
      ),
    parameters,
    mayRepeat,
  );
}

/** A parameter the grant cannot do without; `invalid_request` naming it when missing or empty. */
export function requiredParam(params: Record<string, unknown>, name: string): string {
  const value = params[name];
  if (typeof value !== 'string' || value === '') {
    throw new errors.InvalidRequest(`missing required parameter '${name}'`);
  }
  return value;
}
