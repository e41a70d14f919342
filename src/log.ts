import { type Logger, pino } from 'pino';

/**
 * `text` with the credentials of every URL in it masked (`scheme://***@host`), for messages
 * and, through the logger, every log line. Up to the last `@` before the host, as URL parsers
 * read it, so a password with a raw `@` is masked whole.
 */
export function redactUrl(text: string): string {
  return text.replace(/\/\/[^/\s"]*@/g, '//***@');
}

/** A literal secret shorter than this is not scrubbed from text (it would mangle ordinary words). */
const MIN_LITERAL_SECRET = 6;

const CENSOR = '[redacted]';

/**
 * The process logger: JSON lines on stdout (one object per event, with `reqId` on request
 * logs). `silent` turns it off, e.g. for the in-process API inside someone else's test suite.
 *
 * Secrets never reach a line, at any level: fields named `password`, `secret` or `token` are
 * censored; errors lose the arguments of the Redis command they carry (ioredis attaches
 * `command.args`, e.g. `HELLO 3 AUTH <user> <password>`); credentials in any URL
 * (`scheme://user:pass@`) are cut from the written line; and each of `secrets` (see
 * {@link logSecretsOf}) is replaced wherever it appears.
 */
export function createLogger(
  level: string,
  destination?: NodeJS.WritableStream,
  secrets: readonly string[] = [],
): Logger {
  const literals = literalForms(secrets);
  return pino(
    {
      level,
      base: { name: 'oidc-issuer' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: ['password', 'secret', 'token', '*.password', '*.secret'],
        censor: CENSOR,
      },
      serializers: {
        err: (err: unknown) => withoutCommandArgs(pino.stdSerializers.err(err as Error)),
      },
      hooks: {
        streamWrite: (line) => {
          let out = redactUrl(line);
          for (const literal of literals) out = out.replaceAll(literal, CENSOR);
          return out;
        },
      },
    },
    destination ?? process.stdout,
  );
}

/** The parts of the issuer config that hold secrets (structural, so the ground floor imports no config). */
export interface LogSecretSources {
  readonly redis: {
    readonly url?: string | undefined;
    readonly sentinel?: { readonly password?: string | undefined } | undefined;
  };
  readonly admin: { readonly token?: string | undefined };
  readonly keys: { readonly secret?: string | undefined };
}

/**
 * The configured secrets a log line must never contain: the store URL's password (and its
 * `user:password` pair), the Sentinels' password, the admin token and the key-ring secret.
 */
export function logSecretsOf(config: LogSecretSources): string[] {
  const secrets: string[] = [];
  const url = config.redis.url;
  const userinfo = url ? /^[a-z+]+:\/\/([^/]*)@/i.exec(url)?.[1] : undefined;
  if (userinfo) {
    const colon = userinfo.indexOf(':');
    const password = colon >= 0 ? userinfo.slice(colon + 1) : '';
    if (password) secrets.push(userinfo, password, safeDecode(password));
  }
  if (config.redis.sentinel?.password) secrets.push(config.redis.sentinel.password);
  if (config.admin.token) secrets.push(config.admin.token);
  if (config.keys.secret) secrets.push(config.keys.secret);
  return secrets;
}

/** Each secret as it may appear in a written line: raw, URL-encoded and JSON-escaped. */
function literalForms(secrets: readonly string[]): string[] {
  const forms = new Set<string>();
  for (const s of secrets) {
    if (s.length < MIN_LITERAL_SECRET) continue;
    forms.add(s);
    forms.add(encodeURIComponent(s));
    forms.add(JSON.stringify(s).slice(1, -1));
  }
  // Longest first, so a pair is replaced before the password inside it.
  return [...forms].sort((a, b) => b.length - a.length);
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * A copy of a serialised error in which every `command` (ioredis' failed command, also on
 * nested `previousErrors` and causes) keeps its name and loses its arguments.
 */
function withoutCommandArgs(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => withoutCommandArgs(v, depth + 1));
  const source: Record<string, unknown> =
    value instanceof Error
      ? { type: value.name, message: value.message, ...(value as object) }
      : (value as Record<string, unknown>);
  const copy: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(source)) {
    if (key === 'command' && v && typeof v === 'object') {
      copy[key] = { name: (v as { name?: unknown }).name, args: CENSOR };
    } else {
      copy[key] = withoutCommandArgs(v, depth + 1);
    }
  }
  return copy;
}
