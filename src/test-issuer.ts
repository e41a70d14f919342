/**
 * An issuer inside your own test process: started on a free port from the demo config (or
 * an empty one) plus your users and clients, with helpers that mint tokens, sign a user in
 * through the real pages, rotate keys and stop. Exported from the package root.
 *
 * Over 300 lines on purpose: half of it is the documented public contract (the option and
 * helper interfaces users read in their editor), kept beside the one function implementing it.
 */
import type { JWK, JWTPayload } from 'jose';
import type { SigningAlg } from './algorithms.js';
import { onIssuer } from './config/client-rules.js';
import { demoConfig } from './config/demo.js';
import { validateConfig } from './config/load.js';
import type { IssuerConfig, RawConfig } from './config/schema.js';
import { type RunningIssuer, startIssuer } from './issuer.js';
import { type KeyRingSummary, publicJwks } from './keystore/jwks.js';
import { KeyStash } from './keystore/key-stash.js';
import { RotationTooEarlyError } from './keystore/rotation.js';
import { DISCOVERY_PATH } from './provider/discovery.js';
import { decodeJwt } from './tools/decode.js';
import { TokenError } from './tools/errors.js';
import { type LoginTokens, loginWithCode } from './tools/login-flow.js';
import { type MintedToken, type MintRequest, mintToken, parseMintRequest } from './tools/mint.js';
import { type Verdict, type VerifyOptions, verifyToken } from './tools/verify.js';

type RawUser = NonNullable<RawConfig['users']>[number];

/** A test user; `password` defaults to the username and `sub` to the username. */
export type TestUser = Omit<RawUser, 'password'> & { password?: string };

/** How to start a test issuer. Everything is optional. */
export interface TestIssuerOptions {
  /**
   * Start from the built-in demo config (users alice/bob, clients demo-spa, demo-web,
   * demo-service, the API http://localhost:4000/api). Default true. Lists you pass (`users`,
   * `clients`, `resourceServers`, `scopes`) replace the demo's; objects (`login`, `ttl`,
   * `keys`) are merged field by field.
   */
  demo?: boolean;
  users?: TestUser[];
  clients?: RawConfig['clients'];
  resourceServers?: RawConfig['resourceServers'];
  scopes?: RawConfig['scopes'];
  login?: Partial<NonNullable<RawConfig['login']>>;
  ttl?: Partial<NonNullable<RawConfig['ttl']>>;
  /**
   * Key ring policy. Unlike a server, a test issuer defaults `prePublication` to 1 ms so
   * `rotateKeys()` can rotate at once.
   */
  keys?: Partial<NonNullable<RawConfig['keys']>>;
  /** Default 0: a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default `http://<host>:<port>` once listening (`https://` with `tls`). */
  issuer?: string;
  /**
   * HTTPS: `{ cert, key }` PEM files, or `'auto'` for a certificate from a local CA kept in
   * `<keys.dir>/tls` (see `caFile`). The helpers below reach the issuer through `fetch`.
   */
  tls?: RawConfig['tls'];
  /**
   * How `login` and `clientCredentials` reach the issuer. Default: the global fetch, which
   * trusts the local CA of `tls: 'auto'` only when NODE_EXTRA_CA_CERTS names `caFile`.
   */
  fetch?: typeof fetch;
  /** Share the key ring and sessions through Redis (default: all in memory). */
  redisUrl?: string;
  redisNamespace?: string;
  /** Turns on the admin API and `POST /admin/tokens` with this bearer token (≥ 16 characters). */
  adminToken?: string;
  /** Default `silent`. */
  logLevel?: RawConfig['logLevel'];
  /** Epoch ms; for tests that move time. */
  clock?: () => number;
  /** Any other setting, applied last. */
  config?: Partial<RawConfig>;
}

