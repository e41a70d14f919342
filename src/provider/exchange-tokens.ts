/**
 * The tokens a token exchange (RFC 8693) receives: the subject token (an access token, or an ID
 * token where the client allows it) and the optional actor token, verified as this issuer's own
 * and turned into whose they are, what they allowed and who acts. token-exchange.ts decides
 * what the exchange yields from them.
 */
import { createLocalJWKSet, type JWTPayload, errors as joseErrors, jwtVerify } from 'jose';
import { type AccessToken, type Client, errors, type default as Provider } from 'oidc-provider';
import type { ClientConfig } from '../config/schema.js';
import { toPublicJwk } from '../keystore/jwks.js';
import { requiredParam } from './grant-params.js';
import type { TokenExchangeInputs } from './token-exchange.js';

/** RFC 8693 §3 token type identifiers. */
export const TOKEN_TYPES = {
  accessToken: 'urn:ietf:params:oauth:token-type:access_token',
  idToken: 'urn:ietf:params:oauth:token-type:id_token',
} as const;

/** The `act` claim (RFC 8693 §4.1): who acts, and on whose behalf they acted before. */
export interface Actor {
  sub: string;
  act?: unknown;
}

/** A verified subject token: whose it is, what it allowed, and until when. */
export interface Subject {
  sub: string;
  scopes: ReadonlySet<string>;
  /** Epoch seconds. */
  exp: number;
  act?: unknown;
}

/** Verifies a JWT this issuer signed; `what` names it in the refusal. */
export type Verify = (jwt: string, what: string) => Promise<JWTPayload & { typ?: string }>;

/**
 * Verifies a JWT this issuer signed with one of the keys it publishes (iss, exp with the clock
 * tolerance, an allowed algorithm). A token that fails any check is refused as `invalid_request`
 * naming why (RFC 8693 §2.2.2).
 */
export function ownTokenVerifier(inputs: TokenExchangeInputs): Verify {
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
export async function accessTokenSubject(
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
export async function idTokenSubject(
  verify: Verify,
  value: string,
  own: ClientConfig,
): Promise<Subject> {
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
export const invalidToken = (description: string) =>
  new errors.CustomOIDCProviderError('invalid_request', description);

/**
 * The new token's `act`: the exchanging client (or the subject of `actor_token`, which must be
 * a token issued to that client), wrapping the subject token's own `act` when it had one.
 */
export async function actorOf(
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

export const scopesOf = (value: unknown): Set<string> =>
  new Set(typeof value === 'string' ? value.split(' ').filter(Boolean) : []);
