import Provider, {
  type AdapterFactory,
  type ClientMetadata,
  type Configuration,
  errors,
  type ResourceServer,
} from 'oidc-provider';
import { DEFAULT_SIGNING_ALG, type SigningAlg } from '../algorithms.js';
import { defaultResourceOf, onIssuer } from '../config/client-rules.js';
import { TOKEN_EXCHANGE_GRANT } from '../config/grant-types.js';
import type { ClientConfig, IssuerConfig } from '../config/schema.js';
import { SigningAlgWaitingError } from '../errors.js';
import type { SigningJwk } from '../keystore/types.js';
import type { WaitingAlg } from '../keystore/waiting.js';
import type { Views } from '../views.js';
import type { Accounts } from './accounts.js';
import { withBlockedClients } from './blocked-clients.js';
import { cookieNames, cookieScope, storeFormSession } from './cookies.js';
import { precomputedDiscovery } from './discovery.js';
import { providerPages } from './pages.js';
import { registerPasswordGrant } from './password-grant.js';
import { EXTERNAL_SIGNING, signingKeys } from './signing-keys.js';
import { loadExistingGrant } from './skip-consent.js';
import { storeUnitOfWork } from './store-scope.js';
import { exchangeClaimsOf, registerTokenExchange } from './token-exchange.js';
import {
  answerUnauthorizedClients,
  introspectionPolicy,
  revocationPolicy,
} from './token-policies.js';
import { userinfoForJwtAccessTokens } from './userinfo-bridge.js';

export interface ProviderInputs {
  config: IssuerConfig;
  /** Private signing keys, active first, then next, then retiring; each with alg, use and kid. */
  signingKeys: SigningJwk[];
  /** Cookie signing secrets, newest first. */
  cookieKeys: string[];
  adapter: AdapterFactory;
  accounts: Accounts;
  views: Views;
  /** Configured algorithms that cannot sign yet (keystore/waiting.ts); default none. */
  waiting?: WaitingAlg[];
}

const secondsOf = (ms: number) => Math.max(1, Math.round(ms / 1000));

/**
 * Builds one oidc-provider instance. oidc-provider freezes its keys at construction, so the
 * caller builds a new one whenever the key ring changes (see provider/host.ts); everything that
 * must survive the swap lives in the adapter.
 */