/** What `login` needs; only `username` is required. */
export interface TestLoginRequest {
  username: string;
  /** Default: the configured user's password; for other names the "any user" form is used. */
  password?: string;
  /** Claims typed on the "any user" form (names that are not configured users). */
  claims?: Record<string, unknown>;
  /** Default: `demo-web` with the demo config, else the first client allowed the code grant. */
  clientId?: string;
  /** Default: the configured secret of the client. */
  clientSecret?: string;
  /** Default: the client's first redirect URI. */
  redirectUri?: string;
  /** Default: the client's scopes that are not API scopes, plus the API's when `resource` is set. */
  scope?: string;
  /** An API audience, for a JWT access token for it. */
  resource?: string;
  /** More authorization request parameters (nonce, prompt, max_age…). */
  params?: Record<string, string>;
}

/** Tokens from the token endpoint, plus the ID token's claims decoded. */
export type TestLoginResult = LoginTokens & { idTokenClaims?: JWTPayload };

/** A running test issuer. */
export interface TestIssuer {
  /** The issuer identifier and base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly port: number;
  readonly discoveryUrl: string;
  readonly jwksUrl: string;
  readonly config: IssuerConfig;
  /** With `tls: 'auto'`: the local CA certificate (PEM file) that clients must trust. */
  readonly caFile: string | undefined;
  /** The underlying issuer (HTTP server, key ring watcher, provider host). */
  readonly running: RunningIssuer;
  /** A signed token (see `MintRequest`; access token for the demo API by default). */
  mintToken(request?: MintRequest): Promise<string>;
  /** Like `mintToken`, with the header and claims. */
  mint(request?: MintRequest): Promise<MintedToken>;
  /** Signs `username` in through the real login and consent pages (code + PKCE). */
  login(request: TestLoginRequest): Promise<TestLoginResult>;
  /** A client_credentials grant; the secret defaults to the configured one. */
  clientCredentials(request: {
    clientId: string;
    clientSecret?: string;
    scope?: string;
    resource?: string;
  }): Promise<LoginTokens>;
  /** Verifies a token against this issuer (iss pinned), as `oidc-issuer token verify` does. */
  verify(token: string, options?: Omit<VerifyOptions, 'issuer'>): Promise<Verdict>;
  /**
   * Rotates the signing key (next → active → retiring); old tokens keep verifying. When the
   * next key has not been published for `keys.prePublication` yet and would be within 5 s, the
   * issuer's clock is moved on to that moment (no waiting, and a fake `clock` works too).
   */
  rotateKeys(alg?: SigningAlg): Promise<KeyRingSummary>;
  /** Emergency revocation: the key is unpublished at once. */
  revokeKey(kid: string): Promise<KeyRingSummary>;
  /** The published JWK set, exactly as `/jwks` serves it. */
  jwks(): Promise<{ keys: JWK[] }>;
  /**
   * The kid that signs now (for `alg`, default the first configured algorithm): what
   * `revokeKey` takes.
   * @throws TokenError `NO_ACTIVE_KEY` when no key of that algorithm signs (not configured, or
   *   just added and not yet allowed to sign).
   */
  activeKid(alg?: SigningAlg): string;
  stop(): Promise<void>;
}

/** The furthest `rotateKeys` moves the issuer's clock on to let the next key sign. */
const MAX_CLOCK_STEP_MS = 5000;

/** The keys of this process's test issuers, generated ahead while a test runs. */
const keys = new KeyStash();

