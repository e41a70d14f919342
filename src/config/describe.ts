/**
 * The configuration described for people and editors: the effective config written back as a
 * config file (`oidc-issuer config print`) and the JSON Schema of config files
 * (`oidc-issuer config schema`), both read off the one zod schema in schema.ts.
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import { redactUrl } from '../log.js';
import { demoCredentialsIn } from './demo.js';
import { formatDuration } from './duration.js';
import { PROCESS_KEY_SETTINGS, PROCESS_SETTINGS } from './issuers.js';
import { configSchema, duration, type IssuerConfig } from './schema.js';
import { childSchema, kindOf, type Schema, unwrap } from './schema-walk.js';

const MASK = '***';

function describeValue(schema: Schema, value: unknown, showSecrets: boolean): unknown {
  const { schema: inner, secret } = unwrap(schema);
  if (value === undefined) return undefined;
  if (secret && !showSecrets) return MASK;
  if (inner === duration && typeof value === 'number') return formatDuration(value);
  const kind = kindOf(inner);
  if (kind === 'array' && Array.isArray(value)) {
    return value.map((v, i) => describeChild(inner, i, v, showSecrets));
  }
  if ((kind === 'object' || kind === 'record') && value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(value)) {
      const described = describeChild(inner, key, field, showSecrets);
      if (described !== undefined) out[key] = described;
    }
    return out;
  }
  return value;
}

function describeChild(parent: Schema, step: PropertyKey, value: unknown, showSecrets: boolean) {
  const child = childSchema(parent, step);
  return child ? describeValue(child, value, showSecrets) : value;
}

/**
 * `config` as a config file would say it: durations as `30s`/`1h`, every field filled in.
 * Secrets (fields marked SECRET in the schema, and a password in the Redis URL) are `***`
 * unless `showSecrets`, except the demo credentials it serves, which are public anyway.
 */
export function describeConfig(
  config: IssuerConfig,
  { showSecrets = false } = {},
): Record<string, unknown> {
  const { demo: _demo, mountPath: _mountPath, issuers, ...fields } = config;
  const out = describeValue(configSchema, fields, showSecrets) as Record<string, unknown>;
  if (issuers.length > 0) {
    out.issuers = issuers.map((hosted) => asEntry(hosted, describeConfig(hosted, { showSecrets })));
  }
  // Where the keys really are, so the printed file means the same wherever it is saved.
  (out.keys as { dir: string }).dir = resolve(config.keys.dir);
  if (showSecrets) return out;
  const served = demoCredentialsIn(config);
  const users = out.users as { username: string; password: string }[];
  for (const [i, user] of config.users.entries()) {
    if (served.users.includes(user.username))
      (users[i] as { password: string }).password = user.password;
  }
  const clients = out.clients as { secret?: string }[];
  for (const [i, client] of config.clients.entries()) {
    if (client.secret && served.clients.includes(client.id)) {
      (clients[i] as { secret?: string }).secret = client.secret;
    }
  }
  const redis = out.redis as { url?: string };
  if (redis.url) redis.url = redactUrl(redis.url);
  return out;
}

/** A hosted issuer as its `issuers:` entry says it: its path, without what the process owns. */
function asEntry(
  hosted: IssuerConfig,
  described: Record<string, unknown>,
): Record<string, unknown> {
  const entry: Record<string, unknown> = { path: hosted.mountPath, ...described };
  for (const key of PROCESS_SETTINGS) delete entry[key];
  const keys = { ...(entry.keys as Record<string, unknown>) };
  for (const key of PROCESS_KEY_SETTINGS) delete keys[key];
  entry.keys = keys;
  return entry;
}

/**
 * The JSON Schema (draft 2020-12) of a config file, generated from the zod schema: what a file
 * may say, before defaults are applied, plus `extends`.
 */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as {
    properties: Record<string, unknown>;
  } & Record<string, unknown>;
  // A YAML section whose settings are all commented out reads as null; the issuer ignores it.
  for (const property of Object.values(schema.properties) as { type?: unknown }[]) {
    if (property.type === 'object') property.type = ['object', 'null'];
  }
  return {
    $schema: schema.$schema,
    title: 'oidc-issuer configuration',
    ...schema,
    properties: {
      extends: {
        const: 'demo',
        description:
          'Start from the built-in demo config; this file goes on top (users merge by username, clients by id, resource servers by audience).',
      },
      ...schema.properties,
    },
  };
}
