/**
 * oidc-issuer as a library. For tests, `createTestIssuer` is the entry point:
 *
 * ```ts
 * import { createTestIssuer } from 'oidc-issuer';
 * const issuer = await createTestIssuer();
 * const token = await issuer.mintToken({ sub: 'alice', scope: 'api:read' });
 * const { id_token } = await issuer.login({ username: 'alice' });
 * await issuer.stop();
 * ```
 *
 * The other exports are the building blocks the `oidc-issuer` command uses.
 */

export { SIGNING_ALGS, type SigningAlg } from './algorithms.js';
export { DEMO_API_AUDIENCE, demoConfig } from './config/demo.js';
export { ENV, type LoadOptions, loadConfig, validateConfig } from './config/load.js';
export type {
  ClientConfig,
  IssuerConfig,
  RawConfig,
  ResourceServerConfig,
  UserConfig,
} from './config/schema.js';
export { ConfigError, IssuerError, KeyError, StoreUnavailableError } from './errors.js';
export type { AdminExtension } from './http/admin.js';
export { type IssuerOptions, type RunningIssuer, startIssuer } from './issuer.js';
export type { KeyRingSummary, KeySummary } from './keystore/jwks.js';
export { generateSigningKey, parsePrivateKeys } from './keystore/material.js';
export { RotationTooEarlyError } from './keystore/rotation.js';
export type { KeyState } from './keystore/types.js';
export {
  createTestIssuer,
  type TestIssuer,
  type TestIssuerOptions,
  type TestLoginRequest,
  type TestLoginResult,
  type TestUser,
} from './test-issuer.js';
export { type DecodedJwt, decodeJwt, type TimeClaim, timeClaims } from './tools/decode.js';
export { TokenError } from './tools/errors.js';
export { type InspectReport, inspectKeys } from './tools/jwk-inspect.js';
export type { Finding, KeyReport, Severity } from './tools/jwk-key-checks.js';
export { type LoginRequest, type LoginTokens, loginWithCode } from './tools/login-flow.js';
export {
  DEFAULT_MINT_CLIENT_ID,
  type MintedToken,
  type MintRequest,
  type MintSource,
  mintToken,
  parseMintRequest,
} from './tools/mint.js';
export {
  type Problem,
  type ProblemCode,
  type Verdict,
  type VerdictKey,
  type VerifyOptions,
  verifyToken,
} from './tools/verify.js';
