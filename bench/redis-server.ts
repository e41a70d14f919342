/** A throw-away redis-server for the Redis targets, with a MONITOR recorder to count round trips. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { redisServerBinary, testServerArgs } from '../test/support/redis.js';
import { captureOutput, freePort, spawnPinned, stopChild, track } from './procs.js';

export interface BenchRedis {
  readonly url: string;
  readonly pid: number | undefined;
  /** Starts recording every command (`MONITOR`) until `stop()`. */
  monitor(): Promise<CommandRecorder>;
  stop(): Promise<void>;
}

/** Starts redis-server on a free loopback port (no persistence), pinned to `cores`. */
export async function startBenchRedis(cores: string | undefined): Promise<BenchRedis> {
  const bin = redisServerBinary();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'oidc-issuer-bench-redis-'));
  const child = track(spawnPinned(cores, bin, testServerArgs(port, dir)));
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
    async monitor() {
      const seen: MonitoredCommand[] = [];
      const markers = new Set<string>();
      const monitor = await client.monitor();
      monitor.on('monitor', (_time: string, args: string[], source: string) => {
        const name = String(args[0]).toLowerCase();
        if (name === 'echo' && args[1]?.startsWith('bench-marker-')) markers.add(args[1]);
        else seen.push({ name, args: args.slice(1), fromScript: source === 'lua' });
      });
      // MONITOR starts (and reports) asynchronously: an ECHO seen through it marks a live edge.
      const mark = async () => {
        const marker = `bench-marker-${Math.random().toString(36).slice(2)}`;
        for (let i = 0; i < 200 && !markers.has(marker); i += 1) {
          await client.echo(marker);
          await new Promise((r) => setTimeout(r, 5));
        }
        if (!markers.has(marker)) throw new Error('MONITOR did not report a marker command');
      };
      await mark();
      seen.length = 0;
      return {
        async stop() {
          await mark();
          monitor.disconnect();
          return [...seen];
        },
      };
    },
    async stop() {
      client.disconnect();
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One command as MONITOR saw it. */
export interface MonitoredCommand {
  name: string;
  args: string[];
  /** Run by a Lua script on the server (no round trip of its own). */
  fromScript: boolean;
}

export interface CommandRecorder {
  stop(): Promise<MonitoredCommand[]>;
}
