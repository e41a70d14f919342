/** What the custom grants (token-exchange.ts, password-grant.ts) share about their requests. */
import { errors } from 'oidc-provider';
import type { ClientConfig } from '../config/schema.js';

/**
 * The configured clients by id when at least one of them has `grant` (the grant is then
 * registered), else undefined (oidc-provider answers `unsupported_grant_type`).
 */
export function clientsIfAnyHas(
  clients: readonly ClientConfig[],
  grant: ClientConfig['grantTypes'][number],
): ReadonlyMap<string, ClientConfig> | undefined {
  if (!clients.some((c) => c.grantTypes.includes(grant))) return undefined;
  return new Map(clients.map((c) => [c.id, c]));
}

/** A parameter the grant cannot do without; `invalid_request` naming it when missing or empty. */
export function requiredParam(params: Record<string, unknown>, name: string): string {
  const value = params[name];
  if (typeof value !== 'string' || value === '') {
    throw new errors.InvalidRequest(`missing required parameter '${name}'`);
  }
  return value;
}
