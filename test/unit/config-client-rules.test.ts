/**
 * Client and resource-server rules checked at start (src/config/client-rules.ts): each bad
 * config gets an error naming the field, and — for the rules that mirror oidc-provider — the
 * same client given straight to oidc-provider is refused there too, so the rule is not made up.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig, validateConfig } from '../../src/config/load.js';
import type { IssuerConfig, RawConfig } from '../../src/config/schema.js';
import type { ConfigError } from '../../src/errors.js';
import { generateSigningKey } from '../../src/keystore/material.js';
import { Accounts } from '../../src/provider/accounts.js';
import { buildProvider } from '../../src/provider/build.js';
import { createMemoryAdapter } from '../../src/store/memory-adapter.js';
import { Views } from '../../src/views.js';
import { problemsOf } from '../support/config.js';

type RawClient = NonNullable<RawConfig['clients']>[number];

const GOOD: RawClient = {
  id: 'app',
  secret: 'app-secret',
  redirectUris: ['http://localhost:8080/callback'],
  postLogoutRedirectUris: ['http://localhost:8080/'],
  scopes: ['openid', 'profile'],
};

/** The bad client given to oidc-provider as-is (bypassing our validation), then looked up. */
async function oidcProviderVerdict(bad: Partial<RawClient>): Promise<string> {
  const base = validateConfig({ clients: [GOOD] });
  const client = { ...base.clients[0], ...bad } as IssuerConfig['clients'][number];
  const config = { ...base, clients: [client] } as IssuerConfig;
  const adapter = createMemoryAdapter({ clockTolerance: 15 });
  const provider = buildProvider({
    config,
    signingKeys: [await generateSigningKey('RS256')],
    cookieKeys: ['cookie-key-for-client-rule-tests'],
    adapter,
    accounts: new Accounts({
      users: [],
      clientIds: [client.id],
      dynamic: adapter('DynamicAccount'),
      dynamicTtlSeconds: 60,
    }),
    views: new Views(false),
  });
  try {
    await provider.Client.find(client.id);
    return 'accepted';
  } catch (err) {
    const e = err as { error?: string; error_description?: string; message: string };
    return `${e.error ?? e.message}: ${e.error_description ?? ''}`;
  }
}

/** Each case: a change to a valid client, the start-time error we give, and oidc-provider's own. */
const MIRRORED: {
  name: string;
  bad: Partial<RawClient>;
  ours: string;
  theirs: RegExp;
}[] = [
  {
    name: 'a redirect URI without a scheme',
    bad: { redirectUris: ['localhost:8080/callback'] },
    ours: 'clients[0].redirectUris[0]: "localhost:8080/callback" has no scheme (it reads as scheme "localhost:"); write http://localhost:8080/callback',
    theirs: /redirect_uris must only contain web uris/,
  },
  {
    name: 'a custom-scheme redirect URI',
    bad: { redirectUris: ['com.example.app:/callback'] },
    ours: 'clients[0].redirectUris[0]: must use http or https (got scheme "com.example.app:")',
    theirs: /redirect_uris must only contain web uris/,
  },
  {
    name: 'a redirect URI with a fragment',
    bad: { redirectUris: ['http://localhost:8080/callback#done'] },
    ours: 'clients[0].redirectUris[0]: must not contain a fragment',
    theirs: /redirect_uris must not contain fragments/,
  },
  {
    name: 'a post-logout redirect URI without a scheme',
    bad: { postLogoutRedirectUris: ['localhost:8080/'] },
    ours: 'clients[0].postLogoutRedirectUris[0]: "localhost:8080/" has no scheme',
    theirs: /post_logout_redirect_uris must only contain web uris/,
  },
  {
    name: 'an empty scope list',
    bad: { scopes: [] },
    ours: 'clients[0].scopes: must list at least one scope',
    theirs: /scope must be a non-empty string/,
  },
  {
    name: 'an unknown scope',
    bad: { scopes: ['openid', 'admin'] },
    ours: 'clients[0].scopes[1]: unknown scope "admin"',
    theirs: /scope must only contain Authorization Server supported scope values/,
  },
  {
    name: 'a client id with a non-ASCII character',
    bad: { id: 'app-é' },
    ours: 'clients[0].id: must be printable ASCII',
    theirs: /invalid client_id value/,
  },
  {
    name: 'a secret with a newline',
    bad: { secret: 'line\nbreak' },
    ours: 'clients[0].secret: must be printable ASCII',
    theirs: /invalid client_secret value/,
  },
  {
    name: 'the authorization_code grant without redirect URIs',
    bad: { redirectUris: [] },
    ours: 'clients[0].redirectUris: required for the authorization_code grant',
    theirs: /redirect_uris must contain members/,
  },
  {
    name: 'client_secret_jwt without a secret',
    bad: { secret: undefined, authMethod: 'client_secret_jwt' },
    ours: 'clients[0].secret: required for authMethod client_secret_jwt',
    theirs: /client_secret is mandatory property/,
  },
  {
    name: 'private_key_jwt without keys',
    bad: { authMethod: 'private_key_jwt' },
    ours: 'clients[0].jwks: required for authMethod private_key_jwt',
    theirs: /jwks or jwks_uri is mandatory for this client/,
  },
  {
    name: 'a client key that is not a valid public key',
    bad: { authMethod: 'private_key_jwt', jwks: { keys: [{ kty: 'RSA', n: 'AQAB' }] } },
    ours: 'clients[0].jwks.keys[0]: is not a valid public JWK',
    theirs: /client JSON Web Key Set is invalid/,
  },
  {
    name: 'a symmetric client key',
    bad: { authMethod: 'private_key_jwt', jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] } },
    ours: 'clients[0].jwks.keys[0]: must be a public key',
    theirs: /client JSON Web Key Set is invalid/,
  },
  {
    name: 'an ID token algorithm the issuer has no key for',
    bad: { idTokenSigningAlg: 'ES256' },
    ours: 'clients[0].idTokenSigningAlg: ES256 is not in keys.algorithms',
    theirs: /id_token_signed_response_alg must be/,
  },
];

