/**
 * OAuth 2.0 Token Exchange (RFC 8693) as an oidc-provider custom grant: a service trades an
 * access token it received (or an ID token issued to it, when its config allows) for a JWT
 * access token for another API, with the same user as `sub` and itself named in `act`.
 *
 * oidc-provider 9 has no token exchange of its own; its `registerGrantType` hook runs the
 * handler after client authentication and the client's `grant_types` check, so this module
 * only decides what the exchange may yield, and lets oidc-provider's AccessToken model sign the
 * result (same keys, `typ: at+jwt`, TTLs and claims as every other access token).
 */

import type { JWK } from 'jose';
import {
  errors,
  type default as Provider,
  type ResourceServer,
  type TokenEndpointGrantContext,
} from 'oidc-provider';
import { defaultResourceOf } from '../config/client-rules.js';
import { TOKEN_EXCHANGE_GRANT } from '../config/grant-types.js';
import type { ClientConfig, IssuerConfig } from '../config/schema.js';
import type { Accounts } from './accounts.js';
import {
  type Actor,
  accessTokenSubject,
  actorOf,
  idTokenSubject,
  invalidToken,
  ownTokenVerifier,
  type Subject,
  scopesOf,
  TOKEN_TYPES,
} from './exchange-tokens.js';
import { registerClientGrant, requiredParam } from './grant-params.js';

const PARAMETERS = [
  'audience',
  'resource',
  'scope',
  'requested_token_type',
  'subject_token',
  'subject_token_type',
  'actor_token',
  'actor_token_type',
];
/** RFC 8693 §2.1 lets both name several targets; one is refused below with a clear message. */
const MAY_REPEAT = ['audience', 'resource'];

/** What `registerTokenExchange` needs from the provider's construction. */
export interface TokenExchangeInputs {
  config: Pick<IssuerConfig, 'issuer' | 'clients' | 'clockTolerance' | 'keys'>;
  /** The provider's signing keys (private JWKs): their public halves verify subject tokens. */
  signingKeys: readonly JWK[];
  accounts: Pick<Accounts, 'findAccount'>;
  /**
   * How the client's access tokens for resource server `indicator` are made, in `format`.
   * @throws InvalidTarget when the client may not get tokens for it.
   */
  resourceServerInfo: (indicator: string, clientId: string, format: 'jwt') => ResourceServer;
}

/** Claims the exchange adds to the access token it issues; see `exchangeClaimsOf`. */
const issuedClaims = new WeakMap<object, { act: Actor }>();

/**
 * The `act` claim of an access token this grant is issuing, for oidc-provider's
 * `extraTokenClaims` (the only hook that writes into a JWT access token's payload).
 */
export function exchangeClaimsOf(token: object): { act: Actor } | undefined {
  return issuedClaims.get(token);
}

/** Registers the token exchange grant on `provider` when some client is allowed it. */
export function registerTokenExchange(provider: Provider, inputs: TokenExchangeInputs): void {
  const verifier = ownTokenVerifier(inputs);
  registerClientGrant(
    provider,
    inputs.config.clients,
    TOKEN_EXCHANGE_GRANT,
    async (ctx, own, params) => {
      const { client } = ctx.oidc;
      const subjectToken = requiredParam(params, 'subject_token');
      const subjectType = requiredParam(params, 'subject_token_type');
      const requested = params.requested_token_type;
      if (requested !== undefined && requested !== TOKEN_TYPES.accessToken) {
        throw new errors.InvalidRequest(
          `requested_token_type: only ${TOKEN_TYPES.accessToken} is issued`,
        );
      }
      const subject =
        subjectType === TOKEN_TYPES.accessToken
          ? await accessTokenSubject(provider, verifier, subjectToken, own)
          : subjectType === TOKEN_TYPES.idToken && own.exchangeIdTokens
            ? await idTokenSubject(verifier, subjectToken, own)
            : unsupportedType(own, 'subject_token_type');
      await ensureAccount(inputs.accounts, ctx, subject.sub);
      const actor = await actorOf(provider, verifier, params, client, subject);

      const target = targetOf(params, own);
      const info = inputs.resourceServerInfo(target, client.clientId, 'jwt');
      const scope = scopeOf(params, subject, new Set(info.scope.split(' ').filter(Boolean)));

      // A delegated token never outlives the token it was exchanged for.
      const left = subject.exp - Math.floor(Date.now() / 1000);
      // No grantId: a JWT access token is never stored, and this one stems from no grant here.
      const token = new provider.AccessToken({
        accountId: subject.sub,
        client,
        gty: 'token_exchange',
        resourceServer: new provider.ResourceServer(target, info),
        expiresIn: Math.max(1, Math.min(info.accessTokenTTL ?? left, left)),
      } as unknown as ConstructorParameters<typeof provider.AccessToken>[0]);
      token.scope = scope.join(' ') || undefined;
      issuedClaims.set(token, { act: actor });
      ctx.oidc.entity('AccessToken', token);
      const value = await token.save();
      ctx.body = {
        access_token: value,
        issued_token_type: TOKEN_TYPES.accessToken,
        token_type: token.tokenType,
        expires_in: token.expiration,
        ...(token.scope ? { scope: token.scope } : {}),
      };
    },
    PARAMETERS,
    MAY_REPEAT,
  );
}

function unsupportedType(own: ClientConfig, field: string): never {
  const types = own.exchangeIdTokens
    ? `${TOKEN_TYPES.accessToken} or ${TOKEN_TYPES.idToken}`
    : `${TOKEN_TYPES.accessToken} (ID tokens only with exchangeIdTokens on the client)`;
  throw new errors.InvalidRequest(`${field} must be ${types}`);
}

async function ensureAccount(
  accounts: TokenExchangeInputs['accounts'],
  ctx: TokenEndpointGrantContext,
  sub: string,
): Promise<void> {
  if (!(await accounts.findAccount(ctx, sub))) {
    throw invalidToken(`subject_token names a user this issuer no longer knows`);
  }
}

/** The one audience the token is for: `resource` or `audience`, else the client's default. */
function targetOf(params: Record<string, unknown>, own: ClientConfig): string {
  const named = new Set([...listOf(params.resource), ...listOf(params.audience)]);
  if (named.size > 1) {
    throw new errors.InvalidTarget('name one target API per exchange (resource or audience)');
  }
  const target = [...named][0] ?? defaultResourceOf(own);
  if (!target) throw new errors.InvalidTarget('name the target API with resource or audience');
  return target;
}

/**
 * The scopes the new token gets: those asked for, each one the subject token had and the target
 * API defines; without `scope`, every such one. Asking for more is `invalid_scope`.
 */
function scopeOf(
  params: Record<string, unknown>,
  subject: Subject,
  serverScopes: ReadonlySet<string>,
): string[] {
  if (typeof params.scope !== 'string' || params.scope === '') {
    return [...subject.scopes].filter((s) => serverScopes.has(s));
  }
  const asked = [...scopesOf(params.scope)];
  for (const s of asked) {
    if (!subject.scopes.has(s))
      throw new errors.InvalidScope(`scope ${s} is wider than the subject token's`, s);
    if (!serverScopes.has(s)) throw new errors.InvalidScope(`the target API has no scope ${s}`, s);
  }
  return asked;
}

const listOf = (value: unknown): string[] =>
  (Array.isArray(value) ? value : value === undefined ? [] : [value]).map(String);
