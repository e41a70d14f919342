/**
 * APIs that verify the issuer's access tokens, for the probe's tests: each a real HTTP server
 * built on jose like examples/api, with at most one deliberate flaw, so the probe must find
 * exactly the cases that flaw opens. `express-stack.ts` holds the third-party one.
 */
import { createHmac, createPublicKey, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  base64url,
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  type JWK,
  type JWTPayload,
  jwtVerify,
  UnsecuredJWT,
} from 'jose';

export type Flaw =
  /** Reads the claims without verifying the signature (jwt.decode instead of jwt.verify). */
  | 'decode-only'
  /** Never checks `aud`. */
  | 'skips-audience'
  /** Accepts `alg: none` tokens. */
  | 'allows-none'
  /** HS256 with the public key's PEM as the HMAC secret (jsonwebtoken before 9 without `algorithms`). */
  | 'hmac-with-pem'
  /** Fetched the JWKS once at start and never again. */
  | 'jwks-fetched-once'
  /** Does not check `exp`. */
  | 'ignores-exp';

/** The probe cases each flaw must fail, and no others. */
export const FAILS: Record<Flaw, string[]> = {
  'decode-only': [
    'bad-signature',
    'foreign-key-published-kid',
    'unknown-kid',
    'no-kid',
    'alg-none',
    'hs256-public-key-pem',
    'hs256-public-key-jwk',
    'alg-not-of-key',
    'crit-unknown',
    'jku-elsewhere',
    'x5u-elsewhere',
  ],
  'skips-audience': ['wrong-audience', 'no-audience'],
  'allows-none': ['alg-none'],
  'hmac-with-pem': ['hs256-public-key-pem'],
  'jwks-fetched-once': ['rotation-new-key'],
  'ignores-exp': ['expired'],
};

export interface TestApi {
  /** The protected endpoint: GET, needs scope `api:read`. */
  url: string;
  close(): Promise<void>;
}

interface ApiOptions {
  issuer: string;
  /** The API's audience; for `expects: 'id'` the client id its ID tokens are for. */
  audience: string;
  flaw?: Flaw;
  /** What the API takes: access tokens (default, scope `api:read` needed) or ID tokens. */
  expects?: 'access' | 'id';
}

/** An API like examples/api (jose, RFC 9068 checks, scope per route) with `flaw`, on a free port. */
export async function startVerifierApi(options: ApiOptions): Promise<TestApi> {
  const { issuer, audience, flaw } = options;
  const idTokens = options.expects === 'id';
  const jwksUri = new URL('jwks', `${issuer}/`);
  const published = ((await (await fetch(jwksUri)).json()) as { keys: JWK[] }).keys;
  const keys =
    flaw === 'jwks-fetched-once'
      ? createLocalJWKSet({ keys: published })
      : createRemoteJWKSet(jwksUri, { cooldownDuration: 0 });
  const claimRules = {
    issuer,
    ...(flaw === 'skips-audience' ? {} : { audience }),
    maxTokenAge: '1d',
    requiredClaims: idTokens ? ['exp', 'iat', 'sub'] : ['exp', 'iat', 'sub', 'client_id'],
  };
  /** RFC 9068 access tokens carry `typ: at+jwt`; an ID token must not. */
  const checkTyp = (typ: unknown) => {
    if (idTokens ? typ === 'at+jwt' : typ !== 'at+jwt')
      throw new Error(`typ ${String(typ)} refused`);
  };

  /** The claim checks of jwtVerify, for the flawed paths that skip jwtVerify's signature step. */
  const checkClaims = (token: string): JWTPayload => {
    checkTyp(decodeProtectedHeader(token).typ);
    const unsecured = new UnsecuredJWT(decodeJwt(token)).encode();
    return UnsecuredJWT.decode(unsecured, claimRules).payload;
  };

  const verify = async (token: string): Promise<JWTPayload> => {
    const header = decodeProtectedHeader(token);
    if (flaw === 'decode-only') return checkClaims(token);
    if (flaw === 'allows-none' && header.alg === 'none') return checkClaims(token);
    if (flaw === 'hmac-with-pem' && header.alg === 'HS256') {
      const jwk = published.find((k) => k.kid === header.kid);
      if (!jwk) throw new Error('unknown kid');
      const pem = createPublicKey({ key: jwk as never, format: 'jwk' })
        .export({ type: 'spki', format: 'pem' })
        .toString();
      const [h, p, s = ''] = token.split('.');
      const mac = createHmac('sha256', pem).update(`${h}.${p}`).digest();
      const given = Buffer.from(base64url.decode(s));
      if (given.length !== mac.length || !timingSafeEqual(given, mac)) {
        throw new Error('bad signature');
      }
      return checkClaims(token);
    }
    try {
      const verified = await jwtVerify(token, keys, {
        ...claimRules,
        algorithms: ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'],
      });
      checkTyp(verified.protectedHeader.typ);
      return verified.payload;
    } catch (err) {
      if (flaw === 'ignores-exp' && err instanceof errors.JWTExpired && err.claim === 'exp') {
        return err.payload;
      }
      throw err;
    }
  };

  const server = createServer(async (req, res) => {
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!token) return send(401, { error: 'invalid_token' }, { 'www-authenticate': 'Bearer' });
    let claims: JWTPayload;
    try {
      claims = await verify(token);
    } catch (err) {
      return send(
        401,
        { error: 'invalid_token', error_description: (err as Error).message },
        { 'www-authenticate': 'Bearer error="invalid_token"' },
      );
    }
    const scopes = String(claims.scope ?? '').split(' ');
    if (!idTokens && !scopes.includes('api:read')) {
      return send(403, { error: 'insufficient_scope' });
    }
    send(200, { sub: claims.sub });
  });
  return listen(server, '/api/whoami');
}

/** Listens on a free loopback port; `url` is `path` on it. */
export async function listen(server: Server, path: string): Promise<TestApi> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
