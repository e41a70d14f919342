/**
 * The probe's cases: each one a token a correct verifier must accept or refuse, what it means
 * when the API under test gets it wrong, and the usual fix in common libraries. `run.ts` sends
 * them; `report.ts` prints them; docs/probe.md explains them at length.
 *
 * Over 300 lines on purpose: one catalogue, an entry per case, read top to bottom beside
 * docs/probe.md; split, the list a reviewer checks would be scattered.
 */
import type { JWK, JWTPayload } from 'jose';
import { ALGORITHMS, SIGNING_ALGS } from '../algorithms.js';
import type { MintedToken, MintRequest } from '../tools/mint.js';
import {
  type ForeignKey,
  type Header,
  hmacSigned,
  publicPem,
  signWith,
  tamperedSignature,
  unsigned,
} from './forge.js';

/**
 * `accept`: the API must answer an accept status (2xx by default). `refuse`: a refuse status
 * (401/403 by default). `forbidden`: exactly 403 (a valid token without the needed scope).
 */
export type Expectation = 'accept' | 'refuse' | 'forbidden';

/** The libraries each case names a fix for. */
export const LIBRARIES = ['jose', 'jsonwebtoken', 'PyJWT', 'go-oidc', 'Spring'] as const;
export type Library = (typeof LIBRARIES)[number];

/** What a case needs to build its token. */
export interface TokenKit {
  /** The baseline token from the issuer's mint endpoint. */
  valid: MintedToken;
  /** Another token from the issuer: the baseline request with `changes` (claims merged). */
  mint(changes: MintRequest): Promise<string>;
  /** The issuer's published key that signed the baseline token. */
  signingJwk: JWK;
  /** Every key the issuer publishes. */
  published: JWK[];
  /** A throw-away key pair for `alg` (cached per run). */
  foreign(alg: string): Promise<ForeignKey>;
  /** A URL on the probe's own key server (for `jku`/`x5u`); fetches of it are recorded. */
  hosted(path: string): string;
  /** The token type the API expects, and the client id an ID token is for. */
  type: 'access' | 'id';
  clientId: string;
}

export interface ProbeCase {
  /** Stable id, used in `--json`, `--only`/`--skip` and docs/probe.md. */
  id: string;
  /** A short description of the token sent. */
  title: string;
  expect: Expectation;
  /** One sentence: what a verifier that gets this case wrong lets happen. */
  consequence: string;
  /** The usual fix, per library. */
  fix: Partial<Record<Library, string>>;
  /** Only with `--scope` (`scope`), only with `--rotate` (`rotate`), only for a type. */
  needs?: 'scope' | 'rotate';
  forType?: 'access' | 'id';
  /** Builds the token. Absent for the rotation drill, which `run.ts` drives itself. */
  token?: (kit: TokenKit) => Promise<string>;
}

const HOUR = 3600;
const nowSeconds = () => Math.floor(Date.now() / 1000);

/** The valid token's header and claims with `changes`, signed by a key nobody trusts. */
async function foreignSigned(
  kit: TokenKit,
  header: (key: ForeignKey) => Header,
  alg = String(kit.valid.header.alg),
): Promise<string> {
  const key = await kit.foreign(alg);
  const base: Header = { ...kit.valid.header };
  delete base.kid;
  return signWith(key, { ...base, ...header(key) }, kit.valid.claims as JWTPayload);
}

const PIN_ALGORITHMS: Partial<Record<Library, string>> = {
  jose: 'jwtVerify with a remote key set refuses it; pass `algorithms` to pin the ones you use',
  jsonwebtoken:
    "pass `algorithms: ['RS256']` (the issuer's algorithms) to jwt.verify / express-jwt",
  PyJWT: 'always pass `algorithms=["RS256"]` to jwt.decode',
  'go-oidc': 'set `SupportedSigningAlgs` in oidc.Config (it defaults to RS256)',
  Spring: 'NimbusJwtDecoder.withJwkSetUri(…).jwsAlgorithm(…) pins the algorithm',
};

