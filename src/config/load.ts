import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { closest, distance } from 'fastest-levenshtein';
import type { z } from 'zod';
import { ConfigError } from '../errors.js';
import { clientProblems } from './client-rules.js';
import { demoConfig } from './demo.js';
import { formatDuration } from './duration.js';
import { configSchema, type IssuerConfig, type RawConfig } from './schema.js';

/** Every environment variable the issuer reads, in one place. */
export const ENV = {
  config: 'OIDC_CONFIG',
  port: 'PORT',
  host: 'HOST',
  issuer: 'ISSUER',
  redisUrl: 'REDIS_URL',
  redisNamespace: 'REDIS_NAMESPACE',
  logLevel: 'LOG_LEVEL',
  trustProxy: 'TRUST_PROXY',
  allowedHosts: 'ALLOWED_HOSTS',
  adminToken: 'ADMIN_TOKEN',
  keystoreSecret: 'KEYSTORE_SECRET',
  keystoreAcceptPlaintext: 'KEYSTORE_ACCEPT_PLAINTEXT',
} as const;

export interface LoadOptions {
  /** Path of a YAML or JSON config file; falls back to `OIDC_CONFIG`, then the demo config. */
  file?: string | undefined;
  /** Overrides applied after the file and the environment (CLI flags, in-process API). */
  overrides?: Partial<RawConfig>;
  env?: NodeJS.ProcessEnv;
}

/**
 * Loads the config file (or the built-in demo config), applies environment variables and
 * overrides, and validates everything in one pass. Throws `ConfigError` listing every problem,
 * each prefixed by the path of the field at fault.
 */
export function loadConfig(options: LoadOptions = {}): IssuerConfig {
  const env = options.env ?? process.env;
  const file = options.file ?? env[ENV.config];
  const raw: Record<string, unknown> = file ? readConfigFile(file) : { ...demoConfig() };
  applyEnv(raw, env);
  Object.assign(raw, options.overrides ?? {});
  // An issuer left at its default follows the port, so `--port 4000` alone gives a working URL
  // (a bad port is reported as a port problem, not as an issuer built from it).
  const port = /^\d+$/.test(String(raw.port ?? '')) ? Number(raw.port) : Number.NaN;
  if (!explicitIssuer(file, raw, env, options.overrides) && port >= 0 && port <= 65535) {
    raw.issuer = `http://localhost:${port}`;
  }
  return validateConfig(raw, { demo: !file });
}

/** Validates an already-assembled raw config (used by tests and the in-process API). */
export function validateConfig(raw: unknown, { demo = false } = {}): IssuerConfig {
  const result = configSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(result.error.issues.flatMap(describeIssue));
  const parsed = result.data;
  const users = parsed.users.map((u) => ({ ...u, sub: u.sub ?? u.username }));
  const config = {
    ...parsed,
    users,
    redis: { ...parsed.redis, namespace: parsed.redis.namespace ?? namespaceFor(parsed.issuer) },
    demo,
  };
  const problems = crossFieldProblems(config);
  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze(config);
}

function explicitIssuer(
  file: string | undefined,
  raw: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
  overrides: Partial<RawConfig> | undefined,
): boolean {
  if (env[ENV.issuer] || overrides?.issuer !== undefined) return true;
  return file !== undefined && raw.issuer !== undefined;
}

/** The YAML parser, loaded only when a YAML file is read (keeps it out of every start). */
function parseYaml(text: string): unknown {
  const yaml = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return yaml.parse(text);
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([`${file}: cannot read the config file (${(err as Error).message})`]);
  }
  let data: unknown;
  try {
    data = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
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

function applyEnv(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): void {
  const set = (name: string, apply: (value: string) => void) => {
    const value = env[name];
    if (value !== undefined && value !== '') apply(value);
  };
  const section = (key: string) => {
    const current = raw[key];
    const copy = current && typeof current === 'object' ? { ...(current as object) } : {};
    raw[key] = copy;
    return copy as Record<string, unknown>;
  };
  set(ENV.port, (v) => {
    raw.port = v;
  });
  set(ENV.host, (v) => {
    raw.host = v;
  });
  set(ENV.issuer, (v) => {
    raw.issuer = v;
  });
  set(ENV.logLevel, (v) => {
    raw.logLevel = v;
  });
  set(ENV.trustProxy, (v) => {
    raw.trustProxy = /^(1|true|yes)$/i.test(v);
  });
  set(ENV.allowedHosts, (v) => {
    raw.allowedHosts = v
      .split(',')
      .map((h) => h.trim())
      .filter(Boolean);
  });
  set(ENV.redisUrl, (v) => {
    section('redis').url = v;
  });
  set(ENV.redisNamespace, (v) => {
    section('redis').namespace = v;
  });
  set(ENV.adminToken, (v) => {
    section('admin').token = v;
  });
  set(ENV.keystoreSecret, (v) => {
    section('keys').secret = v;
  });
  set(ENV.keystoreAcceptPlaintext, (v) => {
    section('keys').acceptPlaintextRing = /^(1|true|yes)$/i.test(v);
  });
}

/** A config path as people write it: `clients[1].redirectUris[0]`. */
function pathText(path: readonly PropertyKey[]): string {
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
    .join('');
}

function describeIssue(issue: z.core.$ZodIssue): string[] {
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeysAt(configSchema, issue.path);
    return issue.keys.map((k) => {
      const near = known.length > 0 ? closest(k, known) : undefined;
      const hint =
        near && distance(k, near) <= Math.max(2, near.length / 3) ? `; did you mean ${near}?` : '';
      return `${pathText([...issue.path, k])}: unknown setting${hint}`;
    });
  }
  return [`${pathText(issue.path) || '(top level)'}: ${issue.message}`];
}

