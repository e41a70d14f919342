/** Every environment variable the issuer reads, in one place. */
export const ENV = {
  config: 'OIDC_CONFIG',
  port: 'PORT',
  host: 'HOST',
  issuer: 'ISSUER',
  redisUrl: 'REDIS_URL',
  redisNamespace: 'REDIS_NAMESPACE',
  redisCaFile: 'REDIS_CA_FILE',
  redisCertFile: 'REDIS_CERT_FILE',
  redisKeyFile: 'REDIS_KEY_FILE',
  redisSentinelUsername: 'REDIS_SENTINEL_USERNAME',
  redisSentinelPassword: 'REDIS_SENTINEL_PASSWORD',
  logLevel: 'LOG_LEVEL',
  trustProxy: 'TRUST_PROXY',
  allowedHosts: 'ALLOWED_HOSTS',
  adminToken: 'ADMIN_TOKEN',
  keystoreSecret: 'KEYSTORE_SECRET',
  keystoreAcceptPlaintext: 'KEYSTORE_ACCEPT_PLAINTEXT',
  keysAlgorithms: 'KEYS_ALGORITHMS',
  keysRotationPeriod: 'KEYS_ROTATION_PERIOD',
  keysPrePublication: 'KEYS_PREPUBLICATION',
  keysRetention: 'KEYS_RETENTION',
  loginHeadless: 'LOGIN_HEADLESS',
  loginAnyUser: 'LOGIN_ANY_USER',
  loginConfirmLogout: 'LOGIN_CONFIRM_LOGOUT',
  tls: 'TLS',
  tlsCertFile: 'TLS_CERT_FILE',
  tlsKeyFile: 'TLS_KEY_FILE',
  /** Read by `start` itself (a process count, not a config field): cli/workers.ts. */
  workers: 'WORKERS',
} as const;

type Kind = 'text' | 'boolean' | 'list';

/** Which config field each variable sets (dotted path), and how its text is read. */
const SETTINGS: { name: string; path: string; kind: Kind }[] = [
  { name: ENV.port, path: 'port', kind: 'text' },
  { name: ENV.host, path: 'host', kind: 'text' },
  { name: ENV.issuer, path: 'issuer', kind: 'text' },
  { name: ENV.logLevel, path: 'logLevel', kind: 'text' },
  { name: ENV.trustProxy, path: 'trustProxy', kind: 'boolean' },
  { name: ENV.allowedHosts, path: 'allowedHosts', kind: 'list' },
  { name: ENV.redisUrl, path: 'redis.url', kind: 'text' },
  { name: ENV.redisNamespace, path: 'redis.namespace', kind: 'text' },
  { name: ENV.redisCaFile, path: 'redis.tls.caFile', kind: 'text' },
  { name: ENV.redisCertFile, path: 'redis.tls.certFile', kind: 'text' },
  { name: ENV.redisKeyFile, path: 'redis.tls.keyFile', kind: 'text' },
  { name: ENV.redisSentinelUsername, path: 'redis.sentinel.username', kind: 'text' },
  { name: ENV.redisSentinelPassword, path: 'redis.sentinel.password', kind: 'text' },
  { name: ENV.adminToken, path: 'admin.token', kind: 'text' },
  { name: ENV.keystoreSecret, path: 'keys.secret', kind: 'text' },
  { name: ENV.keystoreAcceptPlaintext, path: 'keys.acceptPlaintextRing', kind: 'boolean' },
  { name: ENV.keysAlgorithms, path: 'keys.algorithms', kind: 'list' },
  { name: ENV.keysRotationPeriod, path: 'keys.rotationPeriod', kind: 'text' },
  { name: ENV.keysPrePublication, path: 'keys.prePublication', kind: 'text' },
  { name: ENV.keysRetention, path: 'keys.retention', kind: 'text' },
  { name: ENV.loginHeadless, path: 'login.headless', kind: 'boolean' },
  { name: ENV.loginAnyUser, path: 'login.anyUser', kind: 'boolean' },
  { name: ENV.loginConfirmLogout, path: 'login.confirmLogout', kind: 'boolean' },
  { name: ENV.tls, path: 'tls', kind: 'text' },
  { name: ENV.tlsCertFile, path: 'tls.cert', kind: 'text' },
  { name: ENV.tlsKeyFile, path: 'tls.key', kind: 'text' },
];

const TRUE = /^(1|true|yes|on)$/i;
const FALSE = /^(0|false|no|off)$/i;

export interface EnvApplied {
  /** Config path → the name of the variable that set it, so messages can name the variable. */
  sources: Map<string, string>;
  /** Values that could not be read at all (a boolean that is neither yes nor no). */
  problems: string[];
}

/**
 * Writes the variables that are set (and not empty) into `raw` at their config paths, copying
 * each section it touches so the caller's objects are never changed.
 */
export function applyEnv(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): EnvApplied {
  const sources = new Map<string, string>();
  const problems: string[] = [];
  for (const { name, path, kind } of SETTINGS) {
    const text = env[name];
    if (text === undefined || text === '') continue;
    let value: unknown = text;
    if (kind === 'list') {
      value = text
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    } else if (kind === 'boolean') {
      if (!TRUE.test(text) && !FALSE.test(text)) {
        problems.push(`${name}: must be true or false (also 1/0, yes/no, on/off)`);
        continue;
      }
      value = TRUE.test(text);
    }
    setPath(raw, path, value);
    sources.set(path, name);
  }
  return { sources, problems };
}

function setPath(raw: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let target = raw;
  for (const key of keys.slice(0, -1)) {
    const current = target[key];
    const copy = current && typeof current === 'object' ? { ...(current as object) } : {};
    target[key] = copy;
    target = copy as Record<string, unknown>;
  }
  target[keys.at(-1) as string] = value;
}

/**
 * Rewrites a `path: reason` problem about a field that a variable (or a command-line flag) set
 * so it names that variable: `PORT: …`, not `port: …`; the user typed the variable, not the field.
 */
export function nameSource(problem: string, sources: Map<string, string>): string {
  const colon = problem.indexOf(': ');
  if (colon < 0) return problem;
  const path = problem.slice(0, colon);
  for (const [field, name] of sources) {
    if (path === field || path.startsWith(`${field}.`) || path.startsWith(`${field}[`)) {
      return `${name} (sets ${path}): ${problem.slice(colon + 2)}`;
    }
  }
  return problem;
}