describe('client rules that mirror oidc-provider', () => {
  it('accepts the baseline client (both here and in oidc-provider)', async () => {
    expect(problemsOf({ clients: [GOOD] })).toEqual([]);
    expect(await oidcProviderVerdict({})).toBe('accepted');
  });

  for (const { name, bad, ours, theirs } of MIRRORED) {
    it(`refuses ${name} at start, naming the field`, async () => {
      const problems = problemsOf({ clients: [{ ...GOOD, ...bad }] });
      expect(problems.join('\n')).toContain(ours);
      expect(await oidcProviderVerdict(bad)).toMatch(theirs);
    });
  }
});

describe('rules of our own (mistakes oidc-provider would not catch, that fail silently)', () => {
  it('a CORS origin with a path or trailing slash never matches an Origin header', () => {
    expect(problemsOf({ clients: [{ ...GOOD, corsOrigins: ['http://localhost:5173/'] }] })).toEqual(
      [
        'clients[0].corsOrigins[0]: must be an origin (scheme, host and port only, no path or trailing slash): http://localhost:5173',
      ],
    );
  });

  it('client keys without private_key_jwt would never be used', () => {
    const jwks = {
      keys: [{ kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' }],
    };
    expect(problemsOf({ clients: [{ ...GOOD, jwks }] })).toEqual([
      'clients[0].jwks: only used with authMethod private_key_jwt; set it, or remove jwks (authMethod is client_secret_basic)',
    ]);
    expect(problemsOf({ clients: [{ ...GOOD, jwks, authMethod: 'private_key_jwt' }] })).toEqual([]);
  });

  it('refresh_token alone has no grant that issues the first token', () => {
    expect(problemsOf({ clients: [{ ...GOOD, grantTypes: ['refresh_token'] }] })).toContain(
      'clients[0].grantTypes: refresh_token needs authorization_code or device_code to get a first token',
    );
  });

  it('a resource server audience must be a resource indicator (absolute URI)', () => {
    expect(
      problemsOf({ resourceServers: [{ audience: 'my api' }, { audience: 'urn:api:ok' }] }),
    ).toEqual([
      'resourceServers[0].audience: must be an absolute URI such as https://api.example.test (oidc-provider refuses other resource indicators; got "my api")',
    ]);
  });
});

describe('unknown settings and the port', () => {
  it('suggests the known setting when an unknown one is close, at any depth', () => {
    const problems = problemsOf({
      isuer: 'http://localhost:3000',
      colour: 'blue',
      login: { anyUsers: true },
      ttl: { acessToken: '1h' },
      clients: [{ ...GOOD, redirectUri: ['http://localhost:8080/callback'] }],
    } as never);
    expect(problems).toEqual(
      expect.arrayContaining([
        'isuer: unknown setting; did you mean issuer?',
        'colour: unknown setting',
        'login.anyUsers: unknown setting; did you mean anyUser?',
        'ttl.acessToken: unknown setting; did you mean accessToken?',
        'clients[0].redirectUri: unknown setting; did you mean redirectUris?',
      ]),
    );
  });

  it('reports PORT=abc as a port problem, not as an issuer problem', () => {
    for (const env of [{ PORT: 'abc' }, { PORT: '70000' }]) {
      let problems: string[] = [];
      try {
        loadConfig({ env });
      } catch (err) {
        problems = (err as ConfigError).problems;
      }
      expect(problems).toEqual([
        `PORT (sets port): must be a port number from 0 to 65535 (got "${env.PORT}")`,
      ]);
    }
    expect(loadConfig({ env: { PORT: '4100' } }).port).toBe(4100);
  });
});