export function buildProvider(inputs: ProviderInputs): Provider {
  const { config, accounts, views } = inputs;
  const clients = new Map(config.clients.map((c) => [c.id, c]));
  const servers = new Map(config.resourceServers.map((r) => [r.audience, r]));
  const defaultAlg = config.keys.algorithms[0] ?? DEFAULT_SIGNING_ALG;
  const issuerOrigin = new URL(config.issuer).origin;
  const resourceScopes = new Set(config.resourceServers.flatMap((r) => r.scopes));
  const claimScopes = Object.keys(config.scopes).filter((s) => !resourceScopes.has(s));
  const waiting = new Map((inputs.waiting ?? []).map((w) => [w.alg, w]));
  // A client whose ID tokens need an algorithm that cannot sign yet is left out of the static
  // clients (oidc-provider would call its metadata invalid); looking it up answers 503 with why.
  const blocked = new Map(
    config.clients.flatMap((c) => {
      const w = usesIdTokens(c) ? waiting.get(c.idTokenSigningAlg ?? defaultAlg) : undefined;
      return w ? [[c.id, w] as const] : [];
    }),
  );

  const cookies = {
    keys: inputs.cookieKeys,
    long: { httpOnly: true, sameSite: 'lax' as const, ...cookieScope(config.mountPath) },
    short: { httpOnly: true, sameSite: 'lax' as const, ...cookieScope(config.mountPath) },
    names: cookieNames(config.mountPath),
  };
  const pages = providerPages(config, views);
  // A user login defaults to a resource only when its token is a JWT: an opaque token with an
  // audience would no longer work at userinfo (see userinfo-bridge.ts for the JWT case).
  const userLoginResource = (clientId: string): string | undefined => {
    const client = clients.get(clientId);
    const resource = defaultResourceOf(client);
    const format = client?.accessTokenFormat ?? (resource && servers.get(resource)?.format);
    return format === 'jwt' ? resource : undefined;
  };

  // An answer depends only on the configuration this instance is built from (so the store holds
  // at most one per configured client, resource and format); every token request asks again.
  const serverInfos = new Map<string, ResourceServer>();
  /**
   * How `clientId`'s access tokens for resource server `indicator` are made (oidc-provider's
   * `getResourceServerInfo`); `format` overrides the configured token format. The same frozen
   * object each time.
   * @throws InvalidTarget when the client may not get tokens for it.
   */
  const resourceServerInfo = (
    indicator: string,
    clientId: string,
    format = clients.get(clientId)?.accessTokenFormat ?? servers.get(indicator)?.format,
  ): ResourceServer => {
    const key = `${format} ${clientId} ${indicator}`;
    const kept = serverInfos.get(key);
    if (kept) return kept;
    const server = servers.get(indicator);
    const allowed = clients.get(clientId)?.resources ?? [];
    if (!server || !allowed.includes(indicator)) {
      throw new errors.InvalidTarget(`resource ${indicator} is not available to this client`);
    }
    const unavailable = format === 'jwt' ? waiting.get(server.signingAlg ?? defaultAlg) : undefined;
    if (unavailable) {
      throw new SigningAlgWaitingError(
        `access tokens for ${indicator} are signed with ${unavailable.alg}. ${unavailable.message}`,
      );
    }
    const sign = Object.freeze({ alg: server.signingAlg ?? defaultAlg });
    const info: ResourceServer = Object.freeze({
      scope: server.scopes.join(' '),
      audience: server.audience,
      accessTokenTTL: secondsOf(server.accessTokenTtl),
      accessTokenFormat: format,
      ...(format === 'jwt' ? { jwt: Object.freeze({ sign }) } : {}),
    });
    serverInfos.set(key, info);
    return info;
  };

  const configuration: Configuration = {
    adapter: (blocked.size > 0
      ? withBlockedClients(inputs.adapter, blocked)
      : inputs.adapter) as unknown as Configuration['adapter'],
    clients: config.clients
      .filter((c) => !blocked.has(c.id))
      .map(toClientMetadata(defaultAlg, config.issuer)),
    findAccount: accounts.findAccount,
    loadExistingGrant: loadExistingGrant((id) => clients.get(id)?.skipConsent === true),
    jwks: { keys: signingKeys(inputs.signingKeys) },
    cookies,
    claims: { openid: ['sub'], sid: null, acr: null, auth_time: null, ...config.scopes },
    scopes: ['openid', 'offline_access', ...claimScopes, ...resourceScopes],
    conformIdTokenClaims: false,
    clockTolerance: secondsOf(config.clockTolerance),
    pkce: { required: () => true },
    // Every client gets response_types ["code"] or none (toClientMetadata), so discovery lists
    // no implicit or hybrid flow that no client could use (oidc-provider's default lists four).
    responseTypes: config.clients.some(usesCode) ? ['code'] : [],
    // Key-locating URL headers are never dereferenced; refusing them makes a client that relies
    // on them fail loudly instead of passing with a key it did not mean (RFC 8725 §3.10).
    assertJwtClientAuthClaimsAndHeader: async (_ctx, _claims, header) => {
      for (const name of ['jku', 'x5u']) {
        if (name in header)
          throw new errors.InvalidClientAuth(`the ${name} header is not accepted`);
      }
    },
    enabledJWA: {
      idTokenSigningAlgValues: [...config.keys.algorithms],
      userinfoSigningAlgValues: [...config.keys.algorithms],
      introspectionSigningAlgValues: [...config.keys.algorithms],
      authorizationSigningAlgValues: [...config.keys.algorithms],
    },
    interactions: {
      url: (_ctx, interaction) => `${config.mountPath}/interaction/${interaction.uid}`,
    },
    // Refresh tokens for every client allowed the grant, not only with offline_access (which
    // oidc-provider also gates on prompt=consent): a dev issuer should not surprise here.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    extraTokenClaims: async (_ctx, token) => {
      const own =
        'accountId' in token && typeof token.accountId === 'string'
          ? await accounts.unscopedClaims(token.accountId)
          : undefined;
      const exchanged = exchangeClaimsOf(token);
      return exchanged ? { ...own, ...exchanged } : own;
    },
    // The issuer's own pages (the console's debugger) post from its origin; that is not cross-origin.
    clientBasedCORS: (_ctx, origin, client) =>
      origin === issuerOrigin ||
      (clients.get(client.clientId)?.corsOrigins.includes(origin) ?? false),
    ttl: {
      AccessToken: (_ctx, token) =>
        token.resourceServer?.accessTokenTTL ?? secondsOf(config.ttl.accessToken),
      AuthorizationCode: secondsOf(config.ttl.authorizationCode),
      ClientCredentials: (_ctx, token) =>
        token.resourceServer?.accessTokenTTL ?? secondsOf(config.ttl.clientCredentials),
      DeviceCode: secondsOf(config.ttl.deviceCode),
      Grant: secondsOf(config.ttl.grant),
      IdToken: secondsOf(config.ttl.idToken),
      Interaction: secondsOf(config.ttl.interaction),
      RefreshToken: secondsOf(config.ttl.refreshToken),
      Session: secondsOf(config.ttl.session),
    },
    features: {
      devInteractions: { enabled: false },
      externalSigningSupport: EXTERNAL_SIGNING,
      clientCredentials: { enabled: true },
      introspection: { enabled: true, allowedPolicy: introspectionPolicy(clients) },
      revocation: { enabled: true, allowedPolicy: revocationPolicy },
      userinfo: { enabled: true },
      deviceFlow: {
        enabled: true,
        ...pages.device,
        userCodeInputSource: async (ctx, form, out, err) => {
          if (out) await storeFormSession(ctx, secondsOf(config.ttl.session), cookies.long);
          await pages.device.userCodeInputSource?.(ctx, form, out, err);
        },
      },
      rpInitiatedLogout: { enabled: true, ...pages.logout },
      resourceIndicators: {
        enabled: true,
        // A client with resources gets tokens for its default one without naming it: at the
        // authorization and device endpoints (the code or device code then carries it, and
        // useGrantedResource uses it at the token endpoint) and for client_credentials.
        defaultResource: async (ctx, client, oneOf) => {
          const own = defaultResourceOf(clients.get(client.clientId));
          if (oneOf) return (own && oneOf.includes(own) ? own : oneOf) as never;
          if (ctx.oidc.route !== 'token') return userLoginResource(client.clientId) as never;
          return (ctx.oidc.params?.grant_type === 'client_credentials' ? own : undefined) as never;
        },
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx, indicator, client) =>
          resourceServerInfo(indicator, client.clientId),
      },
    },
    renderError: pages.renderError,
  };

  const provider = new Provider(config.issuer, configuration);
  provider.proxy = config.trustProxy;
  registerPasswordGrant(provider, { config, accounts, userLoginResource, resourceServerInfo });
  registerTokenExchange(provider, {
    config,
    signingKeys: inputs.signingKeys,
    accounts,
    resourceServerInfo,
  });
  answerUnauthorizedClients(provider);
  provider.use(pages.storeFailures);
  provider.use(storeUnitOfWork(config.mountPath));
  provider.use(precomputedDiscovery(provider, config.trustProxy));
  provider.use(userinfoForJwtAccessTokens(provider));
  // The token route answers every POST itself (a token or an OAuth error), so the hottest
  // endpoint skips the 404 page's async frame.
  const notFound = pages.notFound;
  provider.use((ctx, next) =>
    ctx.method === 'POST' && ctx.path === TOKEN_PATH ? next() : notFound(ctx, next),
  );
  return provider;
}

