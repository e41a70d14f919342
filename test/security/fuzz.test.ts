/**
 * A bounded fuzz run (fast-check, fixed seed): random and malformed query strings, form
 * bodies, JSON, headers, JWTs and cookies against every endpoint of a real in-process issuer,
 * and random JWKs against the key importer. Every answer must be below 500, nothing may reject
 * unhandled, and the issuer must still complete a full sign-in afterwards.
 */
import { request as httpRequest } from 'node:http';
import fc from 'fast-check';
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyError } from '../../src/errors.js';
import type { RunningIssuer } from '../../src/issuer.js';
import { parsePrivateKeys } from '../../src/keystore/import.js';
import {
  authUrl,
  Browser,
  basic,
  pkcePair,
  redeem,
  signIn,
  WEB,
  WEB_CALLBACK,
  webAuthParams,
} from '../support/flows.js';
import { startTestIssuer } from '../support/issuer.js';

const SEED = 20_261_123;
const RUNS = Number(process.env.FUZZ_RUNS ?? 150);
const ADMIN = 'admin-token-for-the-fuzz-run';

let issuer: RunningIssuer;
let url: string;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUnhandled);
  issuer = await startTestIssuer({ admin: { token: ADMIN } });
  url = issuer.url;
});
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  process.off('uncaughtException', onUnhandled);
  await issuer?.close();
});

// ---- arbitraries -------------------------------------------------------------------------

const b64 = (s: string | Uint8Array) => Buffer.from(s).toString('base64url');

const hostileKid = fc.constantFrom('../x', '*', '{a}', 'k'.repeat(10_240), '', '\u0000', '?*[]');
const joseHeader = fc.record(
  {
    alg: fc.constantFrom('none', 'RS256', 'HS256', 'ES256', 'EdDSA', 'PS256', 'nOnE', 'dir'),
    kid: fc.oneof(hostileKid, fc.string()),
    typ: fc.constantFrom('JWT', 'at+jwt', 'logout+jwt', 'dpop+jwt'),
    jku: fc.constant('http://127.0.0.1:9/jwks.json'),
    x5u: fc.constant('http://127.0.0.1:9/cert.pem'),
    crit: fc.array(fc.string(), { maxLength: 2 }),
    b64: fc.boolean(),
    zip: fc.constant('DEF'),
    jwk: fc.object({ maxDepth: 1 }),
  },
  { requiredKeys: ['alg'] },
);
const jwtClaims = fc.record(
  {
    iss: fc.oneof(fc.constant('http://placeholder'), fc.string()),
    sub: fc.oneof(fc.constantFrom('alice', 'demo-web', 'demo-service'), fc.string()),
    aud: fc.oneof(fc.constantFrom('demo-web', 'http://localhost:4000/api'), fc.string()),
    exp: fc.oneof(fc.integer(), fc.double(), fc.string()),
    iat: fc.oneof(fc.integer(), fc.string()),
    jti: fc.string(),
    nonce: fc.string(),
    sid: fc.string(),
  },
  { requiredKeys: [] },
);
/** JWT-shaped strings: well-formed segments with hostile content, or broken segments. */
const jwt = fc.oneof(
  fc
    .tuple(joseHeader, jwtClaims, fc.uint8Array({ maxLength: 300 }))
    .map(([h, p, s]) => `${b64(JSON.stringify(h))}.${b64(JSON.stringify(p))}.${b64(s)}`),
  fc
    .tuple(fc.jsonValue({ maxDepth: 3 }), fc.jsonValue({ maxDepth: 3 }))
    .map(([h, p]) => `${b64(JSON.stringify(h))}.${b64(JSON.stringify(p))}.`),
  fc.array(fc.string(), { minLength: 1, maxLength: 6 }).map((parts) => parts.join('.')),
);

