/**
 * The web console: `/debugger` (sign in with a built-in client and read the tokens), `/tools`
 * (JWK generator, converter and inspector, JWT decoder) and `/keys` (the key ring as a
 * picture), plus the JSON endpoints their scripts call under `/_issuer/console/`. Registered
 * only when `consoleEnabled(config)`.
 *
 * The pages are plain HTML; their behaviour is in `views/console/*.js`, ES modules served from
 * here (the CSP allows scripts from this origin only, none inline). Decoding, verifying,
 * inspecting and converting run on the server, with the same code as the CLI; key generation
 * runs in the browser, so a generated private key never crosses the network.
 *
 * The tools behind the JSON endpoints and the page scripts are loaded on their first use: a
 * start serves none of them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Router from '@koa/router';
import type { Context } from 'koa';
import { onIssuer } from '../config/client-rules.js';
import type { IssuerConfig } from '../config/schema.js';
import { type JwksDocument, summarizeRing } from '../keystore/jwks.js';
import type { KeyRing } from '../keystore/types.js';
import { VIEWS_DIR } from '../paths.js';
import { TokenError } from '../tools/errors.js';
import { describeSpan } from '../tools/time.js';
import { SCRIPT_PAGE_CSP, sendPage, type Views } from '../views.js';
import { jsonBody } from './body.js';

export interface ConsoleDeps {
  config: IssuerConfig;
  views: Views;
  jwks: () => JwksDocument | undefined;
  ring: () => KeyRing | undefined;
  clock: () => number;
}

/** The console's pages and the paths of its assets and JSON endpoints. */
export const CONSOLE_PAGES = ['/debugger', '/debugger/callback', '/tools', '/keys'];
const DEBUGGER_CALLBACK = '/debugger/callback';
const ASSET_DIR = join(VIEWS_DIR, 'console');
/** Bodies are a pasted key set or token; a large JWKS with certificate chains fits. */
const BODY_LIMIT = 512 * 1024;