/** Starts an issuer on a free loopback port inside this process. */
export async function createTestIssuer(options: TestIssuerOptions = {}): Promise<TestIssuer> {
  const demo = options.demo ?? true;
  const base: RawConfig = demo ? demoConfig() : {};
  const raw: Record<string, unknown> = {
    ...base,
    port: options.port ?? 0,
    host: options.host ?? '127.0.0.1',
    logLevel: options.logLevel ?? 'silent',
  };
  if (options.users) {
    raw.users = options.users.map((u) => ({ ...u, password: u.password ?? u.username }));
  }
  if (options.clients) raw.clients = options.clients;
  if (options.resourceServers) raw.resourceServers = options.resourceServers;
  if (options.scopes) raw.scopes = options.scopes;
  raw.login = { ...base.login, ...options.login };
  raw.ttl = { ...base.ttl, ...options.ttl };
  raw.keys = { prePublication: '1ms', ...base.keys, ...options.keys };
  if (options.tls) {
    raw.tls = options.tls;
    // The demo's http:// issuer would contradict tls; unset, the issuer follows the port.
    delete raw.issuer;
  }
  if (options.issuer) raw.issuer = options.issuer;
  else if (options.port)
    raw.issuer = `${options.tls ? 'https' : 'http'}://${options.host ?? '127.0.0.1'}:${options.port}`;
  if (options.redisUrl || options.redisNamespace) {
    raw.redis = {
      ...(options.redisUrl ? { url: options.redisUrl } : {}),
      ...(options.redisNamespace ? { namespace: options.redisNamespace } : {}),
    };
  }
  if (options.adminToken) raw.admin = { token: options.adminToken };
  Object.assign(raw, options.config ?? {});

  const config = validateConfig(raw, { demo });
  // Key generation runs on the threadpool while the issuer is built on this thread.
  keys.prepare([config, ...config.issuers].flatMap((c) => c.keys.algorithms));
  // The issuer's clock runs `ahead` of the given one once `rotateKeys` had to move time on.
  const given = options.clock ?? Date.now;
  let ahead = 0;
  const clock = () => given() + ahead;
  const running = await startIssuer(config, {
    ephemeralKeys: true,
    generateKey: keys.take,
    issuerFromPort: !options.issuer && !options.port,
    clock,
  });
  const doFetch = options.fetch ?? fetch;
  const cfg = running.config;
  const url = running.url;
  const discoveryUrl = `${url}${DISCOVERY_PATH}`;
  const source = { config: cfg, ring: () => running.keyRing.current(), clock };
  const mint = (request: MintRequest = {}) => mintToken(source, parseMintRequest(request));
  // Discovery is read once for every login: its endpoints do not change while the issuer runs.
  let endpoints: Promise<{ authorization_endpoint: string; token_endpoint: string }> | undefined;
  const discover = () =>
    (endpoints ??= doFetch(discoveryUrl)
      .then(async (res) => {
        if (!res.ok) throw new TokenError('LOGIN_FAILED', `discovery answered HTTP ${res.status}`);
        return (await res.json()) as { authorization_endpoint: string; token_endpoint: string };
      })
      .catch((err: unknown) => {
        endpoints = undefined;
        throw err;
      }));

  return {
    url,
    port: running.port,
    discoveryUrl,
    jwksUrl: `${url}/jwks`,
    config: cfg,
    caFile: running.localCa?.caFile,
    running,
    mint,
    mintToken: async (request) => (await mint(request)).token,
    async login(request) {
      const client = request.clientId
        ? cfg.clients.find((c) => c.id === request.clientId)
        : ((demo ? cfg.clients.find((c) => c.id === 'demo-web') : undefined) ??
          cfg.clients.find((c) => c.grantTypes.includes('authorization_code')));
      if (!client) {
        throw new TokenError(
          'LOGIN_FAILED',
          request.clientId
            ? `no client ${request.clientId} is configured`
            : 'no client allowed the authorization_code grant is configured',
        );
      }
      const registered = client.redirectUris[0];
      const redirectUri =
        request.redirectUri ?? (registered ? onIssuer(url, registered) : undefined);
      if (!redirectUri)
        throw new TokenError('LOGIN_FAILED', `client ${client.id} has no redirect URI`);
      const apiScopes = new Set(cfg.resourceServers.flatMap((r) => r.scopes));
      const resourceScopes = request.resource
        ? (cfg.resourceServers.find((r) => r.audience === request.resource)?.scopes ?? [])
        : [];
      const scope =
        request.scope ??
        client.scopes.filter((s) => !apiScopes.has(s) || resourceScopes.includes(s)).join(' ');
      const user = cfg.users.find((u) => u.username === request.username);
      const secret = request.clientSecret ?? client.secret;
      const password = request.password ?? user?.password;
      // With login.headless on, a login that types nothing of its own (no password, no claims)
      // signs in by login_hint without the login page, as any client of this issuer could.
      const headless =
        cfg.login.headless &&
        request.password === undefined &&
        request.claims === undefined &&
        (user !== undefined || cfg.login.anyUser);
      const params = {
        ...(headless ? { login_hint: request.username } : {}),
        ...request.params,
      };
      const tokens = await loginWithCode({
        issuer: url,
        clientId: client.id,
        redirectUri,
        username: request.username,
        scope,
        ...(secret !== undefined ? { clientSecret: secret } : {}),
        ...(password !== undefined ? { password } : {}),
        ...(request.claims ? { claims: request.claims } : {}),
        ...(request.resource ? { resource: request.resource } : {}),
        extraParams: params,
        endpoints: await discover(),
        fetch: doFetch,
      });
      return tokens.id_token
        ? { ...tokens, idTokenClaims: decodeJwt(tokens.id_token).claims }
        : tokens;
    },
    async clientCredentials(request) {
      const secret =
        request.clientSecret ?? cfg.clients.find((c) => c.id === request.clientId)?.secret ?? '';
      const enc = encodeURIComponent;
      const res = await doFetch(`${url}/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${enc(request.clientId)}:${enc(secret)}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          ...(request.scope ? { scope: request.scope } : {}),
          ...(request.resource ? { resource: request.resource } : {}),
        }),
      });
      const body = (await res.json()) as LoginTokens & {
        error?: string;
        error_description?: string;
      };
      if (!res.ok) {
        throw new TokenError(
          'LOGIN_FAILED',
          `client_credentials for ${request.clientId}: HTTP ${res.status} ${body.error ?? ''} ${body.error_description ?? ''}`.trim(),
        );
      }
      return body;
    },
    verify: (token, verifyOptions = {}) => verifyToken(token, { ...verifyOptions, issuer: url }),
    async rotateKeys(alg) {
      try {
        return await running.keyRing.rotate(alg);
      } catch (err) {
        // The next key must have been published for `prePublication`: when that lead is short,
        // move the issuer's clock to the moment it was (a fake clock would never get there).
        const wait = err instanceof RotationTooEarlyError ? err.notBefore - clock() : Infinity;
        if (wait > MAX_CLOCK_STEP_MS) throw err;
        ahead += Math.max(wait, 0);
        return running.keyRing.rotate(alg);
      }
    },
    revokeKey: (kid) => running.keyRing.revoke(kid),
    async jwks() {
      const doc = running.keyRing.jwks();
      return doc
        ? (JSON.parse(doc.body.toString('utf8')) as { keys: JWK[] })
        : publicJwks(running.keyRing.current(), clock());
    },
    activeKid(alg) {
      const wanted = alg ?? cfg.keys.algorithms[0];
      const kid = running.keyRing.signingKeys().find((k) => k.alg === wanted)?.kid;
      if (kid === undefined) {
        throw new TokenError(
          'NO_ACTIVE_KEY',
          `no ${wanted} key signs right now (keys.algorithms: ${cfg.keys.algorithms.join(', ')})`,
        );
      }
      return kid;
    },
    async stop() {
      await running.close();
      // Candidates a rotation generated beyond its need were never published: the next test
      // issuer of this process may use them.
      for (const ring of new Set([
        running.keyRing,
        ...[...running.hosted.values()].map((u) => u.keyRing),
      ]))
        keys.giveBack(ring.releaseCandidates());
    },
  };
}