const PARAMS = [
  'client_id',
  'response_type',
  'redirect_uri',
  'scope',
  'state',
  'nonce',
  'prompt',
  'max_age',
  'code_challenge',
  'code_challenge_method',
  'id_token_hint',
  'login_hint',
  'claims',
  'request',
  'request_uri',
  'resource',
  'response_mode',
  'grant_type',
  'code',
  'code_verifier',
  'refresh_token',
  'client_secret',
  'client_assertion',
  'client_assertion_type',
  'token',
  'token_type_hint',
  'post_logout_redirect_uri',
  'user_code',
  'device_code',
  'xsrf',
  'logout',
  'ui_locales',
  'acr_values',
  'authorization_details',
  'dpop_jkt',
  'csrf',
  'username',
  'password',
  'action',
];
const value = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    'demo-web',
    'demo-spa',
    'demo-service',
    'openid',
    'openid profile offline_access api:read',
    'code',
    'none',
    'login consent',
    'S256',
    'plain',
    'authorization_code',
    'refresh_token',
    'client_credentials',
    'urn:ietf:params:oauth:grant-type:device_code',
    'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    WEB_CALLBACK,
    'http://localhost:4000/api',
    'urn:ietf:params:oauth:request_uri:abc',
    'http://evil.example/cb',
    '',
    'null',
    '[]',
    '{}',
    '%',
    'a'.repeat(43),
    'x'.repeat(5000),
  ),
  jwt,
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc.integer().map(String),
);
const pairs = fc.array(fc.tuple(fc.oneof(fc.constantFrom(...PARAMS), fc.string()), value), {
  maxLength: 12,
});

/** A query string: properly encoded pairs, sometimes followed by raw percent-junk. */
const query = fc
  .tuple(pairs, fc.option(fc.string({ maxLength: 20 }), { nil: undefined }))
  .map(([ps, junk]) => {
    const q = new URLSearchParams(ps).toString();
    return junk === undefined ? q : `${q}&${asciiSafe(junk)}%${asciiSafe(junk).slice(0, 2)}`;
  });

type Body = { type?: string; data?: Buffer };
const body: fc.Arbitrary<Body> = fc.oneof(
  pairs.map((ps) => ({
    type: 'application/x-www-form-urlencoded',
    data: Buffer.from(new URLSearchParams(ps).toString()),
  })),
  fc.jsonValue({ maxDepth: 5 }).map((v) => ({
    type: 'application/json',
    data: Buffer.from(JSON.stringify(v) ?? 'null'),
  })),
  fc
    .tuple(
      fc.constantFrom(
        'application/x-www-form-urlencoded',
        'application/json',
        'text/plain',
        'multipart/form-data; boundary=zz',
        'application/x-www-form-urlencoded; charset=latin1',
        'application/x-www-form-urlencoded; charset=utf-16le',
        'application/jwt',
        '*/*',
      ),
      fc.uint8Array({ maxLength: 2048 }),
    )
    .map(([type, bytes]) => ({ type, data: Buffer.from(bytes) })),
  fc.constant({}),
);

/** Header values a real client could put on the wire (Node refuses control characters). */
function asciiSafe(s: string): string {
  return [...s]
    .map((c) => {
      const code = c.codePointAt(0) ?? 0;
      return code >= 0x21 && code <= 0x7e && !'#?/ '.includes(c) ? c : '';
    })
    .join('');
}
const authorization = fc.oneof(
  fc.constant(undefined),
  fc.constant(basic(WEB.id, WEB.secret)),
  fc.constant(basic('demo-service', 'demo-service-secret')),
  fc.constant(`Bearer ${ADMIN}`),
  fc.tuple(fc.string(), fc.string()).map(([u, p]) => `Basic ${b64(`${u}:${p}`)}`),
  fc.string().map((s) => `Basic ${asciiSafe(s)}`),
  jwt.map((t) => `Bearer ${asciiSafe(t).slice(0, 12_000)}`),
  jwt.map((t) => `DPoP ${asciiSafe(t).slice(0, 12_000)}`),
  fc.string().map(asciiSafe),
);
const headers = fc.record(
  {
    authorization,
    cookie: fc
      .array(
        fc.tuple(
          fc.constantFrom('_session', '_session.sig', '_interaction', '_interaction_resume', 'x'),
          fc.string(),
        ),
        { maxLength: 4 },
      )
      .map((cs) => cs.map(([k, v]) => `${k}=${asciiSafe(v)}`).join('; ')),
    accept: fc.constantFrom('text/html', 'application/json', '*/*', 'image/png', ''),
    origin: fc.constantFrom('http://localhost:5173', 'http://evil.example', 'null'),
    dpop: jwt.map((t) => asciiSafe(t).slice(0, 8000)),
    'x-forwarded-proto': fc.constantFrom('https', 'http', 'gopher'),
    'x-forwarded-host': fc.string().map(asciiSafe),
    'if-none-match': fc.string().map(asciiSafe),
  },
  { requiredKeys: [] },
);