export function consoleRoutes(router: Router, deps: ConsoleDeps): void {
  const { config, views } = deps;
  let assets: Map<string, string> | undefined;
  const json = jsonBody(BODY_LIMIT);
  let guarded: typeof fetch | undefined;
  const fetchGuarded = async () =>
    (guarded ??= (await import('../tools/guarded-fetch.js')).guardedFetch({
      maxBytes: 1024 * 1024,
      timeoutMs: 5000,
    }));
  const page = (
    ctx: Context,
    view: 'debugger' | 'debugger-callback' | 'tools' | 'keys',
    data: Record<string, unknown>,
  ) => sendPage(ctx, views.render(view, data), undefined, { csp: SCRIPT_PAGE_CSP });

  router.get('/_issuer/console/:file', async (ctx, next) => {
    assets ??= loadAssets();
    const body = assets.get(ctx.params.file as string);
    if (body === undefined) {
      await next();
      return;
    }
    ctx.type = 'text/javascript; charset=utf-8';
    ctx.set('Cache-Control', 'no-cache');
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.body = body;
  });

  const callback = onIssuer(config.issuer, DEBUGGER_CALLBACK);
  const debuggerClients = config.clients
    .filter((c) => c.redirectUris.some((uri) => onIssuer(config.issuer, uri) === callback))
    .map((c) => ({
      id: c.id,
      name: c.name ?? c.id,
      confidential: c.secret !== undefined,
      scopes: c.scopes.join(' '),
      resources: c.resources.join(' '),
      logout: c.postLogoutRedirectUris
        .map((uri) => onIssuer(config.issuer, uri))
        .find((uri) => uri.startsWith(`${config.issuer}/debugger`)),
    }));
  const issuerOrigin = new URL(config.issuer).origin;

  router.get('/debugger', (ctx) => {
    // The tab keeps the PKCE verifier, state and nonce; the callback must land on the same origin.
    if (`${ctx.protocol}://${ctx.host}` !== issuerOrigin)
      return ctx.redirect(`${config.issuer}/debugger`);
    page(ctx, 'debugger', {
      title: 'Debugger',
      nav: '/debugger',
      scripts: ['debugger.js'],
      issuer: config.issuer,
      callback,
      clients: debuggerClients,
    });
  });
  router.get(DEBUGGER_CALLBACK, (ctx) => {
    page(ctx, 'debugger-callback', {
      title: 'Debugger: tokens',
      nav: '/debugger',
      scripts: ['callback.js'],
      issuer: config.issuer,
      callback,
    });
  });
  router.get('/tools', (ctx) => {
    page(ctx, 'tools', {
      title: 'JWK tools',
      nav: '/tools',
      scripts: ['tools.js'],
      issuer: config.issuer,
      algorithms: config.keys.algorithms.join(' '),
    });
  });
  router.get('/keys', (ctx) => {
    page(ctx, 'keys', {
      title: 'Key ring',
      nav: '/keys',
      scripts: ['keys.js'],
      issuer: config.issuer,
      adminEnabled: config.admin.token !== undefined,
    });
  });

  router.post('/_issuer/console/verify', json, async (ctx) => {
    const body = ctx.request.body as { token?: unknown; jwksUrl?: unknown; audience?: unknown };
    const token = text(body.token, 'token');
    const jwksUrl = optionalText(body.jwksUrl, 'jwksUrl');
    const audience = optionalText(body.audience, 'audience');
    const [{ isHttpUrl }, { verifyToken }] = await Promise.all([
      import('../tools/key-source.js'),
      import('../tools/verify.js'),
    ]);
    if (jwksUrl !== undefined && !isHttpUrl(jwksUrl))
      throw badRequest('jwksUrl must be an http(s) URL');
    const own = ownJwks(deps, config.issuer);
    const verdict = await verifyToken(token, {
      ...(jwksUrl ? { jwks: jwksUrl } : { issuer: config.issuer, jwks: own }),
      ...(audience ? { audience } : {}),
      clockToleranceMs: config.clockTolerance,
      now: deps.clock(),
      fetch: await fetchGuarded(),
    });
    ctx.body = { verdict, jwks: jwksUrl ? undefined : own };
  });

  router.post('/_issuer/console/inspect', json, async (ctx) => {
    const body = ctx.request.body as { text?: unknown; url?: unknown };
    const url = optionalText(body.url, 'url');
    const [{ fetchKeyDocument, isHttpUrl }, { inspectKeys }] = await Promise.all([
      import('../tools/key-source.js'),
      import('../tools/jwk-inspect.js'),
    ]);
    let input: string | Record<string, unknown>;
    if (url !== undefined) {
      if (!isHttpUrl(url)) throw badRequest('url must be an http(s) URL');
      input = await fetchKeyDocument(url, { fetch: await fetchGuarded() });
    } else {
      input = text(body.text, 'text');
    }
    ctx.body = { report: await inspectKeys(input) };
  });

  router.post('/_issuer/console/convert', json, async (ctx) => {
    const body = ctx.request.body as { text?: unknown };
    const { convertKeys } = await import('../tools/jwk-convert.js');
    ctx.body = { keys: await convertKeys(text(body.text, 'text')) };
  });

  router.get('/_issuer/console/keys', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    const ring = deps.ring();
    const now = deps.clock();
    const doc = deps.jwks();
    ctx.body = {
      now,
      algorithms: config.keys.algorithms,
      policy: {
        rotationPeriod: config.keys.rotationPeriod,
        prePublication: config.keys.prePublication,
        retention: config.keys.retention,
      },
      cacheControl: doc?.cacheControl,
      cacheSentence: doc ? cacheSentence(doc.cacheControl, config.keys.prePublication) : undefined,
      ring: ring ? summarizeRing(ring, now) : undefined,
    };
  });
}

/** The issuer's own published keys, as a verifier fetching `/jwks` would see them now. */
function ownJwks(deps: ConsoleDeps, issuer: string) {
  const doc = deps.jwks();
  const keys = doc ? (JSON.parse(doc.body.toString('utf8')) as { keys: [] }).keys : [];
  return { keys, location: `${issuer}/jwks` };
}

/**
 * What the JWKS `Cache-Control` means for a verifier, in one sentence. Exported for the tests.
 */
export function cacheSentence(cacheControl: string, prePublicationMs: number): string {
  const seconds = (name: string) =>
    Number(new RegExp(`${name}=(\\d+)`).exec(cacheControl)?.[1] ?? 0);
  const span = (s: number) => (s === 0 ? 'no time' : describeSpan(s * 1000));
  const maxAge = seconds('max-age');
  const stalest = maxAge + Math.max(seconds('stale-while-revalidate'), seconds('stale-if-error'));
  return (
    `HTTP caches may hand out this JWKS for ${span(maxAge)} (at most ${span(stalest)} stale when we fail), ` +
    `and a new key is published ${describeSpan(prePublicationMs)} before it signs, so a verifier that refreshes its own cache within the rest of that lead knows every key before it sees a token signed with it.`
  );
}

function loadAssets(): Map<string, string> {
  const files = new Map<string, string>();
  for (const name of readdirSync(ASSET_DIR)) {
    if (name.endsWith('.js')) files.set(name, readFileSync(join(ASSET_DIR, name), 'utf8'));
  }
  return files;
}

function badRequest(message: string): TokenError {
  return new TokenError('BAD_REQUEST', message);
}

function text(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw badRequest(`${name} is required`);
  return value;
}

function optionalText(value: unknown, name: string): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw badRequest(`${name} must be a string`);
  return value.trim();
}