const VERIFY_SIGNATURE: Partial<Record<Library, string>> = {
  jose: 'use jwtVerify with createRemoteJWKSet; decodeJwt never verifies anything',
  jsonwebtoken: 'use jwt.verify with a key from jwks-rsa, never jwt.decode, for authorization',
  PyJWT: 'never pass `options={"verify_signature": False}`; use PyJWKClient + jwt.decode',
  'go-oidc': 'never set `InsecureSkipSignatureCheck`; use provider.Verifier',
  Spring: 'decode with NimbusJwtDecoder (withJwkSetUri / fromIssuerLocation), not a plain parser',
};

const KEYS_FROM_JWKS: Partial<Record<Library, string>> = {
  jose: 'createRemoteJWKSet(jwks_uri) picks the key by kid and refuses others',
  jsonwebtoken:
    "jwks-rsa's expressJwtSecret / getSigningKey(header.kid) selects by kid; never fall back to another key",
  PyJWT: 'PyJWKClient(jwks_uri).get_signing_key_from_jwt(token)',
  'go-oidc': 'oidc.NewRemoteKeySet(ctx, jwks_uri)',
  Spring: 'NimbusJwtDecoder.withJwkSetUri(jwks_uri)',
};

const NEVER_FOLLOW_HEADER_URLS: Partial<Record<Library, string>> = {
  jose: 'jose never follows jku/x5u; keep taking keys only from createRemoteJWKSet(jwks_uri)',
  jsonwebtoken: 'give jwks-rsa a fixed jwksUri; never build it from the token header',
  PyJWT: 'construct PyJWKClient with your issuer’s jwks_uri, never with header["jku"]',
  'go-oidc': 'go-oidc ignores jku/x5u; keep the key set from discovery',
  Spring: 'Nimbus ignores jku/x5u with withJwkSetUri; do not write a key selector that reads them',
};

