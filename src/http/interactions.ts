import Router from '@koa/router';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import type { IssuerConfig } from '../config/schema.js';
import { checkUsername } from '../config/username.js';
import { PageError, StoreUnavailableError } from '../errors.js';
import { parseJsonObject } from '../json.js';
import type { Accounts, Identity } from '../provider/accounts.js';
import type { ProviderHost } from '../provider/current.js';
import { storeUnitOfWork } from '../provider/store-scope.js';
import { claimsBoundProblem } from '../tools/claims-bounds.js';
import { errorHeading, errorPage, sendPage, UNAVAILABLE_HINT, type Views } from '../views.js';
import { formBody } from './body.js';
import { errorResponses } from './errors.js';
import { interactionCsrf } from './interaction-csrf.js';

export interface InteractionDeps {
  config: IssuerConfig;
  host: ProviderHost;
  accounts: Accounts;
  views: Views;
  /** Secret for the per-interaction CSRF token (the newest cookie key). */
  csrfSecret: () => string;
  /** Called after each successful login, for metrics. */
  onLogin?: (method: 'password' | 'pick' | 'any-user' | 'headless') => void;
}

type Details = Awaited<ReturnType<Provider['interactionDetails']>>;

/**
 * The login, consent and abort pages that oidc-provider sends users to (`/interaction/:uid`).
 * They resolve the current provider per request, so a provider swap mid-flow is invisible.
 */
