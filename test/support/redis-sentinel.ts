import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './ports.js';
import {
  askRedis as ask,
  infoField as field,
  RedisProcesses,
  pollUntil as waitFor,
} from './redis-processes.js';

/** The master name the test Sentinels monitor. */
const MASTER = 'oidc-test';

/**
 * A master, one replica and three Sentinels (redis-server's own `--sentinel` mode), each on a
 * free loopback port, owned by one test file. The Sentinels decide fast: the master is down
 * after 1 s without an answer, quorum 2.
 */
export interface TestSentinelGroup {
  /** `redis+sentinel://127.0.0.1:s1,127.0.0.1:s2,127.0.0.1:s3/oidc-test`. */
  readonly url: string;
  /** Port of the master as the Sentinels see it now (asks one that answers). */
  masterPort(): Promise<number>;
  /**
   * Waits until the replica has every write the master acknowledged so far. Replication is
   * asynchronous: a write a crash overtakes is lost to any Redis client, so a test that
   * promises "nothing lost" syncs before it crashes the master.
   */
  synced(): Promise<void>;
  /** SIGKILLs the current master: a crash, no goodbye to replicas or clients. */
  killMaster(): Promise<number>;
  /** Resolves once every Sentinel names a master other than `oldPort`; the new port. */
  failedOver(oldPort: number, timeoutMs?: number): Promise<number>;
  stop(): Promise<void>;
}

const info = async (port: number, section: string) => String(await ask(port, 'INFO', section));

export async function startSentinelGroup(): Promise<TestSentinelGroup> {
  const servers = new RedisProcesses('sentinel');
  const { dir } = servers;
  const run = (port: number, args: string[]) => servers.spawn(port, args);
  const serverArgs = (port: number) => [
    ...servers.serverArgs(port),
    '--repl-diskless-sync',
    'yes',
    '--repl-diskless-sync-delay',
    '0',
  ];
  const stop = () => servers.stop();

  const masterPort = await freePort();
  const replicaPort = await freePort();
  const sentinelPorts = [await freePort(), await freePort(), await freePort()];
  try {
    run(masterPort, serverArgs(masterPort));
    await waitFor(async () => (await ask(masterPort, 'PING')) === 'PONG', 'the master');
    run(replicaPort, [...serverArgs(replicaPort), '--replicaof', '127.0.0.1', String(masterPort)]);
    await waitFor(
      async () => field(await info(replicaPort, 'replication'), 'master_link_status') === 'up',
      'the replica in sync',
    );
    for (const port of sentinelPorts) {
      const conf = join(dir, `sentinel-${port}.conf`);
      writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          `sentinel monitor ${MASTER} 127.0.0.1 ${masterPort} 2`,
          `sentinel down-after-milliseconds ${MASTER} 1000`,
          `sentinel failover-timeout ${MASTER} 4000`,
          `sentinel parallel-syncs ${MASTER} 1`,
          '',
        ].join('\n'),
      );
      run(port, [conf, '--sentinel']);
    }
    // Ready to fail over once each Sentinel knows the replica and the two other Sentinels.
    for (const port of sentinelPorts) {
      await waitFor(
        async () => {
          const replicas = (await ask(port, 'SENTINEL', 'REPLICAS', MASTER)) as unknown[];
          const sentinels = (await ask(port, 'SENTINEL', 'SENTINELS', MASTER)) as unknown[];
          return replicas.length === 1 && sentinels.length === 2;
        },
        `Sentinel ${port} to know the replica and the other Sentinels`,
        30_000,
      );
    }
  } catch (err) {
    await stop();
    throw err;
  }

  const masterSeenBy = async (port: number) => {
    const reply = (await ask(port, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER)) as string[];
    return Number(reply[1]);
  };
  const group: TestSentinelGroup = {
    url: `redis+sentinel://${sentinelPorts.map((p) => `127.0.0.1:${p}`).join(',')}/${MASTER}`,
    async masterPort() {
      for (const port of sentinelPorts) {
        const seen = await masterSeenBy(port).catch(() => undefined);
        if (seen) return seen;
      }
      throw new Error('no Sentinel answers');
    },
    async synced() {
      const master = await group.masterPort();
      const replica = master === masterPort ? replicaPort : masterPort;
      const target = Number(field(await info(master, 'replication'), 'master_repl_offset'));
      await waitFor(
        async () =>
          Number(field(await info(replica, 'replication'), 'slave_repl_offset')) >= target,
        'the replica to catch up',
        10_000,
      );
    },
    async killMaster() {
      const port = await group.masterPort();
      await servers.kill(port);
      return port;
    },
    async failedOver(oldPort, timeoutMs = 30_000) {
      let now = 0;
      await waitFor(
        async () => {
          const seen = await Promise.all(sentinelPorts.map(masterSeenBy));
          now = seen[0]!;
          return seen.every((p) => p === now && p !== oldPort);
        },
        'every Sentinel to name a new master',
        timeoutMs,
      );
      return now;
    },
    stop,
  };
  return group;
}
