/**
 * What a running issuer may take from a changed configuration. Everything that shapes
 * requests (users, clients, resource servers, scopes, claims, login options, TTLs, key policy)
 * is applied by building a new provider and app; the settings below decide what the process
 * listens on, where its state lives or who it is, so a change to them needs a restart and is
 * reported and ignored.
 */
import { deepFreeze } from './load.js';
import type { IssuerConfig } from './schema.js';

/** Settings read once at start, by their config path. */
const RESTART_ONLY = [
  'port',
  'host',
  'issuer',
  'tls',
  'redis.url',
  'redis.namespace',
  'redis.tls',
  'redis.sentinel',
  'keys.dir',
  'keys.secret',
  'keys.acceptPlaintextRing',
  'keys.refreshInterval',
  'memoryStore',
  'logLevel',
] as const;

/** The outcome of comparing a running config with a new one. */
export interface Reconfiguration {
  /** `next` with every restart-only setting kept as it runs now. */
  config: IssuerConfig;
  /** The restart-only settings whose value changed (ignored until a restart). */
  restartNeeded: string[];
  /** False when nothing applicable changed. */
  changed: boolean;
}

/** Compares `running` with `next` (both validated) and says what can be applied. */
export function reconfigure(running: IssuerConfig, next: IssuerConfig): Reconfiguration {
  const restartNeeded = RESTART_ONLY.filter(
    (path) => JSON.stringify(at(running, path)) !== JSON.stringify(at(next, path)),
  );
  const config = structuredClone(next) as IssuerConfig;
  for (const path of RESTART_ONLY) setAt(config, path, structuredClone(at(running, path)));
  deepFreeze(config);
  return { config, restartNeeded, changed: JSON.stringify(config) !== JSON.stringify(running) };
}

function at(config: IssuerConfig, path: string): unknown {
  let value: unknown = config;
  for (const part of path.split('.'))
    value = (value as Record<string, unknown> | undefined)?.[part];
  return value;
}

function setAt(config: IssuerConfig, path: string, value: unknown): void {
  const parts = path.split('.');
  const last = parts.pop() as string;
  let target = config as unknown as Record<string, unknown>;
  for (const part of parts) target = target[part] as Record<string, unknown>;
  target[last] = value;
}