export function interactionRoutes(deps: InteractionDeps): Router {
  const { config, host, accounts, views } = deps;
  const router = new Router({ prefix: '/interaction/:uid' });
  const parseForm = formBody(16 * 1024);

  const { csrfFor, checkCsrf } = interactionCsrf(deps.csrfSecret);

  const provider = (): Provider => {
    const current = host.current;
    if (!current)
      throw new StoreUnavailableError('no signing keys yet: the key ring has not been loaded');
    return current;
  };

  const detailsFor = async (ctx: Context, p: Provider): Promise<Details> => {
    const details = await p.interactionDetails(ctx.req, ctx.res);
    if (details.uid !== ctx.params.uid) {
      throw new PageError(
        'INTERACTION_NOT_YOURS',
        'this sign-in page does not belong to your current sign-in',
      );
    }
    return details;
  };

  /**
   * Stores `result` on the interaction this request already read and sends the browser back to
   * oidc-provider. What `interactionResult` does without merging the last submission, minus its
   * second read of the interaction and session (a store round trip or two per form post).
   */
  const finish = async (ctx: Context, details: Details, result: Record<string, unknown>) => {
    details.result = result;
    await details.persist();
    ctx.status = 303;
    ctx.redirect(details.returnTo);
  };

  const clientNameOf = async (p: Provider, details: Details) => {
    const clientId = String(details.params.client_id ?? '');
    const client = await p.Client.find(clientId);
    return client?.clientName ?? clientId;
  };

  const renderLogin = async (
    ctx: Context,
    p: Provider,
    details: Details,
    extra: Record<string, unknown> = {},
  ) => {
    sendPage(
      ctx,
      views.render('login', {
        title: 'Sign in',
        uid: details.uid,
        csrf: csrfFor(details.uid),
        clientName: await clientNameOf(p, details),
        users: config.login.userPicker ? accounts.listUsers() : [],
        anyUser: config.login.anyUser,
        ...extra,
      }),
    );
  };

  const grantConsent = async (p: Provider, details: Details): Promise<string> => {
    const accountId = details.session?.accountId;
    const clientId = String(details.params.client_id);
    const grant =
      (details.grantId ? await p.Grant.find(details.grantId) : undefined) ??
      new p.Grant({ accountId, clientId });
    const missing = details.prompt.details as {
      missingOIDCScope?: string[];
      missingOIDCClaims?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    return grant.save();
  };

  /**
   * A headless login (`login_hint`) shows no page at all: the consent it would meet next is
   * granted like a `skipConsent` client's. oidc-provider hands the login result to the next
   * interaction of the same request as `lastSubmission`, which carries this mark.
   */
  const HEADLESS = 'oidcIssuerHeadless';
  const skipsConsent = (details: Details) =>
    config.clients.find((c) => c.id === details.params.client_id)?.skipConsent === true;

  router.use(
    errorResponses((ctx, { status, error, description }) => {
      const hint =
        status === 503 ? UNAVAILABLE_HINT : 'Go back to the application and sign in again.';
      const page = errorPage(errorHeading(status, 'This sign-in cannot continue'), error, {
        description,
        facts: [],
        hints: [hint],
      });
      sendPage(ctx, views.render('error', page), status);
    }),
  );
  router.use(storeUnitOfWork(config.mountPath));

  router.get('/', async (ctx) => {
    const p = provider();
    const details = await detailsFor(ctx, p);
    if (details.prompt.name === 'login') {
      const hint = details.params.login_hint;
      const hinted = typeof hint === 'string' && hint !== '' ? checkUsername(hint) : undefined;
      if (config.login.headless && hinted) {
        if ('problem' in hinted) {
          return finish(ctx, details, {
            error: 'invalid_request',
            error_description: `login_hint: ${hinted.problem}`,
          });
        }
        const configured = accounts.configured(hinted.username);
        const result = configured
          ? { identity: configured }
          : config.login.anyUser
            ? await accounts.createDynamic(hinted.username, {})
            : undefined;
        if (result && 'refused' in result) {
          return finish(ctx, details, {
            error: 'access_denied',
            error_description: `login_hint refused: ${result.refused}`,
          });
        }
        if (result) {
          deps.onLogin?.('headless');
          // Marked so the consent prompt that may follow in this request is granted too.
          return finish(ctx, details, {
            login: { accountId: result.identity.sub },
            [HEADLESS]: true,
          });
        }
      }
      return renderLogin(ctx, p, details, {
        username: hinted && 'username' in hinted ? hinted.username : '',
      });
    }
    if (details.prompt.name === 'consent') {
      if (skipsConsent(details) || details.lastSubmission?.[HEADLESS] === true) {
        return finish(ctx, details, { consent: { grantId: await grantConsent(p, details) } });
      }
      const missing = details.prompt.details as {
        missingOIDCScope?: string[];
        missingResourceScopes?: Record<string, string[]>;
      };
      sendPage(
        ctx,
        views.render('consent', {
          title: 'Allow access',
          uid: details.uid,
          csrf: csrfFor(details.uid),
          clientName: await clientNameOf(p, details),
          sub: details.session?.accountId,
          scopes: missing.missingOIDCScope ?? [],
          resources: Object.entries(missing.missingResourceScopes ?? {}).map(
            ([resource, scopes]) => ({ resource, scopes }),
          ),
        }),
      );
      return;
    }
    throw new PageError(
      'INTERACTION_PROMPT_UNEXPECTED',
      `unsupported prompt ${details.prompt.name}`,
    );
  });

  router.post('/login', parseForm, async (ctx) => {
    const p = provider();
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    checkCsrf(ctx.params.uid as string, body.csrf);
    const details = await detailsFor(ctx, p);
    if (details.prompt.name !== 'login')
      throw new PageError(
        'INTERACTION_PROMPT_UNEXPECTED',
        'this sign-in is not waiting for a login',
      );
    const checked = checkUsername(body.username);
    const username = 'username' in checked ? checked.username : '';
    const password = typeof body.password === 'string' ? body.password : '';
    // The typed claims go back into the form, so a JSON typo costs one fix, not a retype.
    const claimsText = typeof body.claims === 'string' ? body.claims : '';
    const again = (error: string, status = 401) => {
      ctx.status = status;
      return renderLogin(ctx, p, details, { error, username, claims: claimsText });
    };
    if ('problem' in checked) return again(`${sentence(checked.problem)}.`, 400);

    let identity: Identity | undefined;
    let method: 'password' | 'pick' | 'any-user' = 'password';
    if (body.action === 'pick' && config.login.userPicker) {
      identity = accounts.configured(username);
      method = 'pick';
    } else {
      identity = accounts.verifyPassword(username, password);
      if (!identity && config.login.anyUser && !accounts.isConfigured(username)) {
        const typed = parseClaims(body.claims);
        if ('problem' in typed) return again(typed.problem, 400);
        const result = await accounts.createDynamic(username, typed.claims);
        if ('refused' in result) return again(`${result.refused}.`, 400);
        identity = result.identity;
        method = 'any-user';
      }
    }
    if (!identity) {
      // In any-user mode only a configured user can fail here, so say which part was wrong.
      return again(
        config.login.anyUser
          ? `Wrong password for ${username}, a configured test user. Any other username signs in without a password.`
          : 'Unknown username or wrong password.',
      );
    }
    deps.onLogin?.(method);
    await finish(ctx, details, { login: { accountId: identity.sub } });
  });

  router.post('/confirm', parseForm, async (ctx) => {
    const p = provider();
    checkCsrf(
      ctx.params.uid as string,
      (ctx.request.body as Record<string, unknown> | undefined)?.csrf,
    );
    const details = await detailsFor(ctx, p);
    if (details.prompt.name !== 'consent')
      throw new PageError(
        'INTERACTION_PROMPT_UNEXPECTED',
        'this sign-in is not waiting for consent',
      );
    await finish(ctx, details, { consent: { grantId: await grantConsent(p, details) } });
  });

  router.post('/abort', parseForm, async (ctx) => {
    const p = provider();
    checkCsrf(
      ctx.params.uid as string,
      (ctx.request.body as Record<string, unknown> | undefined)?.csrf,
    );
    await finish(ctx, await detailsFor(ctx, p), {
      error: 'access_denied',
      error_description: 'End-User aborted interaction',
    });
  });

  return router;
}

const sentence = (fragment: string) => fragment.charAt(0).toUpperCase() + fragment.slice(1);

/**
 * Claims typed on the "any user" form: empty → {}, a JSON object within the claims bounds → it
 * (without `sub`), anything else → the message to show.
 */
function parseClaims(value: unknown): { claims: Record<string, unknown> } | { problem: string } {
  if (typeof value !== 'string' || value.trim() === '') return { claims: {} };
  const parsed = parseJsonObject(value);
  if (!parsed.ok) {
    return { problem: 'Extra claims must be a JSON object, e.g. {"email": "a@example.com"}.' };
  }
  const bound = claimsBoundProblem(parsed.value);
  if (bound) return { problem: `Extra claims must not be ${bound}.` };
  const { sub: _ignored, ...rest } = parsed.value;
  return { claims: rest };
}
