import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { freePort } from './ports.js';
import { askRedis, infoField, pollUntil, RedisProcesses } from './redis-processes.js';

const run = promisify(execFile);

/** A three-master Redis Cluster owned by one test file, on free loopback ports. */
export interface TestRedisCluster {
  /** `redis+cluster://127.0.0.1:p1,127.0.0.1:p2,…` (every node), for `createRedisClient`. */
  readonly url: string;
  /** Every node's port. */
  readonly ports: readonly number[];
  /** Port of the master that serves `key`'s slot now (asks a live node). */
  masterOf(key: string): Promise<number>;
  /** Waits until the replicas of the master on `port` have every write it acknowledged. */
  synced(port: number): Promise<void>;
  /** SIGKILLs the node on `port`: a crash, no goodbye. */
  kill(port: number): Promise<void>;
  /**
   * Resolves once a replica has taken over `key`'s slot from the master on `oldPort` and every
   * live node reports `cluster_state:ok`; the new master's port.
   */
  failedOver(key: string, oldPort: number, timeoutMs?: number): Promise<number>;
  /** Stops every node and removes the temp directory. */
  stop(): Promise<void>;
}

/** Options of {@link startRedisCluster}. */
export interface TestClusterOptions {
  /** Replicas per master (default 0): with one, a killed master is failed over. */
  replicas?: number;
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

const askNode = async (port: number, ...args: string[]) => String(await askRedis(port, ...args));

/**
 * Starts three `redis-server --cluster-enabled yes` masters (and `replicas` replicas of each; no
 * persistence, explicit bus ports so nothing depends on port+10000 being free), joins them with
 * `redis-cli --cluster create`, and waits until every node reports `cluster_state:ok` (and
 * every replica is in sync). Fails (never skips) when a binary is missing.
 */
export async function startRedisCluster(
  options: TestClusterOptions = {},
): Promise<TestRedisCluster> {
  const replicas = options.replicas ?? 0;
  const cli = await redisCliBinary();
  const nodes = new RedisProcesses('cluster');
  const ports: number[] = [];
  const stop = () => nodes.stop();

  try {
    for (let i = 0; i < 3 * (1 + replicas); i++) {
      const port = await freePort();
      const busPort = await freePort();
      ports.push(port);
      nodes.spawn(port, [
        ...nodes.serverArgs(port),
        '--cluster-port',
        String(busPort),
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        `nodes-${port}.conf`,
        '--cluster-node-timeout',
        '2000',
      ]);
    }
    for (const port of ports) {
      await pollUntil(async () => (await askNode(port, 'PING')) === 'PONG', `node ${port}`);
    }
    await run(cli, [
      '--cluster',
      'create',
      ...ports.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas',
      String(replicas),
      '--cluster-yes',
    ]);
    for (const port of ports) {
      await pollUntil(
        async () => (await askNode(port, 'CLUSTER', 'INFO')).includes('cluster_state:ok'),
        `cluster_state:ok on ${port}`,
      );
    }
    for (const port of ports) {
      await pollUntil(async () => {
        const replication = await askNode(port, 'INFO', 'replication');
        const role = infoField(replication, 'role');
        return role === 'master' || infoField(replication, 'master_link_status') === 'up';
      }, `node ${port} in sync`);
    }
  } catch (err) {
    await stop();
    throw err;
  }

  const live = () => ports.filter((p) => nodes.running(p));
  /** Asks live nodes in turn; the first answer. */
  const askAny = async (...args: string[]): Promise<unknown> => {
    let last: unknown;
    for (const port of live()) {
      try {
        return await askRedis(port, ...args);
      } catch (err) {
        last = err;
      }
    }
    throw new Error(`no live cluster node answers ${args.join(' ')}: ${String(last)}`);
  };
  /** The master port serving `slot`, by CLUSTER SLOTS: [[start, end, [host, port, id], …], …]. */
  const masterOfSlot = async (slot: number) => {
    const ranges = (await askAny('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
    const range = ranges.find(([start, end]) => start <= slot && slot <= end);
    if (!range) throw new Error(`slot ${slot} is not served`);
    return Number(range[2][1]);
  };
  const slotOf = async (key: string) => Number(await askAny('CLUSTER', 'KEYSLOT', key));

  return {
    url: `redis+cluster://${ports
      .slice(0, 3)
      .map((p) => `127.0.0.1:${p}`)
      .join(',')}`,
    ports,
    masterOf: async (key) => masterOfSlot(await slotOf(key)),
    async synced(port) {
      const replication = await askNode(port, 'INFO', 'replication');
      const target = Number(infoField(replication, 'master_repl_offset'));
      const replicaPorts = [...replication.matchAll(/^slave\d+:ip=[^,]+,port=(\d+)/gm)].map((m) =>
        Number(m[1]),
      );
      for (const replica of replicaPorts) {
        await pollUntil(
          async () =>
            Number(infoField(await askNode(replica, 'INFO', 'replication'), 'slave_repl_offset')) >=
            target,
          `replica ${replica} to catch up`,
        );
      }
    },
    kill: (port) => nodes.kill(port),
    async failedOver(key, oldPort, timeoutMs = 30_000) {
      const slot = await slotOf(key);
      let now = 0;
      await pollUntil(
        async () => {
          now = await masterOfSlot(slot);
          if (now === oldPort) return false;
          for (const port of live()) {
            if (!(await askNode(port, 'CLUSTER', 'INFO')).includes('cluster_state:ok'))
              return false;
          }
          return true;
        },
        `a replica to take over from ${oldPort}`,
        timeoutMs,
      );
      return now;
    },
    stop,
  };
}
