/**
 * The HTML pages in views/ and how they are sent: the renderer, the error page's data, and the
 * headers (CSP) every page carries. On the ground floor: provider/ renders oidc-provider's
 * pages and http/ our own with the same views.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Eta } from 'eta';
import type { Context } from 'koa';
import { VIEWS_DIR } from './paths.js';

// One renderer per process: it compiles each view once, for every issuer and every reload
// (the views/ folder ships with the package and does not change while it runs).
let shared: { eta: Eta; stylesheet: string; favicon: string } | undefined;
const assets = () =>
  (shared ??= {
    eta: new Eta({ views: VIEWS_DIR, autoEscape: true, cache: true }),
    stylesheet: readFileSync(join(VIEWS_DIR, 'style.css'), 'utf8'),
    favicon: readFileSync(join(VIEWS_DIR, 'favicon.svg'), 'utf8'),
  });

/** Renders the HTML pages in views/ with HTML-escaping on by default. */
export class Views {
  readonly #eta = assets().eta;
  /** The page stylesheet, served from `/_issuer/style.css` (kept out of the HTML for the CSP). */
  readonly stylesheet = assets().stylesheet;
  /** The page icon, served from `/_issuer/favicon.svg` and `/favicon.ico`. */
  readonly favicon = assets().favicon;

  /**
   * @param base the issuer's mount path (`''` at the top, `/azure` for a hosted issuer): the
   *   prefix of every link and form action on the pages.
   */
  constructor(
    private readonly demo: boolean,
    private readonly base = '',
  ) {}

  render(
    view:
      | 'index'
      | 'login'
      | 'consent'
      | 'logout'
      | 'logged-out'
      | 'error'
      | 'device'
      | 'debugger'
      | 'debugger-callback'
      | 'tools'
      | 'keys'
      | 'probe',
    data: Record<string, unknown>,
  ): string {
    return this.#eta.render(`./${view}`, { demo: this.demo, base: this.base, ...data });
  }
}

/** A labelled list of values on an error page (escaped by the view like everything else). */
export interface ErrorFact {
  label: string;
  values: string[];
}

/** What an error page says beyond its error code: the concrete story and what to do. */
export interface ErrorDetails {
  description?: string | undefined;
  facts: ErrorFact[];
  hints: string[];
}

/**
 * An error page's heading: one wording for every 503, on our pages and oidc-provider's,
 * `otherwise` for the rest.
 */
export function errorHeading(status: number, otherwise: string): string {
  return status === 503 ? 'Temporarily unavailable' : otherwise;
}

/** What an error page tells someone to do while the issuer cannot reach its store. */
export const UNAVAILABLE_HINT = 'The issuer cannot reach its store. Try again in a few seconds.';

/** The data of views/error.eta, complete so the page never prints a missing field. */
export function errorPage(
  heading: string,
  error: string,
  details: ErrorDetails,
): Record<string, unknown> {
  return { title: 'Error', heading, error, ...details };
}

/**
 * Headers for every HTML page we render: no framing, no inline script or style, no caching of
 * pages that carry per-user state.
 */
const PAGE_HEADERS: Record<string, string> = {
  'Content-Security-Policy':
    "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'",
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

/**
 * The console pages' CSP: as `PAGE_HEADERS`, plus scripts (module files only, never inline)
 * and fetches to this origin.
 */
export const SCRIPT_PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/**
 * `PAGE_HEADERS`' CSP plus the one inline script a page may run, allowed by its hash (CSP3
 * `'sha256-…'`). Compute it once per script, not per request.
 */
export function inlineScriptCsp(script: string): string {
  const hash = createHash('sha256').update(script).digest('base64');
  return `${PAGE_HEADERS['Content-Security-Policy']}; script-src 'sha256-${hash}'`;
}

/**
 * Sends `html` as one of our pages, with `PAGE_HEADERS` (and `status` when given); `csp`
 * replaces their Content-Security-Policy (`SCRIPT_PAGE_CSP`, `inlineScriptCsp(…)`).
 */
export function sendPage(
  ctx: Context,
  html: string,
  status?: number,
  options: { csp?: string } = {},
): void {
  if (status !== undefined) ctx.status = status;
  ctx.set(PAGE_HEADERS);
  if (options.csp !== undefined) ctx.set('Content-Security-Policy', options.csp);
  ctx.type = 'html';
  ctx.body = html;
}
