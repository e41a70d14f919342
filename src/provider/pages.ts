import type Koa from 'koa';
import type { Configuration, KoaContextWithOIDC } from 'oidc-provider';
import type { IssuerConfig } from '../config/schema.js';
import { RETRY_AFTER, StoreUnavailableError } from '../errors.js';
import { errorHeading, errorPage, inlineScriptCsp, sendPage, type Views } from '../views.js';
import { explainError } from './error-details.js';

type Features = NonNullable<Configuration['features']>;
type DeviceSources = Pick<
  NonNullable<Features['deviceFlow']>,
  'userCodeInputSource' | 'userCodeConfirmSource' | 'successSource'
>;
type LogoutSources = Pick<
  NonNullable<Features['rpInitiatedLogout']>,
  'logoutSource' | 'postLogoutSuccessSource'
>;

/** Submits the logout form of a skipped confirmation (allowed by its hash in the page's CSP). */
const LOGOUT_AUTO_SUBMIT = "document.getElementById('logout-continue').click();";
const LOGOUT_AUTO_SUBMIT_CSP = inlineScriptCsp(LOGOUT_AUTO_SUBMIT);

/**
 * The pages oidc-provider renders through our views — device flow, logout, its error page,
 * the 404 for paths nobody serves and store failures outside its error handling — with our
 * headers (see `sendPage`).
 */
export function providerPages(config: IssuerConfig, views: Views) {
  const clientNameOf = (ctx: KoaContextWithOIDC) =>
    ctx.oidc.client?.clientName ?? ctx.oidc.client?.clientId;

  const device: DeviceSources = {
    userCodeInputSource: async (ctx, form, out) => {
      sendPage(
        ctx,
        views.render('device', {
          title: 'Device sign-in',
          heading: 'Enter the code shown on your device',
          step: 'input',
          // oidc-provider's form selects the code on focus with an inline handler, which our
          // CSP (no inline script) would refuse with a console error on every visit.
          form: form.replace(/\sonfocus="[^"]*"/, ''),
          error: out ? (out.error_description ?? out.error) : undefined,
        }),
        out ? 400 : 200,
      );
    },
    userCodeConfirmSource: async (ctx, form, client, _deviceInfo, userCode) => {
      sendPage(
        ctx,
        views.render('device', {
          title: 'Device sign-in',
          heading: 'Confirm the device',
          step: 'confirm',
          message: `${client.clientName ?? client.clientId} asks to sign in with code ${userCode}.`,
          form,
        }),
        200,
      );
    },
    successSource: async (ctx) => {
      sendPage(
        ctx,
        views.render('device', {
          title: 'Device signed in',
          heading: 'Done',
          step: 'done',
          message: 'Your device is signed in. You can close this page.',
        }),
        200,
      );
    },
  };

  const logout: LogoutSources = {
    logoutSource: async (ctx, form) => {
      const auto = !config.login.confirmLogout && logoutNeedsNoConfirmation(ctx);
      const html = views.render('logout', {
        title: auto ? 'Signing out' : 'Sign out',
        host: ctx.host,
        clientName: clientNameOf(ctx),
        form,
        autoSubmit: auto ? LOGOUT_AUTO_SUBMIT : undefined,
      });
      sendPage(ctx, html, 200, auto ? { csp: LOGOUT_AUTO_SUBMIT_CSP } : {});
    },
    postLogoutSuccessSource: async (ctx) => {
      sendPage(
        ctx,
        views.render('logged-out', { title: 'Signed out', clientName: clientNameOf(ctx) }),
        200,
      );
    },
  };

  const renderError: NonNullable<Configuration['renderError']> = async (ctx, out, error) => {
    const status = (error as { statusCode?: number }).statusCode ?? 500;
    const oidc = ctx.oidc as KoaContextWithOIDC['oidc'] | undefined;
    const params = (oidc?.params ??
      (ctx.method === 'POST' ? oidc?.body : ctx.query) ??
      {}) as Record<string, unknown>;
    const details = explainError(
      {
        error: out.error,
        description: out.error_description,
        params,
        clientId: oidc?.client?.clientId,
      },
      config.clients,
      config.mountPath,
    );
    const heading = errorHeading(status, 'Something is wrong with this request');
    sendPage(
      ctx,
      views.render('error', errorPage(heading, out.error, details)),
      Math.max(status, 400),
    );
  };

  /** The house-style 404: an HTML page for browsers, JSON otherwise. */
  const notFound: Koa.Middleware = async (ctx, next) => {
    await next();
    if (ctx.status !== 404 || ctx.body != null) return;
    const description = `nothing is served at ${config.mountPath}${ctx.path}`;
    if (ctx.accepts('json', 'html') === 'html') {
      const page = errorPage('Page not found', 'not_found', {
        description,
        facts: [
          { label: 'Endpoints', values: [`${config.issuer}/.well-known/openid-configuration`] },
        ],
        hints: ['Every endpoint of the issuer is listed in its discovery document.'],
      });
      sendPage(ctx, views.render('error', { ...page, title: 'Not found' }), 404);
    } else {
      ctx.status = 404;
      ctx.body = { error: 'not_found', error_description: description };
    }
  };

  /**
   * A store failure that escapes oidc-provider's error handling (its session save and our token
   * endpoint additions run outside it), answered as one inside it would be: the error page for
   * browsers, the JSON error otherwise — not koa's plain-text fallback — with `Retry-After` as
   * every 503 of ours has.
   */
  const storeFailures: Koa.Middleware = (ctx, next) =>
    // A catch rather than an async frame: one promise less on every request.
    next().catch(async (err: unknown) => {
      if (!(err instanceof StoreUnavailableError)) throw err;
      const out = { error: err.error, error_description: err.error_description };
      ctx.set('Retry-After', RETRY_AFTER);
      if (ctx.accepts('json', 'html') === 'html') {
        await renderError(ctx as KoaContextWithOIDC, out, err);
      } else {
        ctx.status = err.status;
        ctx.body = out;
      }
    });

  return { device, logout, renderError, notFound, storeFailures };
}

/**
 * A logout may skip its confirmation page when the relying party proved who it is and where to
 * go: an `id_token_hint` oidc-provider verified (signature, our issuer, its audience is the
 * client) for the user signed in right now, and a registered `post_logout_redirect_uri`
 * (oidc-provider refuses unregistered ones before this page).
 */
function logoutNeedsNoConfirmation(ctx: KoaContextWithOIDC): boolean {
  const hint = ctx.oidc.entities.IdTokenHint as { payload?: { sub?: unknown } } | undefined;
  const redirect = ctx.oidc.params?.post_logout_redirect_uri;
  return (
    typeof redirect === 'string' &&
    hint?.payload?.sub !== undefined &&
    hint.payload.sub === ctx.oidc.session?.accountId
  );
}
