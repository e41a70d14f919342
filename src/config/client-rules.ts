import { createPublicKey } from 'node:crypto';
import { PRIVATE_JWK_MEMBERS } from '../algorithms.js';
import { TOKEN_EXCHANGE_GRANT } from './grant-types.js';
import type { ClientConfig } from './schema.js';

/**
 * What oidc-provider would refuse later, at request time, about a client we register — checked
 * here at start so the message names our config field instead of surfacing as a 400/500 on the
 * first authorization request. The rules come from oidc-provider 9's client schema
 * (lib/helpers/client_schema.js, lib/models/client.js) for the metadata we send it: every
 * client is a `web` application, so redirect URIs must be http(s) and carry no fragment.
 * test/unit/config-client-rules.test.ts proves each rule against oidc-provider itself.
 */

/** The audience a client's access tokens get when it names no resource: see `defaultResource`. */
export function defaultResourceOf(client: ClientConfig | undefined): string | undefined {
  return client?.defaultResource ?? client?.resources[0];
}

/** oidc-provider's `noVSCHAR`: client ids and secrets are printable ASCII (RFC 6749 VSCHAR). */
export const PRINTABLE_ASCII = /^[\x20-\x7E]+$/;

/**
 * Problems with one redirect or post-logout redirect URI; empty when oidc-provider accepts it.
 * A path starting with `/` is taken on the issuer (see `onIssuer`).
 */
export function redirectUriProblems(value: string): string[] {
  if (/^\/(?!\/)/.test(value)) {
    return value.includes('#') ? ['must not contain a fragment (#…)'] : [];
  }
  const url = URL.parse(value);
  if (!url) return [`must be an absolute http(s) URI (got ${JSON.stringify(value)})`];
  const problems: string[] = [];
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    // `localhost:8080/callback` parses as scheme "localhost:" with path "8080/callback".
    const missingScheme = /^[A-Za-z0-9.-]+:\d+(\/|$)/.test(value);
    problems.push(
      missingScheme
        ? `${JSON.stringify(value)} has no scheme (it reads as scheme "${url.protocol}"); write http://${value}`
        : `must use http or https (got scheme "${url.protocol}"): oidc-provider registers every client as a web application`,
    );
  }
  if (value.includes('#')) problems.push('must not contain a fragment (#…)');
  return problems;
}

/**
 * `uri` as an absolute URL. A redirect URI starting with `/` is a path on the issuer itself
 * (such as the console's `/debugger/callback`), so it follows the issuer URL wherever it runs.
 */
export function onIssuer(issuer: string, uri: string): string {
  return uri.startsWith('/') ? `${issuer.replace(/\/+$/, '')}${uri}` : uri;
}

/** A browser origin for CORS: compared byte for byte with the `Origin` header. */
export function originProblems(value: string): string[] {
  const url = URL.parse(value);
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:'))
    return ['must be an http(s) origin such as http://localhost:5173'];
  if (url.origin !== value)
    return [
      `must be an origin (scheme, host and port only, no path or trailing slash): ${url.origin}`,
    ];
  return [];
}

/** RFC 8707 resource indicators (our resource server `audience`): absolute URI, no fragment. */
export function resourceIndicatorProblems(value: string): string[] {
  if (!URL.parse(value))
    return [
      `must be an absolute URI such as https://api.example.test (oidc-provider refuses other resource indicators; got ${JSON.stringify(value)})`,
    ];
  if (value.includes('#')) return ['must not contain a fragment (#…)'];
  return [];
}

/** A key of a client's `jwks` (for private_key_jwt): a valid public RSA, EC or OKP key. */
export function clientJwkProblems(jwk: Record<string, unknown>): string[] {
  if (PRIVATE_JWK_MEMBERS.some((m) => m in jwk))
    return ['must be a public key (no private or symmetric members)'];
  try {
    createPublicKey({ key: jwk as never, format: 'jwk' });
  } catch (err) {
    return [`is not a valid public JWK (${(err as Error).message})`];
  }
  for (const member of ['alg', 'kid', 'use']) {
    if (member in jwk && (typeof jwk[member] !== 'string' || jwk[member] === ''))
      return [`${member} must be a non-empty string`];
  }
  return [];
}

