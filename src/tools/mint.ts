/**
 * Mints tokens signed by the issuer's current signing key, without any OAuth flow: for tests
 * that need "a valid token for alice at this API" (or an expired one, or one with odd claims).
 * Used by `oidc-issuer token mint`, `POST /admin/tokens` and the in-process API.
 */
import { randomUUID } from 'node:crypto';
import { importJWK, type JWTPayload, SignJWT } from 'jose';
import { z } from 'zod';
import { DEFAULT_SIGNING_ALG, SIGNING_ALGS, type SigningAlg } from '../algorithms.js';
import { defaultResourceOf } from '../config/client-rules.js';
import { parseDuration } from '../config/duration.js';
import type { IssuerConfig } from '../config/schema.js';
import { isJsonObject } from '../json.js';
import { providerKeys } from '../keystore/lifecycle.js';
import type { KeyRing } from '../keystore/types.js';
import { claimsBoundProblem } from './claims-bounds.js';
import { TokenError } from './errors.js';

/** What to mint. Every field is optional except what the token type needs (see below). */
export interface MintRequest {
  /**
   * `access` (default): an RFC 9068 JWT access token (`typ: at+jwt`, `client_id`, `jti`).
   * `id`: an OpenID Connect ID token (`aud` = the client id, `auth_time`).
   */
  type?: 'access' | 'id';
  /** Subject. Required for ID tokens; an access token without one is the client's own (sub = client_id). */
  sub?: string;
  /**
   * Audience. Access tokens: defaults to the client's default resource (`defaultResource`, else
   * its first `resources` entry), else the only configured
   * resource server. ID tokens: the client id (taken from `clientId` when absent).
   */
  aud?: string | string[];
  /** `client_id` of an access token (default `oidc-issuer-mint`), the audience of an ID token. */
  clientId?: string;
  /** Space-separated `scope` claim (access tokens). */
  scope?: string;
  /**
   * Extra claims. They win over the computed ones, so `{"iss": …}` or `{"exp": …}` is possible;
   * a claim given as `null` is left out (`{"aud": null}` makes a token without an audience).
   */
  claims?: Record<string, unknown>;
  /**
   * Extra JOSE header parameters, for negative tests (e.g. `{"crit": ["urn:x"], "urn:x": 1}`).
   * `alg` and `kid` always come from the signing key; a `typ` given here replaces the default.
   */
  header?: Record<string, unknown>;
  /**
   * Lifetime: seconds or `"5m"`, `"1h"`; negative for an already expired token. Defaults to
   * the resource server's (access) or `ttl.accessToken` / `ttl.idToken`.
   */
  expiresIn?: number | string;
  /** Which of the ring's algorithms signs; defaults as for real tokens of that kind. */
  alg?: SigningAlg;
  /** `nonce` claim (ID tokens). */
  nonce?: string;
}

/** A minted token with its parts, for printing or asserting on. */
export interface MintedToken {
  token: string;
  header: { alg: SigningAlg; kid: string; typ?: string } & Record<string, unknown>;
  claims: JWTPayload & Record<string, unknown>;
}

/** Where the minter finds the issuer's settings, its keys and the time. */
export interface MintSource {
  config: Pick<IssuerConfig, 'issuer' | 'ttl' | 'clients' | 'resourceServers' | 'keys'>;
  /** The current key ring (the active key signs). */
  ring: () => KeyRing | undefined;
  clock?: () => number;
}

/** The client id written into access tokens minted without `clientId`. */
export const DEFAULT_MINT_CLIENT_ID = 'oidc-issuer-mint';

const MAX_LIFETIME_MS = 366 * 86_400_000;

function withinClaimsBounds(value: unknown, ctx: z.RefinementCtx): void {
  const problem = claimsBoundProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
}

const requestSchema = z.strictObject({
  type: z.enum(['access', 'id']).optional(),
  sub: z.string().min(1).max(1024).optional(),
  aud: z.union([z.string().min(1), z.array(z.string().min(1)).min(1).max(32)]).optional(),
  clientId: z.string().min(1).max(1024).optional(),
  scope: z.string().max(4096).optional(),
  claims: z.record(z.string(), z.unknown()).superRefine(withinClaimsBounds).optional(),
  expiresIn: z.union([z.number(), z.string()]).optional(),
  alg: z.enum(SIGNING_ALGS).optional(),
  nonce: z.string().max(1024).optional(),
  header: z
    .record(z.string(), z.unknown())
    .refine((h) => !('alg' in h) && !('kid' in h), 'alg and kid come from the signing key')
    .superRefine(withinClaimsBounds)
    .optional(),
});

const SNAKE_CASE: Record<string, string> = {
  client_id: 'clientId',
  expires_in: 'expiresIn',
};

/**
 * Checks untrusted mint options (a JSON body, CLI flags) and returns them typed. Accepts
 * `client_id` and `expires_in` as spellings of `clientId` and `expiresIn`.
 * @throws TokenError `MINT_OPTIONS_INVALID` listing every bad field.
 */
export function parseMintRequest(input: unknown): MintRequest {
  if (!isJsonObject(input)) {
    throw new TokenError('MINT_OPTIONS_INVALID', 'mint options must be a JSON object');
  }
  const renamed: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) renamed[SNAKE_CASE[key] ?? key] = value;
  const result = requestSchema.safeParse(renamed);
  if (!result.success) {
    const problems = result.error.issues.flatMap((issue) => {
      const path = issue.path.map(String).join('.');
      if (issue.code === 'unrecognized_keys') return issue.keys.map((k) => `${k}: unknown option`);
      return [`${path || 'options'}: ${issue.message}`];
    });
    throw new TokenError('MINT_OPTIONS_INVALID', `invalid mint options: ${problems.join('; ')}`);
  }
  const request = result.data as MintRequest;
  if (request.expiresIn !== undefined) lifetimeOf(request.expiresIn);
  return request;
}

