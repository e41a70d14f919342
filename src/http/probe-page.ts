/**
 * `/probe`: the web page of `oidc-issuer probe` — the same cases and report (src/probe), run
 * by this issuer against an API URL typed on the page. Part of the console (registered only
 * when `consoleEnabled(config)`); its script is `views/console/probe.js`.
 *
 * The issuer makes the requests, so the target is restricted: loopback URLs only (the API on
 * the developer's machine), plus the origins in `console.probeTargets`; no redirects are
 * followed, each request is bounded in time and only a few KB of each answer are read, and
 * one probe runs at a time. When the issuer listens on a non-loopback address, running the
 * probe needs the admin token, and the rotation drill always does (it rotates the real ring).
 */
import type Router from '@koa/router';
import type { SigningAlg } from '../algorithms.js';
import { isLoopback } from '../config/hosts.js';
import type { IssuerConfig } from '../config/schema.js';
import { IssuerError } from '../errors.js';
import { parseJsonObject } from '../json.js';
import { publicJwks } from '../keystore/jwks.js';
import {
  ProbeError,
  type ProbeOptions,
  parseHeaderLines,
  parseStatusSet,
} from '../probe/options.js';
import type { MintSource } from '../tools/mint.js';
import { SCRIPT_PAGE_CSP, sendPage, type Views } from '../views.js';
import { adminTokenMatches, type KeyAdmin } from './admin.js';
import { jsonBody } from './body.js';

export interface ProbePageDeps {
  config: IssuerConfig;
  views: Views;
  keys: KeyAdmin;
  clock: () => number;
  mint: MintSource;
}

export const PROBE_PAGE = '/probe';

/** Per request to the API; the drill waits as long as the CLI's default. */
const REQUEST_TIMEOUT_MS = 5000;
const ROTATION_WAIT_MS = 65_000;

export function probeRoutes(router: Router, deps: ProbePageDeps): void {
  const { config } = deps;
  const adminNeeded = !isLoopback(config.host);
  let running = false;

  router.get(PROBE_PAGE, (ctx) => {
    sendPage(
      ctx,
      deps.views.render('probe', {
        title: 'API probe',
        nav: PROBE_PAGE,
        scripts: ['probe.js'],
        issuer: config.issuer,
        audiences: config.resourceServers.map((r) => r.audience),
        targets: config.console.probeTargets,
        adminEnabled: config.admin.token !== undefined,
        adminNeeded,
      }),
      undefined,
      { csp: SCRIPT_PAGE_CSP },
    );
  });

  router.post('/_issuer/console/probe', jsonBody(64 * 1024), async (ctx) => {
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    const rotate = body.rotate === true;
    if (rotate || adminNeeded) {
      const why = rotate
        ? 'the rotation drill rotates the real key ring'
        : 'this issuer is reachable from other machines';
      if (!config.admin.token) {
        throw new IssuerError(
          'CONSOLE_ADMIN_OFF',
          `${why}: it needs the admin token, and none is configured (ADMIN_TOKEN)`,
        );
      }
      if (!adminTokenMatches(String(body.adminToken ?? ''), config.admin.token)) {
        throw new IssuerError('CONSOLE_ADMIN_TOKEN_REQUIRED', `${why}: give the admin token`);
      }
    }
    const options = probeOptions(body, config.console.probeTargets, rotate);
    if (running) {
      throw new IssuerError('PROBE_BUSY', 'a probe is running already; try again when it ends');
    }
    running = true;
    try {
      // The probe itself is loaded with its first run: a start serves none.
      const [{ issuerInProcess }, { runProbe }, { expectedText, fixesOf, gotText, summaryLine }] =
        await Promise.all([
          import('../probe/issuer-local.js'),
          import('../probe/run.js'),
          import('../probe/report.js'),
        ]);
      const issuer = issuerInProcess({
        issuer: config.issuer,
        mint: deps.mint,
        jwks: () => publicJwks(deps.keys.current(), deps.clock()).keys,
        rotateNow: (alg) => deps.keys.rotate(alg as SigningAlg, { early: true }),
      });
      const report = await runProbe(issuer, options);
      ctx.set('Cache-Control', 'no-store');
      ctx.body = {
        report,
        summary: summaryLine(report),
        rows: report.cases.map((r) => ({
          ...r,
          expectedText: expectedText(r),
          gotText: gotText(r),
          fixes: fixesOf(r),
        })),
      };
    } finally {
      running = false;
    }
  });
}

/** The probe options from the page's form, with the target checked against the allow-list. */
function probeOptions(
  body: Record<string, unknown>,
  allowed: string[],
  rotate: boolean,
): ProbeOptions {
  const str = (name: string) => {
    const v = body[name];
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string') throw invalid(`${name} must be text`);
    return v.trim() === '' ? undefined : v.trim();
  };
  const url = str('url');
  if (!url || !URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
    throw invalid('the API URL must be an http(s) URL, e.g. http://localhost:4000/api/whoami');
  }
  const refusal = targetRefusal(new URL(url), allowed);
  if (refusal) throw invalid(refusal);
  const method = (str('method') ?? 'GET').toUpperCase();
  if (!/^[A-Z]{1,16}$/.test(method)) throw invalid('method must be an HTTP method such as GET');
  const type = str('type') ?? 'access';
  if (type !== 'access' && type !== 'id') throw invalid('type must be access or id');
  const claimsText = str('claims');
  let claims: Record<string, unknown> | undefined;
  if (claimsText) {
    const parsed = parseJsonObject(claimsText);
    if (!parsed.ok) {
      throw invalid(
        parsed.syntax !== undefined
          ? `claims is not valid JSON: ${parsed.syntax}`
          : 'claims must be a JSON object, e.g. {"groups":["admins"]}',
      );
    }
    claims = parsed.value;
  }
  const reqBody = str('body');
  const [aud, scope, sub, clientId] = ['aud', 'scope', 'sub', 'clientId'].map(str);
  return {
    target: {
      url,
      method,
      headers: parseHeaderLines((str('headers') ?? '').split('\n')),
      ...(reqBody !== undefined ? { body: reqBody } : {}),
    },
    token: {
      type,
      ...(aud ? { aud } : {}),
      ...(scope ? { scope } : {}),
      ...(sub ? { sub } : {}),
      ...(clientId ? { clientId } : {}),
      ...(claims ? { claims } : {}),
    },
    acceptStatus: parseStatusSet(str('acceptStatus') ?? '2xx'),
    refuseStatus: parseStatusSet(str('refuseStatus') ?? '401,403'),
    rotate,
    rotationWaitMs: ROTATION_WAIT_MS,
    timeoutMs: REQUEST_TIMEOUT_MS,
  };
}

/**
 * Why the page may not call `url`, or undefined: loopback hosts (by name `localhost` or as an
 * IP literal, so no DNS answer can move them) and the configured origins only.
 */
export function targetRefusal(url: URL, allowed: string[]): string | undefined {
  if (isLoopback(url.hostname) || allowed.includes(url.origin)) return undefined;
  return `the page probes only loopback URLs (localhost, 127.0.0.1, [::1])${
    allowed.length > 0 ? ` and ${allowed.join(', ')}` : ''
  }; add ${url.origin} to console.probeTargets to allow it, or use the CLI`;
}

function invalid(message: string): ProbeError {
  return new ProbeError('PROBE_OPTIONS_INVALID', message);
}
