/**
 * The redis-server processes of a multi-node test topology (a Cluster, a Sentinel group): one
 * temp directory, spawn by port, crash one, stop all; and the one-shot questions the helpers
 * ask a node.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import { Redis } from 'ioredis';
import { redisServerBinary, testServerArgs } from './redis.js';

export class RedisProcesses {
  readonly dir: string;
  readonly #bin = redisServerBinary();
  readonly #children = new Map<number, ChildProcess>();

  /** Fails (never skips) when redis-server is missing. Everything is killed when the test process exits. */
  constructor(label: string) {
    this.dir = mkdtempSync(join(tmpdir(), `oidc-issuer-${label}-`));
    process.once('exit', () => {
      for (const c of this.#children.values()) c.kill('SIGKILL');
      rmSync(this.dir, { recursive: true, force: true });
    });
  }

  /** {@link testServerArgs} in this group's directory. */
  serverArgs(port: number): string[] {
    return testServerArgs(port, this.dir);
  }

  /** Starts `redis-server <args>`, known by `port` from now on. */
  spawn(port: number, args: string[]): void {
    this.#children.set(port, spawn(this.#bin, args, { stdio: 'ignore' }));
  }

  running(port: number): boolean {
    const c = this.#children.get(port);
    return c?.exitCode === null && c.signalCode === null;
  }

  /** SIGKILLs the server on `port` and waits until it is gone: a crash, no goodbye. */
  async kill(port: number): Promise<void> {
    const child = this.#children.get(port);
    if (!child || !this.running(port)) throw new Error(`redis-server ${port} is not running`);
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGKILL');
    await exited;
  }

  /** Stops every server (SIGTERM, SIGKILL after 3 s) and removes the directory. */
  async stop(): Promise<void> {
    await Promise.all(
      [...this.#children.values()].map(async (c) => {
        if (c.exitCode !== null || c.signalCode !== null) return;
        const exited = new Promise<void>((r) => c.once('exit', () => r()));
        c.kill('SIGTERM');
        const timer = setTimeout(() => c.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(timer);
      }),
    );
    this.#children.clear();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A loopback server the test support asks, and how to get in: a password, TLS options. */
export interface AskTarget {
  port: number;
  password?: string | undefined;
  tls?: ConnectionOptions | undefined;
}

/** One command to the server on `port` over a fresh connection (1 s bounds), its reply. */
export async function askRedis(target: number | AskTarget, ...args: string[]): Promise<unknown> {
  const { port, password, tls } = typeof target === 'number' ? { port: target } : target;
  const r = new Redis({
    port,
    host: '127.0.0.1',
    ...(password ? { password } : {}),
    ...(tls ? { tls } : {}),
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    connectTimeout: 1000,
    commandTimeout: 1000,
  });
  r.on('error', () => {});
  try {
    await r.connect();
    return await r.call(args[0]!, ...args.slice(1));
  } finally {
    r.disconnect();
  }
}

/** The value of `name:` in an INFO reply. */
export const infoField = (info: string, name: string): string | undefined =>
  new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();

/** Polls `check` every 100 ms (a throw counts as false) until it holds; fails after `timeoutMs`. */
export async function pollUntil(
  check: () => Promise<boolean>,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
