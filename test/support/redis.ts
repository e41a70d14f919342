import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './ports.js';

const INSTALL_HINT =
  'redis-server was not found on PATH. Install it (Debian/Ubuntu: `apt-get install -y redis-server`; ' +
  'macOS: `brew install redis`) or set REDIS_URL to a Redis the tests may use.';

/** Fails loudly (never skips) when redis-server is missing. */
export function redisServerBinary(): string {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return 'redis-server';
  } catch {
    throw new Error(INSTALL_HINT);
  }
}

/** A redis-server process owned by one test file, on a free loopback port, with no persistence. */
export interface TestRedis {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  /** Stop the server (SIGTERM) and wait for it to exit. */
  stop(): Promise<void>;
  /** Start it again on the same port, empty (no persistence). */
  start(): Promise<void>;
  /** Freeze the process (SIGSTOP) to simulate a hung server; `resume` continues it. */
  pause(): void;
  resume(): void;
}

/** A unique namespace per test, so tests sharing one server never see each other's keys. */
export function uniqueNamespace(label = 't'): string {
  return `${label}-${randomBytes(5).toString('hex')}`;
}

/** What every test redis-server runs with: loopback, no persistence (files in `dir`), noeviction. */
export function testServerArgs(port: number, dir: string): string[] {
  return [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
    '--dbfilename',
    `dump-${port}.rdb`,
    '--maxmemory-policy',
    'noeviction',
  ];
}

export async function startRedis(extraArgs: string[] = []): Promise<TestRedis> {
  const bin = redisServerBinary();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'oidc-issuer-redis-'));
  let child: ChildProcess | undefined;

  const launch = async () => {
    child = spawn(bin, [...testServerArgs(port, dir), ...extraArgs], { stdio: 'ignore' });
    await waitForPing(port);
  };

  const handle: TestRedis = {
    host: '127.0.0.1',
    port,
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null) return;
      c.kill('SIGCONT');
      const exited = new Promise<void>((r) => c.once('exit', () => r()));
      c.kill('SIGTERM');
      const timer = setTimeout(() => c.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
    async start() {
      if (child) return;
      await launch();
    },
    pause() {
      child?.kill('SIGSTOP');
    },
    resume() {
      child?.kill('SIGCONT');
    },
  };
  await launch();
  process.once('exit', () => {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  return handle;
}

async function waitForPing(port: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    const r = new Redis({
      port,
      host: '127.0.0.1',
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    r.on('error', () => {});
    try {
      await r.connect();
      await r.ping();
      r.disconnect();
      return;
    } catch (e) {
      lastError = e;
      r.disconnect();
      await new Promise((res) => setTimeout(res, 50));
    }
  }
  throw new Error(`redis-server on port ${port} did not answer PING: ${String(lastError)}`);
}

/**
 * The Redis a test file should use for ordinary (non-fault) tests: `REDIS_URL` when set (the
 * tests then only touch keys under their own unique namespace and never flush), otherwise a
 * redis-server spawned for this file.
 */
export async function redisForTests(): Promise<{ url: string; stop(): Promise<void> }> {
  const external = process.env.REDIS_URL;
  if (external) return { url: external, stop: async () => {} };
  const server = await startRedis();
  return { url: server.url, stop: () => server.stop() };
}
