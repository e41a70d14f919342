/**
 * The issuer's config schema (zod): every setting with its default and doc comment. Over 300
 * lines on purpose: it is the one schema, read as a whole, that validation and `config describe`
 * (its JSON Schema) both walk; the rules that span fields live in cross-field-rules.ts.
 */
import { accessSync, constants } from 'node:fs';
import { z } from 'zod';
import { DEFAULT_SIGNING_ALG, SIGNING_ALGS } from '../algorithms.js';
import {
  clientJwkProblems,
  originProblems,
  PRINTABLE_ASCII,
  redirectUriProblems,
  resourceIndicatorProblems,
} from './client-rules.js';
import { parseDuration } from './duration.js';
import { DEVICE_CODE_GRANT, TOKEN_EXCHANGE_GRANT } from './grant-types.js';
import { isHostPattern, LOOPBACK_HOSTS } from './hosts.js';
import {
  isSentinelUrl,
  isTlsUrl,
  NEEDS_SENTINEL_URL,
  NEEDS_TLS_URL,
  redisUrlProblems,
} from './redis-url.js';
import { checkUsername } from './username.js';

/** A duration in config: seconds as a number, or `"15s"`, `"10m"`, `"1h"`, `"30d"`. Parsed to ms. */
export const duration = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const ms = parseDuration(value);
  if (ms === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `must be a duration such as 30s, 10m, 1h or 30d (got ${JSON.stringify(value)})`,
    });
    return z.NEVER;
  }
  return ms;
});

/** A secret: `writeOnly` in the JSON Schema, and `config print` masks it. */
export const SECRET = { writeOnly: true } as const;

/** A path to a file this process can read (checked when the config is validated). */
const readableFile = z
  .string()
  .min(1)
  .superRefine((file, ctx) => {
    try {
      accessSync(file, constants.R_OK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      ctx.addIssue({ code: 'custom', message: `cannot read ${JSON.stringify(file)} (${code})` });
    }
  });

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

/** A string checked by `problemsOf`, one issue per problem it returns. */
function checked<T>(base: z.ZodType<T>, problemsOf: (value: T) => string[]) {
  return base.superRefine((value, ctx) => {
    for (const message of problemsOf(value)) ctx.addIssue({ code: 'custom', message });
  });
}
const redirectUri = checked(z.string(), redirectUriProblems);
const printable = z
  .string()
  .min(1)
  .regex(
    PRINTABLE_ASCII,
    'must be printable ASCII (no tabs, newlines or other non-ASCII characters)',
  );

/** A TCP port; a string (from PORT or YAML) is read as a number. */
const port = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const n = typeof value === 'number' ? value : /^\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    ctx.addIssue({
      code: 'custom',
      message: `must be a port number from 0 to 65535 (got ${JSON.stringify(value)})`,
    });
    return z.NEVER;
  }
  return n;
});
/** The in-process store's bounds when `memoryStore` does not set them. */
export const MEMORY_STORE_DEFAULTS = { maxEntries: 100_000, maxBytes: 64 * 1024 * 1024 } as const;

const alg = z.enum(SIGNING_ALGS);

const grantType = z
  .enum([
    'authorization_code',
    'refresh_token',
    'client_credentials',
    'device_code',
    DEVICE_CODE_GRANT,
    'token-exchange',
    TOKEN_EXCHANGE_GRANT,
    // Resource owner password credentials (RFC 6749 §4.3): configured users only, see
    // config/password-grant-rules.ts. RFC 9700 says it must not be used; test automation only.
    'password',
  ])
  // Config may name a grant type with a URN by its short name.
  .transform((g) =>
    g === 'device_code' ? DEVICE_CODE_GRANT : g === 'token-exchange' ? TOKEN_EXCHANGE_GRANT : g,
  );

/** The login username rule, plus: no surrounding spaces (the form trims what is typed). */
function usernameRule(value: string, ctx: z.RefinementCtx): void {
  const checked = checkUsername(value);
  if ('problem' in checked) ctx.addIssue({ code: 'custom', message: checked.problem });
  else if (checked.username !== value)
    ctx.addIssue({ code: 'custom', message: 'must not start or end with spaces' });
}

/**
 * A test user. `claims` are released per granted scope (see `scopes`) in ID tokens and
 * userinfo; claims that no scope releases (e.g. `roles`) go into the user's access tokens.
 */
