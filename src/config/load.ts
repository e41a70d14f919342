import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import { crossFieldProblems } from './cross-field-rules.js';
import { demoConfig, demoCredentialsIn } from './demo.js';
import { applyEnv, ENV, nameSource } from './env.js';
import { extendConfig } from './extend.js';
import { describeIssue } from './issue-text.js';
import { hostedIssuerRaws, namespaceFor } from './issuers.js';
import { configSchema, type IssuerConfig, type RawConfig } from './schema.js';
import { yaml } from './yaml.js';

export { ENV } from './env.js';

export interface LoadOptions {
  /** Path of a YAML or JSON config file; falls back to `OIDC_CONFIG`, then the demo config. */
  file?: string | undefined;
  /** Overrides applied after the file and the environment (CLI flags, in-process API). */
  overrides?: Partial<RawConfig>;
  /** For messages: the flag that set each overridden field (`{ port: '--port' }`). */
  overrideNames?: Record<string, string>;
  env?: NodeJS.ProcessEnv;
}

/** What a configuration is made of; `parseConfig` reads nothing else. */
export interface ConfigSource {
  /** The config file's text; absent means the built-in demo config. */
  text?: string | undefined;
  /**
   * The file's path: `.json` picks the JSON parser (else YAML), its folder anchors the
   * relative paths written in the file (`keys.dir`), and messages name it.
   */
  path?: string | undefined;
  env: NodeJS.ProcessEnv;
  overrides?: Partial<RawConfig> | undefined;
  overrideNames?: Record<string, string> | undefined;
}

/**
 * Loads the config file (or the built-in demo config), applies environment variables and
 * overrides, and validates everything in one pass. Throws `ConfigError` listing every problem,
 * each prefixed by the path of the field at fault (or the variable or flag that set it).
 */
export function loadConfig(options: LoadOptions = {}): IssuerConfig {
  const env = options.env ?? process.env;
  const file = configFileOf(options.file, env);
  return parseConfig({
    text: file === undefined ? undefined : readConfigText(file),
    path: file,
    env,
    overrides: options.overrides,
    overrideNames: options.overrideNames,
  });
}

/** The config file `loadConfig` reads: `file`, else `OIDC_CONFIG`; undefined means the demo. */
export function configFileOf(
  file: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  return file || env[ENV.config] || undefined;
}

/** Reads a config file's text; a file that cannot be read is a `ConfigError` naming it. */
function readConfigText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([`${file}: cannot read the config file (${(err as Error).message})`]);
  }
}

/**
 * The configuration made of `source` and nothing else (no file system, no process.env): the
 * same text, environment and path give the same result, so a running issuer can re-run it
 * when its file changes. Throws `ConfigError` with every problem at once.
 */
export function parseConfig(source: ConfigSource): IssuerConfig {
  const { text, path, env, overrides } = source;
  const file = text === undefined ? undefined : parseConfigText(text, path ?? '(config text)');
  let raw: Record<string, unknown>;
  let extendsDemo = false;
  if (file === undefined) {
    raw = { ...demoConfig() };
  } else {
    const { extends: base, ...own } = file;
    if (base !== undefined && base !== 'demo') {
      throw new ConfigError([
        `extends: must be "demo" (the built-in demo config), not ${JSON.stringify(base)}`,
      ]);
    }
    extendsDemo = base === 'demo';
    raw = extendsDemo ? extendConfig(demoConfig() as Record<string, unknown>, own) : own;
    if (path !== undefined) anchorPaths(raw, own, dirname(path));
  }
  const applied = applyEnv(raw, env);
  Object.assign(raw, overrides ?? {});
  for (const [field, flag] of Object.entries(source.overrideNames ?? {})) {
    if (overrides && field in overrides) applied.sources.set(field, flag);
  }
  // An issuer left at its default follows the port, so `--port 4000` alone gives a working URL
  // (a bad port is reported as a port problem, not as an issuer built from it).
  const explicitIssuer =
    Boolean(env[ENV.issuer]) || overrides?.issuer !== undefined || file?.issuer !== undefined;
  const followed = defaultIssuer(raw);
  if (!explicitIssuer && followed) raw.issuer = followed;
  return validateConfig(raw, {
    demo: file === undefined,
    extendsDemo,
    sources: applied.sources,
    problems: applied.problems,
  });
}

