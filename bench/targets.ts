/**
 * The systems under test. Each runs as its own process on a free loopback port, pinned to the
 * target core, and is ready when its discovery document (koa-hello: `/hello`) answers 200.
 */
import type { ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { ENV } from '../src/config/load.js';
import { PACKAGE_ROOT } from '../src/paths.js';
import {
  ADMIN_TOKEN,
  BENCH_CLIENT,
  type BenchAlg,
  DEMO_API,
  SERVICE_CLIENT,
  writeIssuerConfig,
} from './fixtures.js';
import type { FlowSpec } from './flow.js';
import {
  captureOutput,
  freePort,
  spawnPinned,
  stopChild,
  track,
  treeCpuSeconds,
  treeRssMiB,
  waitForOk,
} from './procs.js';
import type { TokenExpectations } from './verify.js';

export const TARGET_IDS = [
  'ours-memory',
  'ours-redis',
  'oidc-provider',
  'oauth2-mock-server',
  'koa-hello',
] as const;
export type TargetId = (typeof TARGET_IDS)[number];

export const TARGET_LABELS: Record<TargetId, string> = {
  'ours-memory': 'oidc-issuer (memory store)',
  'ours-redis': 'oidc-issuer (Redis store)',
  'oidc-provider': 'bare oidc-provider 9 + koa',
  'oauth2-mock-server': 'oauth2-mock-server 8',
  'koa-hello': 'koa hello endpoint',
};

/** What every launch of a target needs from the harness. */
export interface LaunchContext {
  /** Scratch folder for config files and key rings. */
  workDir: string;
  cores: string | undefined;
  /** For ours-redis. */
  redisUrl?: string;
  /** For ours-redis: a namespace per launch family (same namespace = warm start). */
  redisNamespace?: string;
  /** For ours-*: a key folder per launch family (same folder = warm start). */
  keysDir?: string;
  /** Short key durations and ADMIN_TOKEN (the rotation benchmark). */
  fastRotation?: boolean;
  /** The Node binary the target runs on (default: the harness's own). */
  node?: string;
  /** For ours-redis: `start --workers <n>` (the supervisor is the target's process). */
  workers?: number;
}

export interface RunningTarget {
  id: TargetId;
  alg: BenchAlg;
  url: string;
  pid: number | undefined;
  /** ms from spawn to the first 200 on the ready path. */
  readyMs: number;
  readyPath: string;
  /** Filled from the discovery document (not for koa-hello). */
  discovery?: { jwksUri: string; tokenEndpoint: string; authorizationEndpoint: string };
  /** VmRSS in MiB, summed over the process and its children (workers). */
  rss(): number | undefined;
  /** CPU seconds used so far by the process and its children (see `cpuSeconds`). */
  cpu(): number | undefined;
  output(): string;
  stop(): Promise<void>;
}

const DIST = join(PACKAGE_ROOT, 'dist');
const CLI = join(DIST, 'bundle', 'main.js');
const server = (name: string) => join(DIST, 'bench', 'servers', `${name}.js`);

const bareKeys = new Map<BenchAlg, string>();

/** One private JWK per alg for the bare provider, generated once per harness run. */
async function bareJwk(alg: BenchAlg): Promise<string> {
  let json = bareKeys.get(alg);
  if (!json) {
    const { privateKey } =
      alg === 'ES256'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = privateKey.export({ format: 'jwk' }) as JWK;
    json = JSON.stringify({ ...jwk, kid: await calculateJwkThumbprint(jwk), alg, use: 'sig' });
    bareKeys.set(alg, json);
  }
  return json;
}

/** The harness's environment minus every variable our issuer reads, so nothing leaks in. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.values(ENV)) delete env[name];
  return env;
}

/** Starts `id` with `alg` and waits until it is ready. */
export async function launchTarget(
  id: TargetId,
  alg: BenchAlg,
  ctx: LaunchContext,
): Promise<RunningTarget> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = { ...cleanEnv(), PORT: String(port), HOST: '127.0.0.1' };
  let script: string;
  let args: string[] = [];
  let readyPath = '/.well-known/openid-configuration';
  switch (id) {
    case 'ours-memory':
    case 'ours-redis': {
      if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
      script = CLI;
      args = ['start'];
      if (ctx.workers !== undefined) {
        if (id !== 'ours-redis') throw new Error('only ours-redis can run several workers');
        args.push('--workers', String(ctx.workers));
      }
      const keysDir = ctx.keysDir ?? join(ctx.workDir, `keys-${id}-${alg}`);
      mkdirSync(keysDir, { recursive: true });
      const name = `${id}-${alg}${ctx.fastRotation ? '-rotation' : ''}`;
      env[ENV.config] = writeIssuerConfig(ctx.workDir, name, {
        alg,
        keysDir,
        fastRotation: ctx.fastRotation ?? false,
      });
      env[ENV.issuer] = url;
      env[ENV.logLevel] = 'warn';
      if (ctx.fastRotation) env[ENV.adminToken] = ADMIN_TOKEN;
      // Named, the ring (for the memory store its file) does not follow the issuer URL, whose
      // port changes per launch: else every start of the memory store would make a new ring.
      env[ENV.redisNamespace] = ctx.redisNamespace ?? `bench-${alg}`;
      if (id === 'ours-redis') {
        if (!ctx.redisUrl) throw new Error('ours-redis needs a redis URL');
        env[ENV.redisUrl] = ctx.redisUrl;
      }
      break;
    }
    case 'oidc-provider':
      script = server('bare-provider');
      env.ISSUER = url;
      env.BARE_JWK = await bareJwk(alg);
      break;
    case 'oauth2-mock-server':
      script = server('mock-server');
      env.ISSUER = url;
      env.ALG = alg;
      break;
    case 'koa-hello':
      script = server('koa-hello');
      readyPath = '/hello';
      break;
  }
  if (!existsSync(script)) throw new Error(`${script} is missing: run \`npm run build\` first`);

  const started = performance.now();
  const child: ChildProcess = track(
    spawnPinned(ctx.cores, ctx.node ?? process.execPath, [script, ...args], { env }),
  );
  const output = captureOutput(child);
  const stop = () => stopChild(child);
  let readyMs: number;
  try {
    readyMs = await waitForOk(`${url}${readyPath}`, child, output, { since: started });
  } catch (err) {
    await stop();
    throw err;
  }
  const target: RunningTarget = {
    id,
    alg,
    url,
    pid: child.pid,
    readyMs,
    readyPath,
    rss: () => treeRssMiB(child.pid),
    cpu: () => treeCpuSeconds(child.pid),
    output,
    stop,
  };
  if (id !== 'koa-hello') {
    const doc = (await (await fetch(`${url}${readyPath}`)).json()) as Record<string, string>;
    target.discovery = {
      jwksUri: doc.jwks_uri as string,
      tokenEndpoint: doc.token_endpoint as string,
      authorizationEndpoint: doc.authorization_endpoint as string,
    };
  }
  return target;
}