/** Every case, in the order they run and print. */
export const CASES: readonly ProbeCase[] = [
  {
    id: 'valid',
    title: 'a valid token (the baseline)',
    expect: 'accept',
    consequence:
      'The API refuses a token that is valid in every way, so nothing else can be judged; check the audience, issuer and scope the API expects.',
    fix: {},
    token: async (kit) => kit.valid.token,
  },
  {
    id: 'expired',
    title: 'exp one hour in the past',
    expect: 'refuse',
    consequence: 'A leaked or stolen token keeps working forever.',
    fix: {
      jose: 'jwtVerify checks exp; keep clockTolerance small (seconds, not hours)',
      jsonwebtoken: 'do not pass `ignoreExpiration: true`; keep `clockTolerance` small',
      PyJWT: 'do not disable `verify_exp`; keep `leeway` under a minute',
      'go-oidc': 'do not set `SkipExpiryCheck`',
      Spring: 'keep JwtTimestampValidator (JwtValidators.createDefault…) in your validators',
    },
    token: (kit) => kit.mint({ expiresIn: -HOUR }),
  },
  {
    id: 'not-yet-valid',
    title: 'nbf one hour in the future',
    expect: 'refuse',
    consequence: 'A token minted for later (or by a host with a wrong clock) works now.',
    fix: {
      jose: 'jwtVerify checks nbf; keep clockTolerance small',
      jsonwebtoken: 'do not pass `ignoreNotBefore: true`',
      PyJWT: 'do not disable `verify_nbf`',
      'go-oidc': 'upgrade to a go-oidc v3 release that checks nbf, or check it yourself',
      Spring: 'keep JwtTimestampValidator in your validators',
    },
    token: (kit) => kit.mint({ claims: { nbf: nowSeconds() + HOUR } }),
  },
  {
    id: 'issued-in-future',
    title: 'iat one hour in the future (exp after it)',
    expect: 'refuse',
    consequence:
      'A token that claims to be issued later than now is accepted: it outlives its intended lifetime and usually means a forged or mis-minted token.',
    fix: {
      jose: "pass `maxTokenAge` (e.g. '1d') to jwtVerify: it also refuses an iat in the future",
      jsonwebtoken:
        'jwt.verify never checks a future iat: refuse `payload.iat > now + tolerance` yourself',
      PyJWT: 'jwt.decode refuses it (ImmatureSignatureError) unless `verify_iat` is off',
      'go-oidc': 'check `idToken.IssuedAt` against time.Now() yourself',
      Spring: 'add an OAuth2TokenValidator<Jwt> that refuses `iat` after now plus the clock skew',
    },
    token: (kit) => {
      const iat = nowSeconds() + HOUR;
      const lifetime = Number(kit.valid.claims.exp) - Number(kit.valid.claims.iat);
      return kit.mint({ claims: { iat, exp: iat + lifetime } });
    },
  },
  {
    id: 'wrong-issuer',
    title: 'iss of another issuer (signed by this issuer’s key)',
    expect: 'refuse',
    consequence:
      'Tokens that name another issuer are accepted: whoever can get the same keys trusted (another tenant, a test issuer) can mint tokens for this API.',
    fix: {
      jose: 'pass `issuer` to jwtVerify',
      jsonwebtoken: 'pass `issuer` to jwt.verify / express-jwt',
      PyJWT: 'pass `issuer=` and `options={"require": ["iss"]}`',
      'go-oidc': 'build the verifier from oidc.NewProvider(issuer); never set `SkipIssuerCheck`',
      Spring: 'JwtDecoders.fromIssuerLocation(issuer) or JwtValidators.createDefaultWithIssuer',
    },
    token: (kit) => kit.mint({ claims: { iss: 'https://issuer.probe.invalid/' } }),
  },
  {
    id: 'wrong-audience',
    title: 'aud of another API',
    expect: 'refuse',
    consequence:
      'A token issued for any other API or client of the same issuer works here: one compromised service can call all the others.',
    fix: {
      jose: 'pass `audience` to jwtVerify',
      jsonwebtoken: 'pass `audience` to jwt.verify / express-jwt',
      PyJWT: 'pass `audience=` to jwt.decode',
      'go-oidc': 'set `ClientID` in oidc.Config to your audience; never set `SkipClientIDCheck`',
      Spring:
        'set spring.security.oauth2.resourceserver.jwt.audiences (or a JwtClaimValidator on aud)',
    },
    token: (kit) =>
      kit.type === 'id'
        ? kit.mint({ aud: 'probe-other-client', clientId: 'probe-other-client' })
        : kit.mint({ aud: 'https://other-api.probe.invalid/' }),
  },
  {
    id: 'no-audience',
    title: 'no aud claim',
    expect: 'refuse',
    consequence:
      'A token meant for no API in particular works here, and so does any token the issuer mints without an audience.',
    fix: {
      jose: 'pass `audience` to jwtVerify (then aud is required)',
      jsonwebtoken: 'pass `audience` to jwt.verify / express-jwt',
      PyJWT: 'pass `audience=` and `options={"require": ["aud"]}`',
      'go-oidc': 'set `ClientID` in oidc.Config',
      Spring: 'validate aud with a JwtClaimValidator / the audiences property',
    },
    token: (kit) => kit.mint({ claims: { aud: null } }),
  },
  {
    id: 'id-token-as-access-token',
    title: 'an ID token (typ JWT, aud = a client id) instead of an access token',
    expect: 'refuse',
    forType: 'access',
    consequence:
      "A client can call the API with a user's ID token, which was meant for the client only and carries no scopes.",
    fix: {
      jose: "pass `typ: 'at+jwt'` (RFC 9068) and `audience` to jwtVerify",
      jsonwebtoken:
        "pass `audience`; with `complete: true` also refuse a header typ other than 'at+jwt'",
      PyJWT: 'pass `audience=`; refuse `jwt.get_unverified_header(t)["typ"] != "at+jwt"`',
      'go-oidc': 'do not verify access tokens with an ID token verifier configured for a client id',
      Spring: 'validate aud; Spring Security 6.5+ can require typ at+jwt (JwtTypeValidator)',
    },
    token: (kit) =>
      kit.mint({
        type: 'id',
        sub: String(kit.valid.claims.sub ?? 'probe-user'),
        clientId: kit.clientId,
        aud: kit.clientId,
        scope: undefined,
        header: { typ: 'JWT' },
      }),
  },
  {
    id: 'access-token-as-id-token',
    title: 'an access token (typ at+jwt, same aud) instead of an ID token',
    expect: 'refuse',
    forType: 'id',
    consequence: 'An access token is taken as proof that a user signed in to this client.',
    fix: {
      jose: "refuse a header typ of 'at+jwt' (check protectedHeader.typ after jwtVerify)",
      jsonwebtoken: "with `complete: true`, refuse header typ 'at+jwt'",
      PyJWT: 'refuse `jwt.get_unverified_header(t)["typ"] == "at+jwt"`',
      'go-oidc': 'check the header typ before trusting an ID token from an untrusted party',
      Spring: 'add a validator refusing typ at+jwt where an ID token is expected',
    },
    token: (kit) =>
      kit.mint({ type: 'access', aud: kit.valid.claims.aud as string, clientId: kit.clientId }),
  },
  {
    id: 'bad-signature',
    title: 'one byte of the signature changed',
    expect: 'refuse',
    consequence:
      'Signatures are not checked: anyone can edit the claims (sub, scope, exp) of any token.',
    fix: VERIFY_SIGNATURE,
    token: async (kit) => tamperedSignature(kit.valid.token),
  },
  {
    id: 'foreign-key-published-kid',
    title: 'signed by a key not in the JWKS, with a kid that is',
    expect: 'refuse',
    consequence: 'Anyone can sign tokens with their own key by borrowing a published kid.',
    fix: { ...VERIFY_SIGNATURE, ...KEYS_FROM_JWKS },
    token: (kit) => foreignSigned(kit, () => ({ kid: kit.valid.header.kid })),
  },
  {
    id: 'unknown-kid',
    title: 'a kid that is not in the JWKS (signed by that unknown key)',
    expect: 'refuse',
    consequence: 'Anyone can sign tokens with their own key and a made-up kid.',
    fix: KEYS_FROM_JWKS,
    token: (kit) => foreignSigned(kit, (key) => ({ kid: key.kid })),
  },
  {
    id: 'no-kid',
    title: 'no kid (signed by a key not in the JWKS)',
    expect: 'refuse',
    consequence:
      'A token without a kid is checked against the wrong key or not at all: anyone can forge one.',
    fix: {
      ...KEYS_FROM_JWKS,
      jsonwebtoken:
        'jwks-rsa refuses a missing kid when the set has several keys; never fall back to skipping verification',
    },
    token: (kit) => foreignSigned(kit, () => ({})),
  },
  {
    id: 'alg-none',
    title: 'alg: none (no signature)',
    expect: 'refuse',
    consequence: 'Anyone can forge any token: no signature is needed at all.',
    fix: PIN_ALGORITHMS,
    token: async (kit) => {
      const header: Header = { ...kit.valid.header };
      return unsigned(header, kit.valid.claims as JWTPayload);
    },
  },
  {
    id: 'hs256-public-key-pem',
    title: 'HS256 with the issuer’s public key (PEM) as the HMAC secret',
    expect: 'refuse',
    consequence:
      'Anyone who downloads the JWKS can forge any token: the public key works as the HMAC secret.',
    fix: {
      ...PIN_ALGORITHMS,
      jsonwebtoken:
        "pass `algorithms: ['RS256']`; jsonwebtoken ≥ 9 also refuses a public key for HS256 — never set `allowInvalidAsymmetricKeyTypes`",
    },
    token: async (kit) =>
      hmacSigned(
        { ...kit.valid.header },
        kit.valid.claims as JWTPayload,
        publicPem(kit.signingJwk),
      ),
  },
  {
    id: 'hs256-public-key-jwk',
    title: 'HS256 with the issuer’s public JWK (JSON text) as the HMAC secret',
    expect: 'refuse',
    consequence:
      'Anyone who downloads the JWKS can forge any token: the published JWK works as the HMAC secret.',
    fix: PIN_ALGORITHMS,
    token: async (kit) =>
      hmacSigned(
        { ...kit.valid.header },
        kit.valid.claims as JWTPayload,
        JSON.stringify(kit.signingJwk),
      ),
  },
  {
    id: 'alg-not-of-key',
    title: 'an alg the published key does not have (e.g. RS256 header on an EC kid)',
    expect: 'refuse',
    consequence:
      'The token header decides how a published key is used: the opening for algorithm-confusion forgeries.',
    fix: {
      ...PIN_ALGORITHMS,
      jose: 'jose refuses a key whose alg differs from the header; pin `algorithms` as well',
    },
    token: (kit) => {
      // Prefer a published EC or OKP key with an RSA header; else an RSA key with another RSA alg.
      const other = kit.published.find((k) => k.kty === 'EC' || k.kty === 'OKP');
      const target = other ?? kit.signingJwk;
      const alg = SIGNING_ALGS.find((a) => ALGORITHMS[a].kty === 'RSA' && a !== target.alg)!;
      return foreignSigned(kit, () => ({ kid: target.kid }), alg);
    },
  },
  {
    id: 'crit-unknown',
    title: 'crit names an unknown header extension (signed by this issuer’s key)',
    expect: 'refuse',
    consequence:
      'A token that depends on a header extension the API does not understand is accepted (RFC 7515 §4.1.11 says refuse); the day an issuer uses one, its meaning is lost.',
    fix: {
      jose: 'jwtVerify refuses unknown crit by default (do not list it in `crit` options)',
      jsonwebtoken:
        'jsonwebtoken ignores crit: with `complete: true`, refuse any header.crit you do not implement',
      PyJWT: 'refuse any `crit` you do not implement if your version ignores it',
      'go-oidc': 'go-jose refuses unknown crit; keep it that way',
      Spring: 'Nimbus refuses unknown crit by default',
    },
    token: (kit) =>
      kit.mint({
        header: {
          crit: ['urn:oidc-issuer:probe-unknown'],
          'urn:oidc-issuer:probe-unknown': true,
        },
      }),
  },
  {
    id: 'jku-elsewhere',
    title: 'jku header pointing to another key set (which holds the signing key)',
    expect: 'refuse',
    consequence:
      'The token names its own keys: anyone can sign with a key they host, and the API connects wherever the token says.',
    fix: NEVER_FOLLOW_HEADER_URLS,
    token: (kit) => foreignSigned(kit, (key) => ({ kid: key.kid, jku: kit.hosted('/jwks.json') })),
  },
  {
    id: 'x5u-elsewhere',
    title: 'x5u header pointing elsewhere',
    expect: 'refuse',
    consequence:
      'The token names its own certificate: anyone can sign with a key they host, and the API connects wherever the token says.',
    fix: NEVER_FOLLOW_HEADER_URLS,
    token: (kit) => foreignSigned(kit, (key) => ({ kid: key.kid, x5u: kit.hosted('/cert.pem') })),
  },
  {
    id: 'missing-scope',
    title: 'a valid token without the required scope',
    expect: 'forbidden',
    needs: 'scope',
    forType: 'access',
    consequence:
      'Any token for this API can do everything, whatever scope it was granted (and a 401 instead of 403 tells clients the token is bad rather than too weak).',
    fix: {
      jose: 'check payload.scope.split(\' \') per route; answer 403 with WWW-Authenticate: Bearer error="insufficient_scope"',
      jsonwebtoken:
        'check req.auth.scope per route (express-oauth2-jwt-bearer has requiredScopes); answer 403',
      PyJWT: 'check the scope claim per route; answer 403 insufficient_scope',
      'go-oidc': 'check the scope claim per handler; answer 403 insufficient_scope',
      Spring: "hasAuthority('SCOPE_…') on the route (Spring answers 403)",
    },
    token: (kit) => kit.mint({ scope: '', claims: { scope: null } }),
  },
  {
    id: 'rotation-new-key',
    title: 'after a rotation: signed by a key the API has never seen',
    expect: 'accept',
    needs: 'rotate',
    consequence:
      'After a key rotation every request fails until the API restarts: it caches the JWKS for good or never refetches on an unknown kid.',
    fix: {
      jose: 'use createRemoteJWKSet (refetches on an unknown kid after its 30 s cooldown), not a key set loaded once',
      jsonwebtoken:
        'use jwks-rsa (refetches on an unknown kid); do not copy the keys into config or a constant',
      PyJWT: 'use PyJWKClient, which refetches on an unknown kid',
      'go-oidc': 'oidc.NewRemoteKeySet refetches on an unknown kid',
      Spring: 'NimbusJwtDecoder.withJwkSetUri refetches on an unknown kid',
    },
  },
  {
    id: 'rotation-retiring-key',
    title: 'after a rotation: signed by the now-retiring key',
    expect: 'accept',
    needs: 'rotate',
    consequence:
      'Tokens signed before a rotation stop working at once: users are signed out and calls in flight fail.',
    fix: {
      jose: 'keep every key of the JWKS (createRemoteJWKSet does); never pin one kid',
      jsonwebtoken: 'let jwks-rsa look up each kid; do not keep only the newest key',
      PyJWT: 'look keys up by kid in the whole set',
      'go-oidc': 'keep the remote key set; do not pin one key',
      Spring: 'keep the whole JWK set; do not pin one key',
    },
  },
];