const user = z.strictObject({
  /** Subject identifier; defaults to the username. Follows the username rule. */
  sub: z.string().superRefine(usernameRule).optional(),
  /** Up to 256 characters, no control characters, no surrounding spaces (see config/username.ts). */
  username: z.string().superRefine(usernameRule),
  password: z.string().min(1).meta(SECRET),
  claims: z.record(z.string(), z.unknown()).default({}),
});

/** A registered client. No `secret` means a public client (PKCE, no client authentication). */
const client = z.strictObject({
  id: printable,
  name: z.string().optional(),
  secret: printable.meta(SECRET).optional(),
  /**
   * Token endpoint authentication. Default: `client_secret_basic` with a secret, `none` without.
   * `client_secret_jwt` needs `secret`; `private_key_jwt` needs `jwks` (public keys only).
   */
  authMethod: z
    .enum(['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt'])
    .optional(),
  /** The client's public keys for `private_key_jwt` (a JWK set). */
  jwks: z
    .strictObject({
      keys: z.array(checked(z.record(z.string(), z.unknown()), clientJwkProblems)).min(1),
    })
    .optional(),
  redirectUris: z.array(redirectUri).default([]),
  postLogoutRedirectUris: z.array(redirectUri).default([]),
  grantTypes: z.array(grantType).min(1).default(['authorization_code', 'refresh_token']),
  scopes: z
    .array(z.string().min(1))
    .min(1, 'must list at least one scope (oidc-provider refuses a client with an empty scope)')
    .default(['openid', 'profile', 'email', 'offline_access']),
  /** Audiences (resource server `audience` values) this client may get access tokens for. */
  resources: z.array(z.string().min(1)).default([]),
  /**
   * The resource a user login (code, refresh, device) or a client_credentials request gets its
   * access token for when it sends no `resource`; one of `resources`. Default: the first of
   * `resources`. The token is then an RFC 9068 JWT (unless that resource server is opaque) that
   * also works at userinfo.
   */
  defaultResource: z.string().min(1).optional(),
  /**
   * Audiences (resource server `audience` values) this client serves: it may introspect access
   * tokens for them whichever client they were issued to. Set it on the client an API
   * authenticates with. Without it a client introspects only its own tokens; any other token
   * answers `active: false`. Refresh tokens are only ever introspected by their own client.
   */
  introspects: z.array(z.string().min(1)).default([]),
  /** First-party client: no consent page. */
  skipConsent: z.boolean().default(false),
  idTokenSigningAlg: alg.optional(),
  /** Overrides the resource server's access token format for this client. */
  accessTokenFormat: z.enum(['jwt', 'opaque']).optional(),
  /** Browser origins allowed to call the token endpoint for this client (CORS). */
  corsOrigins: z.array(checked(z.string(), originProblems)).default([]),
  /**
   * With the `token-exchange` grant: also accept, as `subject_token`, an ID token this issuer
   * issued to this client (`subject_token_type` `urn:ietf:params:oauth:token-type:id_token`).
   */
  exchangeIdTokens: z.boolean().default(false),
});

/** An API that receives access tokens. */
const resourceServer = z.strictObject({
  /** The API's resource indicator (RFC 8707): an absolute URI; the `aud` of its tokens. */
  audience: checked(z.string(), resourceIndicatorProblems),
  scopes: z.array(z.string().min(1)).default([]),
  accessTokenTtl: duration.prefault(3600),
  format: z.enum(['jwt', 'opaque']).default('jwt'),
  signingAlg: alg.optional(),
});

const ttl = z
  .strictObject({
    accessToken: duration.prefault('1h'),
    idToken: duration.prefault('1h'),
    refreshToken: duration.prefault('14d'),
    authorizationCode: duration.prefault('60s'),
    clientCredentials: duration.prefault('1h'),
    deviceCode: duration.prefault('10m'),
    interaction: duration.prefault('1h'),
    session: duration.prefault('14d'),
    grant: duration.prefault('14d'),
  })
  .prefault({});

