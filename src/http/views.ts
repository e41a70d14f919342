import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Eta } from 'eta';
import type { Context } from 'koa';
import { VIEWS_DIR } from '../paths.js';

/** Renders the HTML pages in views/ with HTML-escaping on by default. */
export class Views {
  readonly #eta = new Eta({ views: VIEWS_DIR, autoEscape: true, cache: true });
  /** The page stylesheet, served from `/_issuer/style.css` (kept out of the HTML for the CSP). */
  readonly stylesheet = readFileSync(join(VIEWS_DIR, 'style.css'), 'utf8');

  constructor(private readonly demo: boolean) {}

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
    return this.#eta.render(`./${view}`, { demo: this.demo, ...data });
  }
}

/**
 * Headers for every HTML page we render: no framing, no inline script or style, no caching of
 * pages that carry per-user state.
 */
export const PAGE_HEADERS: Record<string, string> = {
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
const SCRIPT_PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/**
 * Sends `html` as one of our pages, with `PAGE_HEADERS` (and `status` when given). A page with
 * `scripts` may load module scripts and fetch from this origin.
 */
export function sendPage(
  ctx: Context,
  html: string,
  status?: number,
  options: { scripts?: boolean } = {},
): void {
  if (status !== undefined) ctx.status = status;
  ctx.set(PAGE_HEADERS);
  if (options.scripts) ctx.set('Content-Security-Policy', SCRIPT_PAGE_CSP);
  ctx.type = 'html';
  ctx.body = html;
}
