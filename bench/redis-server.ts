/** A throw-away redis-server for the Redis targets, and `INFO commandstats` deltas. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { captureOutput, freePort, spawnPinned, stopChild, track } from './procs.js';

export interface BenchRedis {
  readonly url: string;
  readonly pid: number | undefined;
  /** Calls per command since the server started (`INFO commandstats`). */
  commandStats(): Promise<Map<string, number>>;
  stop(): Promise<void>;
}

/** Starts redis-server on a free loopback port (no persistence), pinned to `cores`. */
export async function startBenchRedis(cores: string | undefined): Promise<BenchRedis> {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error(
      'redis-server was not found on PATH; the Redis targets need it (Debian/Ubuntu: `apt-get install -y redis-server`; macOS: `brew install redis`)',
    );
  }
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'oidc-issuer-bench-redis-'));
  const child = track(
    spawnPinned(cores, 'redis-server', [
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
      '--maxmemory-policy',
      'noeviction',
    ]),
  );
  const output = captureOutput(child);
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      await client.connect();
      await client.ping();
      break;
    } catch (err) {
      client.disconnect();
      if (Date.now() > deadline) {
        await stopChild(child);
        throw new Error(`redis-server did not answer PING: ${String(err)}\n${output()}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    pid: child.pid,
    async commandStats() {
      const info = await client.info('commandstats');
      const stats = new Map<string, number>();
      for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
        stats.set(m[1] as string, Number(m[2]));
      }
      return stats;
    },
    async stop() {
      client.disconnect();
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Per-command call counts between two `commandStats()` snapshots, without `info` itself. */
export function statsDelta(
  before: Map<string, number>,
  after: Map<string, number>,
): Record<string, number> {
  const delta: Record<string, number> = {};
  for (const [cmd, calls] of after) {
    if (cmd === 'info') continue;
    const d = calls - (before.get(cmd) ?? 0);
    if (d > 0) delta[cmd] = d;
  }
  return delta;
}