const keys = z
  .strictObject({
    /** One key lifecycle per algorithm; the first is the default for ID tokens. */
    algorithms: z.array(alg).min(1).default([DEFAULT_SIGNING_ALG]),
    rotationPeriod: duration.prefault('30d'),
    prePublication: duration.prefault('2d'),
    retention: duration.prefault('30d'),
    /** Encrypts private keys at rest (AES-256-GCM). Without it keys are stored in plain text. */
    secret: z.string().min(16, 'must be at least 16 characters').meta(SECRET).optional(),
    /**
     * Accept a key ring stored unencrypted while `secret` is set, and encrypt it at start. Turn
     * it on for one start when adding a secret to a ring in use; leave it off otherwise, so
     * nobody with write access to the store can plant plaintext keys.
     */
    acceptPlaintextRing: z.boolean().default(false),
    /** Folder for the key ring file (memory mode) and PEM/JWK files imported at start. */
    dir: z.string().min(1).default('keys'),
    /** How often each instance re-reads the shared ring in case a change notice was missed. */
    refreshInterval: duration.prefault('5s'),
  })
  .prefault({});

const login = z
  .strictObject({
    /**
     * Login page lists the test users for a one-click pick, without a password. Off unless set;
     * the demo config turns it on. Warned about when served on a non-loopback address.
     */
    userPicker: z.boolean().default(false),
    /**
     * Any username logs in, with optional JSON claims typed on the page; its `sub` is the name.
     * Names equal (ignoring case) to a configured username or sub, or to a client id, are refused.
     */
    anyUser: z.boolean().default(false),
    /** `login_hint=<username>` on the authorization request logs in without showing the page. */
    headless: z.boolean().default(false),
    /**
     * Show the "Sign out?" page on RP-initiated logout. With `false` the page is skipped when the
     * request carries a valid `id_token_hint` for the signed-in user and a registered
     * `post_logout_redirect_uri` (what an end-to-end test sends); otherwise it is still shown.
     */
    confirmLogout: z.boolean().default(true),
  })
  .prefault({});

/**
 * HTTPS: `{ cert, key }` PEM files (relative paths from the config file's folder), or `auto`
 * for a certificate from a local CA kept in `<keys.dir>/tls` (made once, then reused).
 */
const pemFile = (what: string) =>
  z.string({ error: `must name ${what} (a PEM file)` }).min(1, `must name ${what} (a PEM file)`);
const tls = z.union(
  [
    z.literal('auto'),
    z.strictObject({
      /** The server certificate, optionally followed by its chain; TLS_CERT_FILE. */
      cert: pemFile('the certificate'),
      /** Its unencrypted private key; TLS_KEY_FILE. */
      key: pemFile('the private key of tls.cert'),
    }),
  ],
  { error: 'must be "auto" or { cert, key } (both PEM file paths)' },
);