/** What a client's cross-field rules need to know about the rest of the config. */
export interface ClientContext {
  /** Resource server audiences. */
  audiences: ReadonlySet<string>;
  /** Scopes the issuer knows (openid, offline_access, claim scopes, resource server scopes). */
  knownScopes: ReadonlySet<string>;
  algorithms: readonly string[];
}

/** Rules spanning several fields of one client; `at` is its path, e.g. `clients[1]`. */
export function clientProblems(cl: ClientConfig, at: string, context: ClientContext): string[] {
  const problems: string[] = [];
  const grants = cl.grantTypes;
  if (grants.includes('authorization_code') && cl.redirectUris.length === 0) {
    problems.push(`${at}.redirectUris: required for the authorization_code grant`);
  }
  if (
    grants.includes('refresh_token') &&
    // Only a user grant (authorization_code, device_code) issues the first refresh token.
    !grants.some(
      (g) => g !== 'refresh_token' && g !== 'client_credentials' && g !== TOKEN_EXCHANGE_GRANT,
    )
  ) {
    problems.push(
      `${at}.grantTypes: refresh_token needs authorization_code or device_code to get a first token`,
    );
  }
  if (cl.authMethod === 'private_key_jwt' && !cl.jwks) {
    problems.push(`${at}.jwks: required for authMethod private_key_jwt`);
  }
  if (cl.jwks && cl.authMethod !== 'private_key_jwt') {
    problems.push(
      `${at}.jwks: only used with authMethod private_key_jwt; set it, or remove jwks (authMethod is ${cl.authMethod ?? (cl.secret ? 'client_secret_basic' : 'none')})`,
    );
  }
  if (cl.authMethod?.startsWith('client_secret') && !cl.secret) {
    problems.push(`${at}.secret: required for authMethod ${cl.authMethod}`);
  }
  if (!cl.secret && !cl.jwks && grants.includes('client_credentials')) {
    problems.push(`${at}.secret: client_credentials needs a confidential client (set a secret)`);
  }
  if (grants.includes(TOKEN_EXCHANGE_GRANT)) {
    if (!cl.secret && !cl.jwks)
      problems.push(
        `${at}.secret: token-exchange needs a confidential client (set a secret), or anyone could exchange the tokens it receives`,
      );
    if (cl.resources.length === 0)
      problems.push(
        `${at}.resources: token-exchange needs the audiences this client may exchange tokens for`,
      );
  } else if (cl.exchangeIdTokens) {
    problems.push(`${at}.exchangeIdTokens: only used with the token-exchange grant (grantTypes)`);
  }
  cl.resources.forEach((r, j) => {
    if (!context.audiences.has(r))
      problems.push(`${at}.resources[${j}]: no resource server has audience "${r}"`);
  });
  if (cl.defaultResource !== undefined && !cl.resources.includes(cl.defaultResource)) {
    problems.push(
      `${at}.defaultResource: "${cl.defaultResource}" is not one of this client's resources`,
    );
  }
  cl.introspects.forEach((r, j) => {
    if (!context.audiences.has(r))
      problems.push(`${at}.introspects[${j}]: no resource server has audience "${r}"`);
  });
  if (cl.introspects.length > 0 && !cl.secret && !cl.jwks) {
    problems.push(
      `${at}.introspects: needs a confidential client (set a secret), or anyone could read those tokens`,
    );
  }
  cl.scopes.forEach((s, j) => {
    if (!context.knownScopes.has(s))
      problems.push(
        `${at}.scopes[${j}]: unknown scope "${s}" (declare it under scopes or a resource server)`,
      );
  });
  if (cl.idTokenSigningAlg && !context.algorithms.includes(cl.idTokenSigningAlg)) {
    problems.push(`${at}.idTokenSigningAlg: ${cl.idTokenSigningAlg} is not in keys.algorithms`);
  }
  return problems;
}