/**
 * Signs a token as described by `request` with the ring's active key for the chosen algorithm.
 * @throws TokenError `MINT_OPTIONS_INVALID` (e.g. an ID token without `sub`),
 *   `ALG_NOT_IN_POLICY` (the algorithm is not configured), `NO_ACTIVE_KEY` (no key of that
 *   algorithm signs right now).
 */
export async function mintToken(source: MintSource, request: MintRequest): Promise<MintedToken> {
  const { config } = source;
  const now = (source.clock ?? Date.now)();
  const iat = Math.floor(now / 1000);
  const type = request.type ?? 'access';
  const client = request.clientId
    ? config.clients.find((c) => c.id === request.clientId)
    : undefined;
  const defaultAlg = config.keys.algorithms[0] ?? DEFAULT_SIGNING_ALG;

  let payload: Record<string, unknown>;
  let typ: string | undefined;
  let alg: SigningAlg;
  let lifetimeMs: number;
  if (type === 'id') {
    const aud = request.aud ?? request.clientId;
    if (!request.sub) throw invalid('an ID token needs a subject (sub)');
    if (aud === undefined) throw invalid('an ID token needs the client id (clientId or aud)');
    alg = request.alg ?? client?.idTokenSigningAlg ?? defaultAlg;
    lifetimeMs =
      request.expiresIn !== undefined ? lifetimeOf(request.expiresIn) : config.ttl.idToken;
    payload = {
      iss: config.issuer,
      sub: request.sub,
      aud,
      ...(Array.isArray(aud) && aud.length > 1 ? { azp: request.clientId ?? aud[0] } : {}),
      iat,
      exp: iat + Math.round(lifetimeMs / 1000),
      auth_time: iat,
      ...(request.nonce !== undefined ? { nonce: request.nonce } : {}),
    };
  } else {
    const clientId = request.clientId ?? DEFAULT_MINT_CLIENT_ID;
    const aud = request.aud ?? defaultAudience(config, client);
    if (aud === undefined) {
      throw invalid(
        `an access token needs an audience (aud); configured resource servers: ${
          config.resourceServers.map((r) => r.audience).join(', ') || 'none'
        }`,
      );
    }
    const server = config.resourceServers.find(
      (r) => r.audience === (Array.isArray(aud) ? aud[0] : aud),
    );
    alg = request.alg ?? server?.signingAlg ?? defaultAlg;
    typ = 'at+jwt';
    lifetimeMs =
      request.expiresIn !== undefined
        ? lifetimeOf(request.expiresIn)
        : (server?.accessTokenTtl ?? config.ttl.accessToken);
    payload = {
      iss: config.issuer,
      sub: request.sub ?? clientId,
      aud,
      client_id: clientId,
      iat,
      exp: iat + Math.round(lifetimeMs / 1000),
      jti: randomUUID(),
      ...(request.scope ? { scope: request.scope } : {}),
    };
  }
  const claims = Object.fromEntries(
    Object.entries({ ...payload, ...(request.claims ?? {}) }).filter(([, v]) => v !== null),
  ) as MintedToken['claims'];

  if (!config.keys.algorithms.includes(alg)) {
    throw new TokenError(
      'ALG_NOT_IN_POLICY',
      `${alg} is not in keys.algorithms (${config.keys.algorithms.join(', ')})`,
    );
  }
  const key = providerKeys(source.ring(), now).find((k) => k.alg === alg);
  if (!key) {
    throw new TokenError(
      'NO_ACTIVE_KEY',
      `no ${alg} key signs right now (configured algorithms: ${config.keys.algorithms.join(', ')})`,
    );
  }
  const header: MintedToken['header'] = {
    ...(typ ? { typ } : {}),
    ...(request.header ?? {}),
    alg,
    kid: key.kid,
  };
  const token = await new SignJWT(claims)
    .setProtectedHeader(header)
    .sign(await importJWK(key, alg), { crit: understoodCrit(header) });
  return { token, header, claims };
}

/**
 * The sign options' `crit` for `header`: every name its `crit` lists marked as understood, since
 * jose refuses to sign a `crit` it does not know otherwise.
 */
export function understoodCrit(header: Record<string, unknown>): Record<string, boolean> {
  const names = Array.isArray(header.crit) ? header.crit : [];
  return Object.fromEntries(names.map((c) => [String(c), true]));
}

function defaultAudience(
  config: MintSource['config'],
  client: MintSource['config']['clients'][number] | undefined,
): string | undefined {
  const own = defaultResourceOf(client);
  if (own) return own;
  if (config.resourceServers.length === 1) return config.resourceServers[0]?.audience;
  return undefined;
}

function lifetimeOf(value: number | string): number {
  const ms = parseDuration(value, { signed: true });
  if (ms === undefined) {
    throw invalid(
      `expiresIn must be seconds or a duration such as 5m, 1h or -10m (got ${JSON.stringify(value)})`,
    );
  }
  if (Math.abs(ms) > MAX_LIFETIME_MS) throw invalid('expiresIn must be within a year either way');
  return ms;
}

function invalid(message: string): TokenError {
  return new TokenError('MINT_OPTIONS_INVALID', message);
}
