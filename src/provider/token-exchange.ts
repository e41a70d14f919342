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

import {
  createLocalJWKSet,
  type JWK,
  type JWTPayload,
  errors as joseErrors,
  jwtVerify,
} from 'jose';
import {
  type AccessToken,
  type Client,
  errors,
  type default as Provider,
  type ResourceServer,
  type TokenEndpointGrantContext,
} from 'oidc-provider';
import { defaultResourceOf } from '../config/client-rules.js';
import { TOKEN_EXCHANGE_GRANT } from '../config/grant-types.js';
import type { ClientConfig, IssuerConfig } from '../config/schema.js';
import { toPublicJwk } from '../keystore/jwks.js';
import type { Accounts } from './accounts.js';
import { clientsIfAnyHas, requiredParam } from './grant-params.js';

/** RFC 8693 §3 token type identifiers. */
export const TOKEN_TYPES = {
  accessToken: 'urn:ietf:params:oauth:token-type:access_token',
  idToken: 'urn:ietf:params:oauth:token-type:id_token',
} as const;

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

/** The `act` claim (RFC 8693 §4.1): who acts, and on whose behalf they acted before. */
interface Actor {
  sub: string;
  act?: unknown;
}

/** A verified subject token: whose it is, what it allowed, and until when. */
interface Subject {
  sub: string;
  scopes: ReadonlySet<string>;
  /** Epoch seconds. */
  exp: number;
  act?: unknown;
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
  const clients = clientsIfAnyHas(inputs.config.clients, TOKEN_EXCHANGE_GRANT);
  if (!clients) return;
  const verifier = ownTokenVerifier(inputs);
  provider.registerGrantType(
    TOKEN_EXCHANGE_GRANT,
    async (ctx) => {
      const { client } = ctx.oidc;
      const own = clients.get(client.clientId) as ClientConfig;
      const params = ctx.oidc.params as Record<string, unknown>;
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

type Verify = (jwt: string, what: string) => Promise<JWTPayload & { typ?: string }>;

/**
 * Verifies a JWT this issuer signed with one of the keys it publishes (iss, exp with the clock
 * tolerance, an allowed algorithm). A token that fails any check is refused as `invalid_request`
 * naming why (RFC 8693 §2.2.2).
 */
function ownTokenVerifier(inputs: TokenExchangeInputs): Verify {
  const keys = createLocalJWKSet({ keys: inputs.signingKeys.map(toPublicJwk) });
  const { issuer, clockTolerance } = inputs.config;
  return async (jwt, what) => {
    try {
      const { payload, protectedHeader } = await jwtVerify(jwt, keys, {
        issuer,
        algorithms: [...inputs.config.keys.algorithms],
        clockTolerance: Math.round(clockTolerance / 1000),
        requiredClaims: ['sub', 'exp'],
      });
      return { ...payload, ...(protectedHeader.typ ? { typ: protectedHeader.typ } : {}) };
    } catch (err) {
      throw invalidToken(`${what} ${verifyProblem(err)}`);
    }
  };
}

function verifyProblem(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return 'has expired';
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    return err.claim === 'iss' ? 'was not issued by this issuer' : `is not valid (${err.message})`;
  }
  if (
    err instanceof joseErrors.JWKSNoMatchingKey ||
    err instanceof joseErrors.JWSSignatureVerificationFailed ||
    err instanceof joseErrors.JOSEAlgNotAllowed
  ) {
    return 'is not signed by a key this issuer publishes';
  }
  return 'is not a JWT or opaque token this issuer issued';
}

const looksLikeJwt = (token: string) => /^[\w-]+\.[\w-]+\.[\w-]*$/.test(token);

/**
 * The subject of an access token: a JWT access token, or an opaque one found in the store (not
 * expired, its grant still there). It must have been issued to the exchanging client or for an
 * API the client serves (`introspects`), so a client cannot trade tokens that were never sent
 * to it, and it must name a user (a client_credentials token has no one to act for).
 */
async function accessTokenSubject(
  provider: Provider,
  verify: Verify,
  value: string,
  own: ClientConfig,
): Promise<Subject> {
  let subject: Subject & { clientId: unknown; aud: unknown };
  if (looksLikeJwt(value)) {
    const claims = await verify(value, 'subject_token');
    if (claims.typ !== 'at+jwt' && claims.typ !== 'application/at+jwt') {
      throw invalidToken(
        `subject_token is not an access token (typ ${claims.typ ?? 'missing'}); send ${TOKEN_TYPES.idToken} as subject_token_type for an ID token`,
      );
    }
    if (claims.sub === claims.client_id) {
      throw invalidToken(
        'subject_token is a client_credentials token: it names no user to act for',
      );
    }
    subject = {
      sub: claims.sub as string,
      scopes: scopesOf(claims.scope),
      exp: claims.exp as number,
      act: claims.act,
      clientId: claims.client_id,
      aud: claims.aud,
    };
  } else {
    const token = (await provider.AccessToken.find(value, { ignoreExpiration: true })) as
      | AccessToken
      | undefined;
    if (!token) throw invalidToken('subject_token is unknown or revoked');
    if (token.isExpired) throw invalidToken('subject_token has expired');
    const grant = await provider.Grant.find(token.grantId);
    if (!grant || grant.accountId !== token.accountId || grant.clientId !== token.clientId) {
      throw invalidToken('subject_token is unknown or revoked');
    }
    subject = {
      sub: token.accountId,
      scopes: token.scopes,
      exp: token.exp as number,
      clientId: token.clientId,
      aud: token.aud,
    };
  }
  const audiences = typeof subject.aud === 'string' ? [subject.aud] : (subject.aud ?? []);
  const mayExchange =
    subject.clientId === own.id ||
    (Array.isArray(audiences) && audiences.some((a) => own.introspects.includes(a)));
  if (!mayExchange) {
    throw invalidToken(
      `subject_token was issued neither to ${own.id} nor for an API it serves (introspects)`,
    );
  }
  const { clientId: _c, aud: _a, ...rest } = subject;
  return rest;
}

/**
 * The subject of an ID token issued to the exchanging client. An ID token carries no scopes:
 * what the client may ask for (its `scopes`) stands in for them.
 */
async function idTokenSubject(verify: Verify, value: string, own: ClientConfig): Promise<Subject> {
  const claims = await verify(value, 'subject_token');
  if (claims.typ === 'at+jwt' || claims.typ === 'application/at+jwt') {
    throw invalidToken(
      `subject_token is an access token; send ${TOKEN_TYPES.accessToken} as subject_token_type`,
    );
  }
  const aud = typeof claims.aud === 'string' ? [claims.aud] : (claims.aud ?? []);
  if (!aud.includes(own.id)) {
    throw invalidToken(`subject_token is an ID token issued to another client`);
  }
  return { sub: claims.sub as string, scopes: new Set(own.scopes), exp: claims.exp as number };
}

/**
 * A subject or actor token refused: RFC 8693 §2.2.2 says an invalid or unacceptable one MUST be
 * answered `invalid_request`. The reason goes in the description, because a service being
 * refused needs to know why.
 */
const invalidToken = (description: string) =>
  new errors.CustomOIDCProviderError('invalid_request', description);

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

/**
 * The new token's `act`: the exchanging client (or the subject of `actor_token`, which must be
 * a token issued to that client), wrapping the subject token's own `act` when it had one.
 */
async function actorOf(
  provider: Provider,
  verify: Verify,
  params: Record<string, unknown>,
  client: Client,
  subject: Subject,
): Promise<Actor> {
  let sub = client.clientId;
  if (params.actor_token !== undefined || params.actor_token_type !== undefined) {
    const value = requiredParam(params, 'actor_token');
    if (requiredParam(params, 'actor_token_type') !== TOKEN_TYPES.accessToken) {
      throw new errors.InvalidRequest(`actor_token_type must be ${TOKEN_TYPES.accessToken}`);
    }
    let actorClient: unknown;
    if (looksLikeJwt(value)) {
      const claims = await verify(value, 'actor_token');
      actorClient = claims.client_id;
      sub = claims.sub as string;
    } else {
      const token =
        (await provider.AccessToken.find(value)) ?? (await provider.ClientCredentials.find(value));
      if (!token) throw invalidToken('actor_token is unknown, expired or revoked');
      actorClient = token.clientId;
      sub = 'accountId' in token ? token.accountId : client.clientId;
    }
    if (actorClient !== client.clientId) {
      throw invalidToken(`actor_token was not issued to ${client.clientId}`);
    }
  }
  return subject.act === undefined ? { sub } : { sub, act: subject.act };
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

const scopesOf = (value: unknown): Set<string> =>
  new Set(typeof value === 'string' ? value.split(' ').filter(Boolean) : []);

const listOf = (value: unknown): string[] =>
  (Array.isArray(value) ? value : value === undefined ? [] : [value]).map(String);