/** The file paths written in a config file (`own`) read from the file's folder `dir`. */
function anchorPaths(raw: Record<string, unknown>, own: Record<string, unknown>, dir: string) {
  const keysDir = (own.keys as { dir?: unknown } | undefined)?.dir;
  if (typeof keysDir === 'string')
    raw.keys = { ...(raw.keys as object), dir: resolve(dir, keysDir) };
  const tls = own.tls as { cert?: unknown; key?: unknown } | undefined;
  if (tls && typeof tls === 'object') {
    raw.tls = {
      ...tls,
      ...(typeof tls.cert === 'string' ? { cert: resolve(dir, tls.cert) } : {}),
      ...(typeof tls.key === 'string' ? { key: resolve(dir, tls.key) } : {}),
    };
  }
}

/**
 * The issuer URL a config without one gets: `http://localhost:<port>`, `https://` with `tls`;
 * undefined while the port is not a valid one (it is reported as a port problem instead).
 */
function defaultIssuer(raw: Record<string, unknown>): string | undefined {
  const port = /^\d+$/.test(String(raw.port ?? 3000)) ? Number(raw.port ?? 3000) : Number.NaN;
  if (!(port >= 0 && port <= 65535)) return undefined;
  return `${raw.tls === undefined ? 'http' : 'https'}://localhost:${port}`;
}

export interface ValidateOptions {
  /** The built-in demo config is in use. */
  demo?: boolean;
  /** The config extends the demo: demo mode lasts while it serves demo credentials. */
  extendsDemo?: boolean;
  /** Config path → the variable or flag that set it, named in messages instead of the path. */
  sources?: Map<string, string>;
  /** Problems found before validation (unreadable variables), reported with the rest. */
  problems?: string[];
}

/** Validates an already-assembled raw config (used by tests and the in-process API). */
export function validateConfig(raw: unknown, options: ValidateOptions = {}): IssuerConfig {
  const sources = options.sources ?? new Map<string, string>();
  const named = (problems: string[]) => problems.map((p) => nameSource(p, sources));
  const unset =
    raw && typeof raw === 'object' && (raw as { issuer?: unknown }).issuer === undefined;
  const issuer = unset ? defaultIssuer(raw as Record<string, unknown>) : undefined;
  const result = configSchema.safeParse(issuer ? { ...(raw as object), issuer } : raw);
  if (!result.success) {
    throw new ConfigError([
      ...(options.problems ?? []),
      ...named(result.error.issues.flatMap(describeIssue)),
    ]);
  }
  const parsed = result.data;
  const users = parsed.users.map((u) => ({ ...u, sub: u.sub ?? u.username }));
  const servesDemo = () => {
    const served = demoCredentialsIn({ users, clients: parsed.clients });
    return served.users.length > 0 || served.clients.length > 0;
  };
  const hosted = hostedIssuerRaws(parsed.issuers, raw as Record<string, unknown>, parsed.issuer);
  const issuerProblems = [...hosted.problems];
  const issuers = hosted.hosted.flatMap(({ index, mountPath, raw: own, extendsDemo }) => {
    try {
      return [{ ...validateConfig(own, { extendsDemo }), mountPath }];
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      issuerProblems.push(...err.problems.map((p) => `issuers[${index}].${p}`));
      return [];
    }
  });
  const config = {
    ...parsed,
    users,
    redis: { ...parsed.redis, namespace: parsed.redis.namespace ?? namespaceFor(parsed.issuer) },
    demo: options.demo === true || (options.extendsDemo === true && servesDemo()),
    mountPath: '',
    issuers,
  };
  const problems = [
    ...(options.problems ?? []),
    ...named(crossFieldProblems(config)),
    ...issuerProblems,
  ];
  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze(config);
}

function parseConfigText(text: string, file: string): Record<string, unknown> {
  let data: unknown;
  try {
    data = file.endsWith('.json') ? JSON.parse(text) : yaml().parse(text);
  } catch (err) {
    throw new ConfigError([
      `${file}: not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`,
    ]);
  }
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError([`${file}: the top level must be a mapping of settings`]);
  }
  // A YAML section whose settings are all commented out reads as null: treat it as absent.
  return Object.fromEntries(Object.entries(data).filter(([, v]) => v !== null));
}

/** `value` and everything it holds, frozen. */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
