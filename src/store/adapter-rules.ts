import type { AdapterFactory, AdapterPayload } from 'oidc-provider';
import { errors } from 'oidc-provider';

/**
 * Rules shared by the Redis and the memory adapter, so both behave the same way.
 */

/** What goes into the Provider configuration's `adapter`: one adapter per model name. */
export type ModelAdapterFactory = AdapterFactory;

/** Options common to every adapter. */
export interface AdapterOptions {
  /**
   * oidc-provider's `clockTolerance` in seconds. Records outlive their `exp` by this much, so
   * oidc-provider can still tell "expired" from "not found".
   */
  clockTolerance: number;
  /**
   * The clock (epoch ms) that stamps `consumed`; default `Date.now`. Record expiry follows the
   * store's own clock (Redis' TTLs; the memory store's `now`).
   */
  clock?: () => number;
}

/** Models whose records join their grant's index set and die with `revokeByGrantId`. */
export const GRANTABLE_MODELS: ReadonlySet<string> = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PreAuthorizedCode',
]);

/**
 * Lookups by a longer id, uid or user code answer "not found" without touching the store:
 * every id the issuer mints is far shorter, and a token, kid or client_id sent by a client must
 * not become an arbitrarily long key name.
 */
const MAX_LOOKUP_LENGTH = 512;

export const lookupable = (id: unknown): id is string =>
  typeof id === 'string' && id.length > 0 && id.length <= MAX_LOOKUP_LENGTH;

/**
 * A write whose id or index value (grant id, uid, user code) is longer than
 * {@link MAX_LOOKUP_LENGTH} is refused (`invalid_request`), as lookups are: such a record could
 * never be found again, and its key name would be as long as the value.
 */
export function assertWritable(model: string, id: string, indexes: PayloadIndexes): void {
  for (const [what, value] of [['id', id], ...Object.entries(indexes)] as const) {
    if (typeof value === 'string' && value.length > MAX_LOOKUP_LENGTH) {
      throw new errors.InvalidRequest(
        `${model} ${what} longer than ${MAX_LOOKUP_LENGTH} characters`,
      );
    }
  }
}

/** The model oidc-provider uses for client assertion / DPoP `jti` replay detection. */
export const REPLAY_MODEL = 'ReplayDetection';

/** The model of a session, the only one indexed by `uid`. */
export const SESSION_MODEL = 'Session';

/** The model of a grant record; a replayed consume destroys it with the grant's tokens. */
export const GRANT_MODEL = 'Grant';

/**
 * Record lifetime in milliseconds: `expiresIn + clockTolerance` seconds, at least 1 s;
 * undefined (no expiry) when oidc-provider gives no `expiresIn`.
 */
export function recordTtlMs(
  expiresIn: number | undefined,
  clockTolerance: number,
): number | undefined {
  if (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn)) return undefined;
  const ms = Math.round((expiresIn + clockTolerance) * 1000);
  return ms > 0 ? ms : 1000;
}

/** The index fields of a payload that an adapter maintains. */
export interface PayloadIndexes {
  /** Set for grantable models only. */
  grantId: string | undefined;
  /** Set for sessions only. */
  uid: string | undefined;
  userCode: string | undefined;
}

export function indexesOf(model: string, payload: AdapterPayload): PayloadIndexes {
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  return {
    grantId: GRANTABLE_MODELS.has(model) ? str(payload.grantId) : undefined,
    uid: model === SESSION_MODEL ? str(payload.uid) : undefined,
    userCode: str(payload.userCode),
  };
}

/**
 * oidc-provider checks `consumed` and then calls `consume()` in a second step, so parallel
 * redemptions can all pass the check. The adapter lets exactly one consume succeed and ends the
 * others with the error oidc-provider itself raises for a replay: `invalid_request_uri` for a
 * pushed authorization request, `invalid_grant` for everything else (whose grant the adapter has
 * already revoked, as oidc-provider does for a replayed code or refresh token).
 */
export function consumeRefused(model: string, reason: 'replayed' | 'missing'): Error {
  if (model === 'PushedAuthorizationRequest') {
    return new errors.InvalidRequestUri('request_uri is invalid, expired, or was already used');
  }
  return new errors.InvalidGrant(
    reason === 'replayed' ? `${model} already consumed` : `${model} not found`,
  );
}

/**
 * A second write of one ReplayDetection id means a client assertion (or DPoP proof) `jti` was
 * used twice, possibly in parallel requests that both passed oidc-provider's `find` check.
 * oidc-provider answers a sequential reuse of a client assertion with `invalid_client`; so do we.
 */
export function replayRefused(): Error {
  return new errors.InvalidClientAuth('client assertion tokens must only be used once');
}

/** `clock`'s time in epoch seconds, as oidc-provider stores `consumed`. */
export function epochSeconds(clock: () => number): number {
  return Math.floor(clock() / 1000);
}
