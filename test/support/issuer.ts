import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { demoConfig } from '../../src/config/demo.js';
import { validateConfig } from '../../src/config/load.js';
import type { RawConfig } from '../../src/config/schema.js';
import { type RunningIssuer, startIssuer } from '../../src/issuer.js';
import { createLogger } from '../../src/log.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { freePort } from './ports.js';

/**
 * An issuer running inside the test process on a free loopback port, from the demo config plus
 * `overrides`, with an in-memory key ring (nothing written under keys/).
 */
export async function startTestIssuer(
  overrides: Partial<RawConfig> = {},
  demo = true,
  logger: Logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
): Promise<RunningIssuer> {
  const base: Record<string, unknown> = demo ? { ...demoConfig() } : {};
  // The demo's http:// issuer would contradict tls; unset, the issuer follows the port.
  if (overrides.tls) delete base.issuer;
  const config = validateConfig(
    { ...base, port: 0, host: '127.0.0.1', logLevel: 'silent', ...overrides },
    { demo },
  );
  const explicitIssuer = overrides.issuer !== undefined;
  return startIssuer(config, {
    ephemeralKeys: true,
    issuerFromPort: !explicitIssuer,
    logger,
  });
}

/** The built CLI, the bundle `npm start` and the package's `bin` run; `npm test` builds it first. */
export const CLI = join(PACKAGE_ROOT, 'dist', 'bundle', 'main.js');

export interface IssuerProcess {
  url: string;
  port: number;
  child: ChildProcess;
  output: () => string;
  stop(): Promise<void>;
}

/**
 * Runs `oidc-issuer start` as a child process (what `npm start` runs) on a free port (or
 * `env.PORT`) and waits for `/healthz`. `env` adds variables (REDIS_URL, OIDC_CONFIG, ISSUER, …).
 */
export async function spawnIssuer(
  env: Record<string, string> = {},
  args: string[] = [],
): Promise<IssuerProcess> {
  if (!existsSync(CLI))
    throw new Error(`${CLI} is missing: run \`npm run build\` (npm test does it)`);
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const url = env.ISSUER ?? `http://127.0.0.1:${port}`;
  let output = '';
  const child = spawn(process.execPath, [CLI, 'start', ...args], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      ISSUER: url,
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d) => {
    output += d;
  });
  child.stderr?.on('data', (d) => {
    output += d;
  });
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`issuer exited with ${child.exitCode}:\n${output}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`issuer did not answer /healthz within 15 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    port,
    child,
    output: () => output,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Polls `url` until `predicate(response)` holds or `timeoutMs` passes. */
export async function waitFor(
  check: () => Promise<boolean>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Several issuer processes started at once, sharing one issuer URL (the first one's). */
export interface Fleet {
  readonly issuerUrl: string;
  readonly instances: IssuerProcess[];
  /** `http://127.0.0.1:<port>` of instance `i`. */
  base(i: number): string;
  stop(): Promise<void>;
}

/**
 * Starts `count` issuer processes at the same moment with `env` (REDIS_URL, OIDC_CONFIG, …) and
 * waits until every one answers `/readyz`.
 */
export async function spawnFleet(count: number, env: Record<string, string>): Promise<Fleet> {
  const ports = await Promise.all(Array.from({ length: count }, () => freePort()));
  const issuerUrl = env.ISSUER ?? `http://127.0.0.1:${ports[0]}`;
  const instances = await Promise.all(
    ports.map((port) => spawnIssuer({ ...env, ISSUER: issuerUrl, PORT: String(port) })),
  );
  await Promise.all(
    instances.map((i) =>
      waitFor(async () => (await fetch(`http://127.0.0.1:${i.port}/readyz`)).ok, 15_000, 'readyz'),
    ),
  );
  return {
    issuerUrl,
    instances,
    base: (i) => `http://127.0.0.1:${instances[i]!.port}`,
    stop: async () => {
      await Promise.all(instances.map((i) => i.stop()));
    },
  };
}