/** The setting names an object in the schema accepts at `path` (for "did you mean"). */
function knownKeysAt(schema: z.core.$ZodType, path: readonly PropertyKey[]): string[] {
  let node: z.core.$ZodType | undefined = schema;
  const rest = [...path];
  while (node) {
    const def = node._zod.def as unknown as Record<string, unknown> & { type: string };
    if (def.type === 'object' && rest.length === 0) return Object.keys(def.shape as object);
    if (def.type === 'object')
      node = (def.shape as Record<PropertyKey, z.core.$ZodType>)[rest.shift() as PropertyKey];
    else if (def.type === 'array' || def.type === 'record') {
      rest.shift();
      node = (def.type === 'array' ? def.element : def.valueType) as z.core.$ZodType;
    } else if (def.type === 'pipe') node = def.in as z.core.$ZodType;
    else node = def.innerType as z.core.$ZodType | undefined;
  }
  return [];
}

/** Rules that span several fields; each message names the field at fault. */
function crossFieldProblems(c: IssuerConfig): string[] {
  const problems: string[] = [];
  const dupes = (values: string[]) => values.filter((v, i) => values.indexOf(v) !== i);
  for (const d of dupes(c.users.map((u) => u.username)))
    problems.push(`users: duplicate username "${d}"`);
  for (const d of dupes(c.users.map((u) => u.sub))) problems.push(`users: duplicate sub "${d}"`);
  for (const d of dupes(c.clients.map((cl) => cl.id)))
    problems.push(`clients: duplicate id "${d}"`);
  const clientIds = new Set(c.clients.map((cl) => cl.id));
  c.users.forEach((u, i) => {
    // A client_credentials token's sub is the client id: the user's tokens would look like it.
    if (clientIds.has(u.sub))
      problems.push(`users.${i}.sub: "${u.sub}" is also a client id; subjects must be distinct`);
  });
  for (const d of dupes(c.resourceServers.map((r) => r.audience))) {
    problems.push(`resourceServers: duplicate audience "${d}"`);
  }
  const audiences = new Set(c.resourceServers.map((r) => r.audience));
  const resourceScopes = new Set(c.resourceServers.flatMap((r) => r.scopes));
  const knownScopes = new Set([
    'openid',
    'offline_access',
    ...Object.keys(c.scopes),
    ...resourceScopes,
  ]);
  c.clients.forEach((cl, i) => {
    problems.push(
      ...clientProblems(cl, `clients[${i}]`, {
        audiences,
        knownScopes,
        algorithms: c.keys.algorithms,
      }),
    );
  });
  c.resourceServers.forEach((r, i) => {
    if (r.signingAlg && !c.keys.algorithms.includes(r.signingAlg)) {
      problems.push(`resourceServers[${i}].signingAlg: ${r.signingAlg} is not in keys.algorithms`);
    }
  });
  const longestToken = Math.max(
    c.ttl.accessToken,
    c.ttl.idToken,
    c.ttl.clientCredentials,
    ...c.resourceServers.map((r) => r.accessTokenTtl),
  );
  const needed = longestToken + c.clockTolerance;
  if (c.keys.retention < needed) {
    problems.push(
      `keys.retention: ${formatDuration(c.keys.retention)} is shorter than the longest token lifetime plus clock tolerance (${formatDuration(needed)}); tokens would outlive the key that verifies them`,
    );
  }
  if (c.keys.rotationPeriod < c.keys.prePublication) {
    problems.push(
      `keys.rotationPeriod: ${formatDuration(c.keys.rotationPeriod)} is shorter than keys.prePublication (${formatDuration(c.keys.prePublication)}); a new key could not be published long enough before it signs`,
    );
  }
  if (c.keys.prePublication <= 0) problems.push('keys.prePublication: must be greater than 0');
  if (c.keys.rotationPeriod <= 0) problems.push('keys.rotationPeriod: must be greater than 0');
  return problems;
}

function namespaceFor(issuer: string): string {
  return `iss-${createHash('sha256').update(issuer).digest('hex').slice(0, 12)}`;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
