/**
 * A bounded fuzz run (fast-check, fixed seed) against a real in-process issuer, once on the
 * memory store (behind a trusted proxy, so X-Forwarded-* count) and once on a real Redis:
 *
 * - every route — the endpoints discovery advertises and every route of our own routers — with
 *   path suffixes, each hostile header set (Host, X-Forwarded-*, Content-Type, Accept, Cookie)
 *   and each hostile body (deep, long, wrong type, invalid UTF-8), as a fixed matrix;
 * - random requests: any of those routes, random queries, headers, bodies and JWTs;
 * - login forms of live interactions with random fields; random JWKs against the key importer.
 *
 * Every answer must be below 500, no log line may be at error level (or printed to stderr),
 * nothing may reject unhandled, and the issuer must still complete a full sign-in afterwards.
 * FUZZ_RUNS scales the random parts (default 150: 600 random requests per store).
 */
import { request as httpRequest } from 'node:http';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { KeyError } from '../../src/errors.js';
import { ownRoutes } from '../../src/http/app.js';
import type { RunningIssuer } from '../../src/issuer.js';
import { parsePrivateKeys } from '../../src/keystore/material.js';
import { createLogger } from '../../src/log.js';
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
import { startRedis, type TestRedis, uniqueNamespace } from '../support/redis.js';

const SEED = 20_261_123;
const RUNS = Number(process.env.FUZZ_RUNS ?? 150);
const ADMIN = 'admin-token-for-the-fuzz-run';

type Body = { type?: string; data?: Buffer };

const b64 = (s: string | Uint8Array) => Buffer.from(s).toString('base64url');

// ---- hostile pieces, each sent to every route by the matrix below -----------------------

const deepJson = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
const deepObject = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
const FORM = 'application/x-www-form-urlencoded';
const JSON_TYPE = 'application/json';

/** Bodies that are deep, long, of the wrong type or not UTF-8. */
const HOSTILE_BODIES: Body[] = [
  { type: JSON_TYPE, data: Buffer.from(deepJson(20_000)) },
  { type: JSON_TYPE, data: Buffer.from(deepObject(5_000)) },
  { type: JSON_TYPE, data: Buffer.from(`{"claims":${deepObject(2_000)},"sub":"x"}`) },
  { type: FORM, data: Buffer.from(`a${'[b]'.repeat(5_000)}=1`) },
  { type: FORM, data: Buffer.from(`claims=${encodeURIComponent(deepObject(3_000))}`) },
  { type: FORM, data: Buffer.from(`login_hint=${'a'.repeat(50_000)}&client_id=demo-web`) },
  { type: FORM, data: Buffer.from(`x=${'y'.repeat(200_000)}`) },
  { type: JSON_TYPE, data: Buffer.from(JSON.stringify({ s: 'z'.repeat(100_000) })) },
  { type: JSON_TYPE, data: Buffer.from('"a string"') },
  { type: JSON_TYPE, data: Buffer.from('[1,2,3]') },
  { type: JSON_TYPE, data: Buffer.from('12345') },
  { type: JSON_TYPE, data: Buffer.from('null') },
  { type: JSON_TYPE, data: Buffer.from('{"sub":{"a":1},"ttl":"x","claims":[],"alg":7}') },
  { type: FORM, data: Buffer.from('{"grant_type":"client_credentials"}') },
  { type: JSON_TYPE, data: Buffer.from('grant_type=client_credentials') },
  { type: FORM, data: Buffer.from([0x67, 0x3d, 0xff, 0xfe, 0xc0, 0x80, 0xed, 0xa0, 0x80]) },
  { type: JSON_TYPE, data: Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]) },
  { type: FORM, data: Buffer.from('a=%ff%fe&b=%ed%a0%80&c=%zz&d=%&e=%00') },
  { type: `${FORM}; charset=utf-16le`, data: Buffer.from('g=1', 'utf16le') },
  { type: 'multipart/form-data', data: Buffer.from('--x\r\n\r\n') },
  { type: 'text/plain', data: Buffer.from('\u0000\u0001') },
  { data: Buffer.from('no content type at all') },
];

const HOSTILE_HOSTS = [
  'a b',
  'a<b',
  '[::1',
  'a:99999',
  'evil.example',
  '[::g]',
  'a@b',
  'x'.repeat(300),
];