// ---- the run -----------------------------------------------------------------------------

interface Answer {
  status: number;
  text: string;
}

function send(
  method: string,
  path: string,
  hdrs: Record<string, string | undefined>,
  b: Body = {},
): Promise<Answer> {
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(hdrs)) if (v !== undefined && v !== '') clean[k] = v;
  if (b.type) clean['content-type'] = b.type;
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}${path}`, { method, headers: clean }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(b.data);
  });
}

function expectBelow500(answer: Answer, what: string) {
  if (answer.status >= 500) {
    throw new Error(`${what} → ${answer.status}: ${answer.text.slice(0, 400)}`);
  }
}

const ENDPOINTS: [method: string, path: string][] = [
  ['GET', '/.well-known/openid-configuration'],
  ['GET', '/jwks'],
  ['GET', '/.well-known/jwks.json'],
  ['GET', '/auth'],
  ['POST', '/auth'],
  ['POST', '/token'],
  ['GET', '/me'],
  ['POST', '/me'],
  ['POST', '/token/introspection'],
  ['POST', '/token/revocation'],
  ['GET', '/session/end'],
  ['POST', '/session/end'],
  ['POST', '/session/end/confirm'],
  ['POST', '/device/auth'],
  ['GET', '/device'],
  ['POST', '/device'],
  ['POST', '/request'],
  ['GET', '/interaction/not-a-real-uid'],
  ['POST', '/interaction/not-a-real-uid/login'],
  ['GET', '/admin/keys'],
  ['POST', '/admin/keys/rotate'],
  ['POST', '/admin/keys/not-a-kid/revoke'],
  ['POST', '/admin/tokens'],
  ['OPTIONS', '/token'],
  ['GET', '/readyz'],
];

describe('fuzzing every endpoint', () => {
  it.each(ENDPOINTS)('%s %s', async (method, path) => {
    await fc.assert(
      fc.asyncProperty(query, headers, body, async (q, h, b) => {
        const target = q ? `${path}?${q}` : path;
        const answer = await send(method, target, h, method === 'GET' ? {} : b);
        expectBelow500(answer, `${method} ${target.slice(0, 300)}`);
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
  });

  it('random paths and methods', async () => {
    const segment = fc.string({ maxLength: 12 }).map(asciiSafe);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'),
        fc.array(
          fc.oneof(
            segment,
            fc.constantFrom('auth', 'token', 'interaction', 'admin', 'keys', '..', '%2e%2e', '%'),
          ),
          { maxLength: 5 },
        ),
        headers,
        body,
        async (method, segments, h, b) => {
          const path = `/${segments.join('/')}`;
          const answer = await send(
            method,
            path,
            h,
            method === 'GET' || method === 'HEAD' ? {} : b,
          );
          expectBelow500(answer, `${method} ${path}`);
        },
      ),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
  });

  it('login forms of live interactions with random fields (usernames, claims JSON)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string(), fc.constantFrom('alice', 'bob', ' ', 'a'.repeat(300))),
        fc.string(),
        fc.oneof(
          fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.stringify(v)),
          fc.string(),
          fc.constant(''),
        ),
        fc.constantFrom('login', 'pick', 'abort', 'confirm', ''),
        async (username, password, claims, action) => {
          const browser = new Browser();
          const { challenge } = pkcePair();
          const login = await browser.follow(
            authUrl(url, webAuthParams(challenge)),
            {},
            WEB_CALLBACK,
          );
          const uid = /\/interaction\/([^/"]+)\/login/.exec(login.body)?.[1];
          const csrf = /name="csrf" value="([^"]+)"/.exec(login.body)?.[1] ?? '';
          const route = action === 'abort' || action === 'confirm' ? action : 'login';
          const res = await browser.follow(
            `${url}/interaction/${uid}/${route}`,
            {
              method: 'POST',
              headers: { 'content-type': 'application/x-www-form-urlencoded' },
              body: new URLSearchParams({ csrf, username, password, claims, action }),
            },
            WEB_CALLBACK,
          );
          expect(res.status === 0 || res.status < 500, `${res.status}: ${res.body}`).toBe(true);
        },
      ),
      { seed: SEED, numRuns: Math.ceil(RUNS / 2), endOnFailure: true },
    );
  });

  it('random JWKs and key files → a key or a KeyError, nothing else', async () => {
    const rsa = await exportJWK((await generateKeyPair('RS256', { extractable: true })).privateKey);
    const ec = await exportJWK((await generateKeyPair('ES256', { extractable: true })).privateKey);
    const b64member = fc.uint8Array({ maxLength: 300 }).map((u) => b64(u));
    const randomJwk = fc.record(
      {
        kty: fc.oneof(fc.constantFrom('RSA', 'EC', 'OKP', 'oct', 'AKP'), fc.string()),
        crv: fc.constantFrom('P-256', 'P-384', 'P-521', 'Ed25519', 'X25519', 'secp256k1'),
        alg: fc.oneof(fc.constantFrom('RS256', 'ES256', 'EdDSA', 'HS256', 'none'), fc.string()),
        use: fc.constantFrom('sig', 'enc', ''),
        kid: fc.oneof(hostileKid, fc.string()),
        n: b64member,
        e: fc.constantFrom('AQAB', 'Aw', '', 'AAAA'),
        d: b64member,
        p: b64member,
        q: b64member,
        x: b64member,
        y: b64member,
        k: b64member,
      },
      { requiredKeys: ['kty'] },
    );
    const mutated = fc
      .tuple(
        fc.constantFrom(rsa, ec),
        fc.constantFrom('n', 'e', 'd', 'p', 'q', 'dp', 'x', 'y', 'crv', 'kty'),
        fc.oneof(b64member, fc.jsonValue({ maxDepth: 2 })),
      )
      .map(([key, member, v]) => ({ ...key, [member]: v }));
    const input = fc.oneof(
      randomJwk.map((j) => JSON.stringify(j)),
      mutated.map((j) => JSON.stringify(j)),
      fc
        .array(fc.oneof(randomJwk, mutated), { maxLength: 4 })
        .map((keys) => JSON.stringify({ keys })),
      fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v) ?? ''),
      fc
        .tuple(
          fc.constantFrom('PRIVATE KEY', 'RSA PRIVATE KEY', 'EC PRIVATE KEY', 'PUBLIC KEY'),
          fc.uint8Array({ maxLength: 600 }),
        )
        .map(
          ([label, der]) =>
            `-----BEGIN ${label}-----\n${Buffer.from(der).toString('base64')}\n-----END ${label}-----`,
        ),
      fc.string(),
    );
    await fc.assert(
      fc.asyncProperty(input, async (text) => {
        try {
          const keys = await parsePrivateKeys(text);
          for (const k of keys) {
            expect(k.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
            expect(k.use).toBe('sig');
          }
        } catch (err) {
          if (!(err instanceof KeyError)) throw err;
        }
      }),
      { seed: SEED, numRuns: RUNS * 2, endOnFailure: true },
    );
  });

  it('afterwards: nothing rejected unhandled, and a full sign-in still works', async () => {
    expect(unhandled).toEqual([]);
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    const { code, verifier } = await signIn(url, new Browser());
    const tokens = await redeem(url, code, verifier);
    expect(tokens.status).toBe(200);
  });
});