/** The client_credentials request each target gets (same client, scope and API for all). */
export function tokenRequest(target: RunningTarget): {
  path: string;
  headers: Record<string, string>;
  body: string;
} {
  const form = new URLSearchParams({ grant_type: 'client_credentials', scope: 'api:read' });
  // oauth2-mock-server takes the audience as a plain parameter and authenticates nobody.
  if (target.id === 'oauth2-mock-server') form.set('aud', DEMO_API.audience);
  return {
    path: new URL(target.discovery?.tokenEndpoint ?? `${target.url}/token`).pathname,
    headers: {
      authorization: `Basic ${Buffer.from(`${SERVICE_CLIENT.id}:${SERVICE_CLIENT.secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: form.toString(),
  };
}

/** What a client_credentials access token from `target` must satisfy. */
export function accessTokenExpectations(target: RunningTarget): TokenExpectations {
  return {
    issuer: target.url,
    jwksUri: target.discovery!.jwksUri,
    audience: DEMO_API.audience,
    alg: target.alg,
    ...(target.id === 'oauth2-mock-server' ? {} : { typ: 'at+jwt' }),
  };
}

/** What an ID token from a code flow against `target` must satisfy. */
export function idTokenExpectations(target: RunningTarget): TokenExpectations {
  return {
    issuer: target.url,
    jwksUri: target.discovery!.jwksUri,
    audience: BENCH_CLIENT.id,
    alg: target.alg,
  };
}

export function flowSpec(target: RunningTarget): FlowSpec {
  return {
    authorizationEndpoint: target.discovery!.authorizationEndpoint,
    tokenEndpoint: target.discovery!.tokenEndpoint,
    clientId: BENCH_CLIENT.id,
    clientSecret: BENCH_CLIENT.secret,
    redirectUri: BENCH_CLIENT.redirectUri,
    scope: 'openid profile email',
    loginHint: 'alice',
  };
}