const usesCode = (c: ClientConfig) => c.grantTypes.includes('authorization_code');
/** Every grant but client_credentials and token exchange can hand out an ID token. */
const usesIdTokens = (c: ClientConfig) =>
  c.grantTypes.some((g) => g !== 'client_credentials' && g !== TOKEN_EXCHANGE_GRANT);

function toClientMetadata(defaultAlg: SigningAlg, issuer: string) {
  return (c: ClientConfig): ClientMetadata => {
    const grants = c.grantTypes;
    return {
      client_id: c.id,
      ...(c.name ? { client_name: c.name } : {}),
      ...(c.secret ? { client_secret: c.secret } : {}),
      token_endpoint_auth_method: c.authMethod ?? (c.secret ? 'client_secret_basic' : 'none'),
      ...(c.jwks ? { jwks: c.jwks as unknown as ClientMetadata['jwks'] } : {}),
      redirect_uris: c.redirectUris.map((uri) => onIssuer(issuer, uri)),
      post_logout_redirect_uris: c.postLogoutRedirectUris.map((uri) => onIssuer(issuer, uri)),
      grant_types: grants,
      response_types: usesCode(c) ? ['code'] : [],
      scope: c.scopes.join(' '),
      id_token_signed_response_alg: c.idTokenSigningAlg ?? defaultAlg,
    };
  };
}

const TOKEN_PATH = '/token';