const HOSTILE_COOKIES = [
  `_session=${'s'.repeat(8000)}`,
  '_session=; _session.sig=; _session=x',
  '_interaction=%ff%fe; _interaction.sig=%',
  '=; ;;; =x',
  '_session=a'.repeat(400),
];

const ACCEPTS = [
  'text/html',
  'application/json',
  '*/*',
  'image/png',
  'text/html;q=0',
  '',
  ';;;',
  'x'.repeat(2000),
];

const CONTENT_TYPES = [
  FORM,
  JSON_TYPE,
  `${FORM}; charset=latin1`,
  `${JSON_TYPE}; charset=utf-16`,
  'multipart/form-data',
  'application/jwt',
  ';;;',
  'x/'.repeat(300),
];

/** Header sets that each break one thing; every route gets each of them once. */
const HOSTILE_HEADER_SETS: Record<string, string>[] = [
  ...HOSTILE_HOSTS.slice(0, 4).map((host) => ({ host })),
  { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'gopher' },
  { 'x-forwarded-host': 'a b', 'x-forwarded-for': 'not-an-ip', 'x-forwarded-port': '99999' },
  { 'x-forwarded-proto': 'https, http', 'x-forwarded-host': 'localhost, evil.example' },
  ...HOSTILE_COOKIES.map((cookie) => ({ cookie })),
  ...ACCEPTS.slice(4).map((accept) => ({ accept })),
  ...CONTENT_TYPES.slice(2).map((type) => ({ 'content-type': type })),
  { authorization: `Basic ${b64(':')}`, 'if-none-match': '*' },
  { authorization: 'Bearer', 'content-length': '0' },
];

/** Added to every route's path. */
const PATH_SUFFIXES = [
  '',
  '/',
  '/x',
  '/%ff',
  '/..%2f..',
  `/${'a'.repeat(600)}`,
  '//',
  ';x',
  '.json',
];

// ---- arbitraries -------------------------------------------------------------------------

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
  fc.constantFrom(...HOSTILE_BODIES),
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
/** Host values: mostly the issuer's own (so requests reach the routes), sometimes hostile. */
const hostHeader = fc.oneof(
  { weight: 8, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_HOSTS) },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }).map(asciiSafe) },
);
const headers = fc.record(
  {
    host: hostHeader,
    authorization,
    cookie: fc.oneof(
      fc
        .array(
          fc.tuple(
            fc.constantFrom('_session', '_session.sig', '_interaction', '_interaction_resume', 'x'),
            fc.string(),
          ),
          { maxLength: 4 },
        )
        .map((cs) => cs.map(([k, v]) => `${k}=${asciiSafe(v)}`).join('; ')),
      fc.constantFrom(...HOSTILE_COOKIES),
    ),
    accept: fc.constantFrom(...ACCEPTS),
    'content-type': fc.constantFrom(...CONTENT_TYPES),
    origin: fc.constantFrom('http://localhost:5173', 'http://evil.example', 'null'),
    dpop: jwt.map((t) => asciiSafe(t).slice(0, 8000)),
    'x-forwarded-proto': fc.constantFrom('https', 'http', 'gopher', 'https, http', '', 'a b'),
    'x-forwarded-host': fc.oneof(
      fc.constantFrom('localhost', '127.0.0.1:9', ...HOSTILE_HOSTS),
      fc.string().map(asciiSafe),
    ),
    'x-forwarded-for': fc.constantFrom('1.2.3.4', 'not-an-ip', '1.2.3.4, ::1', '[::1', ''),
    'x-forwarded-port': fc.constantFrom('443', '99999', 'x'),
    'if-none-match': fc.string().map(asciiSafe),
  },
  { requiredKeys: [] },
);
// ---- the run -----------------------------------------------------------------------------

interface Answer {
  status: number;
  text: string;
}

