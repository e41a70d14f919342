import type Router from '@koa/router';
import { onIssuer } from '../config/client-rules.js';
import type { IssuerConfig } from '../config/schema.js';
import { sendPage, type Views } from '../views.js';
import { consoleEnabled } from './console-gate.js';

/** RFC 7636's example verifier: public, so the "try it" link is reproducible by anyone. */
const EXAMPLE_CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

/**
 * `GET /`: what a developer who opens the issuer in a browser wants to know — the endpoints,
 * the test users and clients (secrets only for the public demo config), a sign-in link (to the
 * console's debugger when the console is on) and a token command to copy.
 */
export function homeRoute(router: Router, config: IssuerConfig, views: Views): void {
  const html = render(config, views);
  router.get('/', (ctx) => {
    sendPage(ctx, html);
  });
}

function render(config: IssuerConfig, views: Views): string {
  const issuer = config.issuer;
  const withConsole = consoleEnabled(config);
  const interactive = config.clients.find(
    (c) => c.grantTypes.includes('authorization_code') && c.redirectUris.length > 0,
  );
  let tryLogin: string | undefined;
  if (!withConsole && interactive) {
    const url = new URL(`${issuer}/auth`);
    const scope = [
      'openid',
      ...interactive.scopes.filter((s) => s === 'profile' || s === 'email'),
    ].join(' ');
    url.search = new URLSearchParams({
      client_id: interactive.id,
      response_type: 'code',
      scope,
      redirect_uri: onIssuer(issuer, interactive.redirectUris[0] as string),
      code_challenge: EXAMPLE_CHALLENGE,
      code_challenge_method: 'S256',
      state: 'try-it',
    }).toString();
    tryLogin = url.toString();
  }
  const machine = config.clients.find(
    (c) => c.grantTypes.includes('client_credentials') && c.secret,
  );
  const tryCurl = machine
    ? `curl -s -u ${machine.id}:${config.demo ? machine.secret : '<secret>'} -d grant_type=client_credentials ${issuer}/token`
    : undefined;
  return views.render('index', {
    title: 'Issuer',
    issuer,
    store: config.redis.url ? 'Redis (shared by every instance)' : 'memory (this process only)',
    algorithms: config.keys.algorithms.join(', '),
    users: config.login.userPicker
      ? config.users.map((u) => ({
          username: u.username,
          name: typeof u.claims.name === 'string' ? u.claims.name : undefined,
        }))
      : [],
    clients: config.clients.map((c) => ({
      id: c.id,
      kind: c.secret ? 'confidential' : 'public, PKCE',
      secret: config.demo ? c.secret : undefined,
    })),
    console: withConsole,
    tryLogin,
    tryClient: interactive?.id,
    tryCurl,
  });
}
