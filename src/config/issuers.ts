/**
 * `issuers:` — more issuers served by the same process besides the top-level one, each under
 * `<issuer>/<path>` with its own users, clients, resource servers, scopes, login options, TTLs
 * and key policy. What the process owns (listener, store, key storage) comes from the top
 * level; an entry may `extends: demo` as a whole file may.
 */
import { createHash } from 'node:crypto';
import { demoConfig } from './demo.js';
import { extendConfig } from './extend.js';
import type { IssuerConfig } from './schema.js';

/**
 * The first path segments of the top-level issuer's routes (oidc-provider's endpoints, our
 * pages, health, metrics, admin, console). An issuer path may not be one of them; a test
 * holds this list to the routes the app and the provider serve.
 */
export const ROOT_ROUTE_SEGMENTS: ReadonlySet<string> = new Set([
  '.well-known',
  '_issuer',
  'admin',
  'auth',
  'backchannel',
  'challenge',
  'credential',
  'debugger',
  'device',
  'favicon.ico',
  'healthz',
  'interaction',
  'jwks',
  'keys',
  'me',
  'metrics',
  'probe',
  'readyz',
  'reg',
  'request',
  'session',
  'token',
  'tools',
]);

/** Top-level settings an entry takes from the top level (it may not set them itself). */
export const PROCESS_SETTINGS = [
  'tls',
  'port',
  'host',
  'issuer',
  'trustProxy',
  'allowedHosts',
  'logLevel',
  'redis',
  'memoryStore',
  'console',
] as const;
/** The `keys` settings of where and how rings are stored, also the process's. */
export const PROCESS_KEY_SETTINGS = [
  'dir',
  'secret',
  'acceptPlaintextRing',
  'refreshInterval',
] as const;

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._~-]*$/;

/** An entry of `issuers:` made into a config of its own, ready for validation. */
export interface HostedIssuerRaw {
  /** Index in `issuers:`, for messages (`issuers[1].clients…`). */
  index: number;
  /** The mount path, `/azure`. */
  mountPath: string;
  raw: Record<string, unknown>;
  extendsDemo: boolean;
}

const isMapping = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * Each entry of `issuers` as a whole config: its own settings (on the demo's with
 * `extends: demo`), the top level's process settings, the issuer URL `<issuer>/<path>` and its
 * own store namespace (`<redis.namespace>-<path>` when the top level names one, else the hash
 * of its URL, as for any issuer). `problems` name the field at fault.
 */
export function hostedIssuerRaws(
  entries: readonly unknown[],
  top: Record<string, unknown>,
  topIssuer: string,
): { hosted: HostedIssuerRaw[]; problems: string[] } {
  const problems: string[] = [];
  const hosted: HostedIssuerRaw[] = [];
  const seen = new Map<string, number>();
  entries.forEach((entry, index) => {
    const at = `issuers[${index}]`;
    if (!isMapping(entry)) {
      problems.push(`${at}: must be a mapping of issuer settings with a path`);
      return;
    }
    const { path, extends: base, ...own } = entry;
    const segment = typeof path === 'string' ? path.replace(/^\//, '') : '';
    if (ROOT_ROUTE_SEGMENTS.has(segment)) {
      problems.push(`${at}.path: /${segment} would shadow the top-level issuer's /${segment}`);
      return;
    }
    if (typeof path !== 'string' || !SEGMENT.test(segment)) {
      problems.push(
        `${at}.path: must be one clean path segment like /azure (letters, digits, '.', '_', '~', '-'), not ${JSON.stringify(path)}`,
      );
      return;
    }
    const first = seen.get(segment.toLowerCase());
    if (first !== undefined) {
      problems.push(`${at}.path: /${segment} is the path of issuers[${first}] too`);
      return;
    }
    seen.set(segment.toLowerCase(), index);
    if (base !== undefined && base !== 'demo') {
      problems.push(
        `${at}.extends: must be "demo" (the built-in demo config), not ${JSON.stringify(base)}`,
      );
      return;
    }
    const owned = [
      ...PROCESS_SETTINGS.filter((key) => key in own),
      ...(isMapping(own.keys)
        ? PROCESS_KEY_SETTINGS.filter((key) => key in (own.keys as object)).map((k) => `keys.${k}`)
        : []),
      ...('issuers' in own ? ['issuers'] : []),
    ];
    for (const key of owned) {
      problems.push(`${at}.${key}: set at the top level only (the process owns it)`);
    }
    if (owned.length > 0) return;
    const raw = base === 'demo' ? extendConfig(demoConfig() as Record<string, unknown>, own) : own;
    hosted.push({
      index,
      mountPath: `/${segment}`,
      raw: withProcessSettings(raw, top, `${topIssuer.replace(/\/+$/, '')}/${segment}`, segment),
      extendsDemo: base === 'demo',
    });
  });
  return { hosted, problems };
}

function withProcessSettings(
  raw: Record<string, unknown>,
  top: Record<string, unknown>,
  issuer: string,
  segment: string,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...raw, issuer, console: { enabled: false } };
  for (const key of PROCESS_SETTINGS) {
    if (key === 'issuer' || key === 'console') continue;
    if (top[key] === undefined) delete out[key];
    else out[key] = top[key];
  }
  const topRedis = isMapping(top.redis) ? top.redis : {};
  const named = typeof topRedis.namespace === 'string' ? topRedis.namespace : undefined;
  out.redis = { ...topRedis, namespace: named ? `${named}-${segment}` : namespaceFor(issuer) };
  const topKeys = isMapping(top.keys) ? top.keys : {};
  const keys: Record<string, unknown> = { ...(isMapping(raw.keys) ? raw.keys : {}) };
  for (const key of PROCESS_KEY_SETTINGS) if (topKeys[key] !== undefined) keys[key] = topKeys[key];
  out.keys = keys;
  return out;
}

/** The store namespace of an issuer that names none: a short hash of its URL. */
export function namespaceFor(issuer: string): string {
  return `iss-${createHash('sha256').update(issuer).digest('hex').slice(0, 12)}`;
}

/** The hosted issuer of `config` whose URL is `url` (a trailing slash aside), if any. */
export function hostedIssuerAt(config: IssuerConfig, url: string): IssuerConfig | undefined {
  const wanted = url.replace(/\/+$/, '');
  return config.issuers.find((hosted) => hosted.issuer === wanted);
}