/** Sends one request; `host` in `hdrs` replaces the real Host. Transport errors count as answers. */
function send(
  base: string,
  method: string,
  path: string,
  hdrs: Record<string, string | undefined>,
  b: Body = {},
): Promise<Answer> {
  const clean: Record<string, string> = {};
  if (b.type) clean['content-type'] = b.type;
  // Framed like any real client's body (Node sends none for OPTIONS or DELETE otherwise).
  if (b.data) clean['content-length'] = String(b.data.length);
  for (const [k, v] of Object.entries(hdrs)) if (v !== undefined && v !== '') clean[k] = v;
  return new Promise((resolve) => {
    let req: ReturnType<typeof httpRequest>;
    try {
      req = httpRequest(`${base}${path}`, { method, headers: clean }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }),
        );
        res.on('error', () => resolve({ status: 0, text: 'response aborted' }));
      });
    } catch (err) {
      // Node's client refuses some header values outright; nothing reached the issuer.
      resolve({ status: 0, text: String(err) });
      return;
    }
    // The issuer may answer and close before reading a body it refuses (413, 400).
    req.on('error', (err) => resolve({ status: 0, text: err.message }));
    req.end(b.data);
  });
}

function expectBelow500(answer: Answer, what: string) {
  if (answer.status >= 500) {
    throw new Error(`${what} → ${answer.status}: ${answer.text.slice(0, 400)}`);
  }
}

/** Runs `tasks` `width` at a time. */
async function pool<T>(items: T[], width: number, task: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await task(items[next++] as T);
    }),
  );
}

/** Concrete values for route parameters: a plausible one and hostile ones. */
const PARAMS_IN_PATHS = ['x', 'a'.repeat(600), '%ff', '..', 'style.css'];

/** Every (method, path) to fuzz: discovery's endpoints and our own routes, parameters filled. */
async function routesOf(issuer: RunningIssuer): Promise<[method: string, path: string][]> {
  const discovery = (await (
    await fetch(`${issuer.url}/.well-known/openid-configuration`)
  ).json()) as Record<string, unknown>;
  const advertised = Object.entries(discovery)
    .filter(([, v]) => typeof v === 'string' && v.startsWith(issuer.url))
    .map(([, v]) => new URL(String(v)).pathname);
  const targets = new Map<string, [string, string]>();
  const add = (method: string, path: string) => targets.set(`${method} ${path}`, [method, path]);
  add('GET', '/.well-known/openid-configuration');
  add('GET', '/.well-known/oauth-authorization-server');
  for (const path of advertised) for (const method of ['GET', 'POST', 'OPTIONS']) add(method, path);
  for (const path of ['/session/end/confirm', '/session/end/success', '/device/x', '/auth/x']) {
    add('GET', path);
    add('POST', path);
  }
  const own = ownRoutes(issuer.app).filter((r) => r.methods.length > 0);
  expect(own.length).toBeGreaterThan(10);
  for (const route of own) {
    const filled = PARAMS_IN_PATHS.map((value) => route.path.replace(/:\w+/g, value));
    for (const path of new Set(filled)) for (const method of route.methods) add(method, path);
  }
  return [...targets.values()];
}

/**
 * Collects what a green run must not produce: log lines at error level or above, and anything
 * printed to stderr through console.error (koa's default error printer).
 */
function errorCollector() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) {
        if (!line) continue;
        const level = (JSON.parse(line) as { level?: number }).level ?? 0;
        if (level >= 50) lines.push(line.slice(0, 1500));
      }
      done();
    },
  });
  return { lines, logger: createLogger('warn', sink) };
}

const MODES = [
  { name: 'memory store, trusted proxy', redis: false },
  { name: 'Redis store', redis: true },
] as const;

