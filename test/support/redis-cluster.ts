import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort } from './ports.js';
import { redisServerBinary } from './redis.js';

const run = promisify(execFile);

/** A three-master Redis Cluster owned by one test file, on free loopback ports. */
export interface TestRedisCluster {
  /** `redis+cluster://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3`, for `createRedisClient`. */
  readonly url: string;
  readonly ports: readonly number[];
  /** Stops every node and removes the temp directory. */
  stop(): Promise<void>;
}

async function redisCliBinary(): Promise<string> {
  try {
    await run('redis-cli', ['--version']);
    return 'redis-cli';
  } catch {
    throw new Error(
      'redis-cli was not found on PATH; it is needed to join the test Redis Cluster. Install it ' +
        '(Debian/Ubuntu: `apt-get install -y redis-tools` or `redis-server`; macOS: `brew install redis`).',
    );
  }
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function askNode(port: number, ...args: string[]): Promise<string> {
  const r = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null });
  r.on('error', () => {});
  try {
    await r.connect();
    return String(await r.call(args[0]!, ...args.slice(1)));
  } finally {
    r.disconnect();
  }
}

/**
 * Starts three `redis-server --cluster-enabled yes` nodes (no persistence, explicit bus ports so
 * nothing depends on port+10000 being free), joins them with `redis-cli --cluster create`, and
 * waits until every node reports `cluster_state:ok`. Fails (never skips) when a binary is missing.
 */
export async function startRedisCluster(): Promise<TestRedisCluster> {
  const server = redisServerBinary();
  const cli = await redisCliBinary();
  const dir = mkdtempSync(join(tmpdir(), 'oidc-issuer-cluster-'));
  const children: ChildProcess[] = [];
  const ports: number[] = [];

  const stop = async () => {
    await Promise.all(
      children.map(async (c) => {
        if (c.exitCode !== null || c.signalCode !== null) return;
        const exited = new Promise<void>((r) => c.once('exit', () => r()));
        c.kill('SIGTERM');
        const timer = setTimeout(() => c.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(timer);
      }),
    );
    children.length = 0;
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', () => {
    for (const c of children) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  try {
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const busPort = await freePort();
      ports.push(port);
      const child = spawn(
        server,
        [
          '--port',
          String(port),
          '--cluster-port',
          String(busPort),
          '--bind',
          '127.0.0.1',
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          `nodes-${port}.conf`,
          '--cluster-node-timeout',
          '2000',
          '--save',
          '',
          '--appendonly',
          'no',
          '--dir',
          dir,
          '--maxmemory-policy',
          'noeviction',
        ],
        { stdio: 'ignore' },
      );
      children.push(child);
    }
    for (const port of ports) {
      await waitFor(async () => (await askNode(port, 'PING')) === 'PONG', `node ${port}`);
    }
    await run(cli, [
      '--cluster',
      'create',
      ...ports.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    for (const port of ports) {
      await waitFor(
        async () => (await askNode(port, 'CLUSTER', 'INFO')).includes('cluster_state:ok'),
        `cluster_state:ok on ${port}`,
      );
    }
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    url: `redis+cluster://${ports.map((p) => `127.0.0.1:${p}`).join(',')}`,
    ports,
    stop,
  };
}