export const configSchema = z.strictObject({
  /** Default `http://localhost:<port>`, `https://` with `tls`. */
  issuer: httpUrl.default('http://localhost:3000'),
  host: z.string().min(1).default('127.0.0.1'),
  port: port.default(3000),
  tls: tls.optional(),
  /** Trust X-Forwarded-* headers (behind a reverse proxy). */
  trustProxy: z.boolean().default(false),
  /**
   * Host names (besides the issuer URL's own) that requests may carry in `Host` — or in
   * `X-Forwarded-Host` behind a trusted proxy — any port. `*.example.test` allows subdomains,
   * `*` any host. Other hosts get a 400: discovery and redirects are built from that host.
   */
  allowedHosts: z
    .array(
      z.string().refine(isHostPattern, {
        error: 'must be a host name or IP address without port, *.domain, or *',
      }),
    )
    .default([...LOOPBACK_HOSTS]),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  redis: z
    .strictObject({
      /**
       * The store: `redis://[user:pass@]host:port[/db]`, `rediss://…` (TLS),
       * `redis+cluster://h1:p1,h2:p2` (`rediss+cluster://`), or
       * `redis+sentinel://[user:pass@]s1:26379,s2:26379/<master-name>[?db=n]`
       * (`rediss+sentinel://`; the user and password are the master's).
       */
      url: z
        .string()
        .superRefine((url, ctx) => {
          for (const message of redisUrlProblems(url)) ctx.addIssue({ code: 'custom', message });
        })
        .optional(),
      /** Key namespace; defaults to a short hash of the issuer URL. */
      namespace: z
        .string()
        .regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, dot, dash, underscore (≤ 64)')
        .optional(),
      /** TLS to Redis (a `rediss://` URL): the files are PEM, read at start. */
      tls: z
        .strictObject({
          /** The CA certificate(s) that sign the server's certificate, instead of the system's. */
          caFile: readableFile.optional(),
          /** A client certificate, for a Redis with `tls-auth-clients`; needs `keyFile`. */
          certFile: readableFile.optional(),
          /** The client certificate's private key. */
          keyFile: readableFile.optional(),
        })
        .optional(),
      /**
       * The Sentinels' own login (their `requirepass`, or an ACL user), for a Sentinel URL;
       * the master's is the URL's. Without it the Sentinels are asked without a login.
       */
      sentinel: z
        .strictObject({
          /** An ACL user on the Sentinels; without it, the default user. */
          username: z.string().min(1).optional(),
          password: z.string().min(1).meta(SECRET).optional(),
        })
        .optional(),
    })
    .superRefine((redis, ctx) => {
      const { tls, url, sentinel } = redis;
      if (sentinel && url !== undefined && !isSentinelUrl(url)) {
        // On the field that is set, so the message names the variable that set it.
        const field = sentinel.password !== undefined ? 'password' : 'username';
        ctx.addIssue({ code: 'custom', path: ['sentinel', field], message: NEEDS_SENTINEL_URL });
      }
      if (!tls) return;
      if (url !== undefined && !isTlsUrl(url)) {
        ctx.addIssue({ code: 'custom', path: ['tls'], message: NEEDS_TLS_URL });
      }
      if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) {
        ctx.addIssue({
          code: 'custom',
          path: ['tls', tls.certFile === undefined ? 'certFile' : 'keyFile'],
          message: 'a client certificate needs both certFile and keyFile',
        });
      }
    })
    .prefault({}),
  keys,
  ttl,
  clockTolerance: duration.prefault('15s'),
  login,
  users: z.array(user).default([]),
  clients: z.array(client).default([]),
  resourceServers: z.array(resourceServer).default([]),
  /** Scope → claim names released for it. `openid` always releases `sub`. */
  scopes: z.record(z.string(), z.array(z.string())).default({
    profile: [
      'name',
      'given_name',
      'family_name',
      'preferred_username',
      'picture',
      'locale',
      'updated_at',
    ],
    email: ['email', 'email_verified'],
  }),
  console: z
    .strictObject({
      /**
       * Serve the web console (debugger, JWK tools, key ring picture). Default: on when `host`
       * is a loopback address, off otherwise (see `consoleEnabled`).
       */
      enabled: z.boolean().optional(),
      /**
       * Origins (e.g. `http://api:4000`) the console's API probe (`/probe`) may call besides
       * loopback URLs. The issuer makes those requests, so list only APIs you mean to test.
       */
      probeTargets: z.array(httpUrl.transform((u) => new URL(u).origin)).default([]),
    })
    .prefault({}),
  /**
   * Bounds of the in-process store used without Redis (sessions, interactions, codes, tokens):
   * when either is reached, expired records go first, then the least recently used ones.
   */
  memoryStore: z
    .strictObject({
      maxEntries: z.number().int().min(1000).default(MEMORY_STORE_DEFAULTS.maxEntries),
      maxMegabytes: z
        .number()
        .min(1)
        .default(MEMORY_STORE_DEFAULTS.maxBytes / 1024 / 1024),
    })
    .prefault({}),
  /**
   * More issuers served by this process, each `{ path: /name, ...settings }` under
   * `<issuer>/<path>` (config/issuers.ts checks and resolves them).
   */
  issuers: z.array(z.unknown()).default([]),
  admin: z
    .strictObject({
      /** Bearer token for the admin API and the dev token-mint endpoint; both are off without it. */
      token: z.string().min(16, 'must be at least 16 characters').meta(SECRET).optional(),
    })
    .prefault({}),
});

export type RawConfig = z.input<typeof configSchema>;
type Parsed = z.output<typeof configSchema>;
export type UserConfig = Parsed['users'][number];
export type ClientConfig = Parsed['clients'][number];
export type ResourceServerConfig = Parsed['resourceServers'][number];

/** The validated configuration every module reads. Durations are milliseconds. */
export type IssuerConfig = Readonly<
  Omit<Parsed, 'redis' | 'users' | 'issuers'> & {
    redis: Parsed['redis'] & { namespace: string };
    users: (UserConfig & { sub: string })[];
    /** True when the built-in demo config (demo users, clients and secrets) is in use. */
    demo: boolean;
    /** Where this issuer is served below the process's origin: `''` at the top, `/azure`. */
    mountPath: string;
    /** The issuers of `issuers:`, each a whole config of its own (none inside one of them). */
    issuers: readonly IssuerConfig[];
  }
>;