describe.each(MODES)('fuzzing every route ($name)', ({ redis: useRedis }) => {
  let issuer: RunningIssuer;
  let url: string;
  let redis: TestRedis | undefined;
  let targets: [string, string][];
  const errors = errorCollector();
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  const consoleErrors = vi.fn();
  let restoreConsole: () => void = () => {};

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    process.on('uncaughtException', onUnhandled);
    const spy = vi.spyOn(console, 'error').mockImplementation(consoleErrors);
    restoreConsole = () => spy.mockRestore();
    redis = useRedis ? await startRedis() : undefined;
    issuer = await startTestIssuer(
      {
        admin: { token: ADMIN },
        login: { userPicker: true, anyUser: true, headless: true },
        trustProxy: !useRedis,
        ...(redis ? { redis: { url: redis.url, namespace: uniqueNamespace('fuzz') } } : {}),
      },
      true,
      errors.logger,
    );
    url = issuer.url;
    targets = await routesOf(issuer);
  });
  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    process.off('uncaughtException', onUnhandled);
    restoreConsole();
    await issuer?.close();
    await redis?.stop();
  });

  /** No error-level log line and nothing printed to stderr so far. */
  const expectNoErrorLogs = () => {
    expect(errors.lines, 'error log lines').toEqual([]);
    expect(
      consoleErrors.mock.calls.map((c) => String(c[0]).slice(0, 300)),
      'stderr',
    ).toEqual([]);
  };

  it('every route × path suffix × hostile headers and bodies (fixed matrix)', async () => {
    // Each route gets every path suffix, and a rotating share of the hostile header sets and
    // bodies, so that over the whole matrix every route meets every category.
    const cases: [method: string, path: string, hdrs: Record<string, string>, body: Body][] = [];
    const rounds = Math.max(PATH_SUFFIXES.length, 12);
    targets.forEach(([method, path], t) => {
      for (let i = 0; i < rounds; i++) {
        const suffix = PATH_SUFFIXES[i % PATH_SUFFIXES.length] ?? '';
        // Every third request carries valid credentials, so hostile bodies reach the parsers
        // behind client and admin authentication (token endpoint, POST /admin/tokens, …).
        const credentials = {
          authorization: path.startsWith('/admin') ? `Bearer ${ADMIN}` : basic(WEB.id, WEB.secret),
        };
        const hdrs =
          i % 3 === 2
            ? credentials
            : (HOSTILE_HEADER_SETS[(t + i) % HOSTILE_HEADER_SETS.length] ?? {});
        const b = HOSTILE_BODIES[(t * 5 + i) % HOSTILE_BODIES.length] ?? {};
        cases.push([method, `${path}${suffix}`, hdrs, method === 'GET' ? {} : b]);
      }
    });
    await pool(cases, 4, async ([method, path, hdrs, body]) => {
      const answer = await send(url, method, path, hdrs, body);
      expectBelow500(
        answer,
        `${method} ${path.slice(0, 200)} ${JSON.stringify(hdrs).slice(0, 200)} body ${String(body.type)} ${body.data?.length ?? 0} B`,
      );
    });
    expectNoErrorLogs();
  });

  it('random requests to every route', async () => {
    const suffix = fc.oneof(
      { weight: 3, arbitrary: fc.constant('') },
      { weight: 1, arbitrary: fc.constantFrom(...PATH_SUFFIXES) },
      { weight: 1, arbitrary: fc.string({ maxLength: 12 }).map((s) => `/${asciiSafe(s)}`) },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...targets),
        fc.constantFrom('GET', 'POST', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH'),
        suffix,
        query,
        headers,
        body,
        async ([routeMethod, path], otherMethod, tail, q, h, b) => {
          const method = Math.random() < 0.8 ? routeMethod : otherMethod;
          const target = `${path}${tail}${q ? `?${q}` : ''}`;
          const answer = await send(
            url,
            method,
            target,
            h,
            method === 'GET' || method === 'HEAD' ? {} : b,
          );
          expectBelow500(
            answer,
            `${method} ${target.slice(0, 300)} ${JSON.stringify(h).slice(0, 300)}`,
          );
        },
      ),
      { seed: SEED, numRuns: RUNS * 4, endOnFailure: true },
    );
    expectNoErrorLogs();
  });

  it('login forms of live interactions with random fields (usernames, claims JSON)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string(),
          fc.constantFrom('alice', 'bob', ' ', '\n', 'a'.repeat(300), 'demo-service'),
        ),
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
      { seed: SEED, numRuns: Math.ceil(RUNS / 4), endOnFailure: true },
    );
    expectNoErrorLogs();
  });

  it('afterwards: no error logs, nothing rejected unhandled, and a full sign-in still works', async () => {
    expect(unhandled).toEqual([]);
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    const { code, verifier } = await signIn(url, new Browser());
    const tokens = await redeem(url, code, verifier);
    expect(tokens.status).toBe(200);
    expectNoErrorLogs();
  });
});

describe('fuzzing the key importer', () => {
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
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
  });
});
