/**
 * Benchmark target: oidc-provider alone in koa, with its built-in memory adapter and the same
 * clients and token settings as the issuer's demo config (RFC 9068 JWT access tokens for the
 * demo API through resourceIndicators, one signing key of the benchmarked alg). The floor of what
 * our wrapping costs. Interactions finish without a page: login as `login_hint`, consent to all.
 *
 * Env: PORT, HOST, ISSUER, BARE_JWK (private JWK with kid, alg, use), COOKIE_KEY.
 */
import Router from '@koa/router';
import Koa from 'koa';
import Provider, { type Configuration, errors } from 'oidc-provider';
import { BENCH_CLIENT, DEMO_API, SERVICE_CLIENT } from '../fixtures.js';

const port = Number(process.env.PORT ?? 0);
const host = process.env.HOST ?? '127.0.0.1';
const issuer = process.env.ISSUER ?? `http://${host}:${port}`;
const jwk = JSON.parse(process.env.BARE_JWK ?? '') as { alg: string; kid: string };
const alg = jwk.alg;

const configuration: Configuration = {
  clients: [
    {
      client_id: SERVICE_CLIENT.id,
      client_secret: SERVICE_CLIENT.secret,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: DEMO_API.scopes.join(' '),
      id_token_signed_response_alg: alg as 'RS256',
    },
    {
      client_id: BENCH_CLIENT.id,
      client_secret: BENCH_CLIENT.secret,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      redirect_uris: [BENCH_CLIENT.redirectUri],
      scope: 'openid profile email',
      id_token_signed_response_alg: alg as 'RS256',
    },
  ],
  jwks: { keys: [jwk as never] },
  cookies: {
    keys: [process.env.COOKIE_KEY ?? 'bench-cookie-key-0123456789'],
    long: { httpOnly: true, sameSite: 'lax' },
    short: { httpOnly: true, sameSite: 'lax' },
  },
  findAccount: async (_ctx, sub) => ({
    accountId: sub,
    claims: async () => ({ sub, name: `User ${sub}`, email: `${sub}@example.com` }),
  }),
  claims: { openid: ['sub'], profile: ['name'], email: ['email'] },
  scopes: ['openid', 'offline_access', 'profile', 'email', ...DEMO_API.scopes],
  clockTolerance: 15,
  pkce: { required: () => true },
  enabledJWA: { idTokenSigningAlgValues: [alg] as never },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  ttl: {
    AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? 3600,
    ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? 3600,
    AuthorizationCode: 60,
    IdToken: 3600,
    Interaction: 3600,
    Session: 14 * 86400,
    Grant: 14 * 86400,
  },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (ctx, _client, oneOf) =>
        (oneOf ??
          (ctx.oidc.params?.grant_type === 'client_credentials'
            ? DEMO_API.audience
            : undefined)) as never,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx, indicator) => {
        if (indicator !== DEMO_API.audience) throw new errors.InvalidTarget();
        return {
          scope: DEMO_API.scopes.join(' '),
          audience: DEMO_API.audience,
          accessTokenTTL: 3600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: alg as never } },
        };
      },
    },
  },
};

const provider = new Provider(issuer, configuration);

const app = new Koa();
const router = new Router();
router.get('/interaction/:uid', async (ctx) => {
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  let result: Record<string, unknown>;
  if (details.prompt.name === 'login') {
    result = { login: { accountId: String(details.params.login_hint ?? 'alice') } };
  } else {
    const grant = new provider.Grant({
      accountId: details.session?.accountId,
      clientId: String(details.params.client_id),
    });
    const missing = details.prompt.details as { missingOIDCScope?: string[] };
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    result = { consent: { grantId: await grant.save() } };
  }
  const to = await provider.interactionResult(ctx.req, ctx.res, result, {
    mergeWithLastSubmission: false,
  });
  ctx.status = 303;
  ctx.redirect(to);
});
app.use(router.routes());
const handler = provider.callback();
app.use(async (ctx) => {
  ctx.respond = false;
  await handler(ctx.req, ctx.res);
});
app.listen(port, host);
process.once('SIGTERM', () => process.exit(0));
