import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import { certificateAuthority } from './certificates.js';
import { freePort } from './ports.js';
import {
  type AskTarget,
  askRedis,
  infoField as field,
  RedisProcesses,
  pollUntil as waitFor,
} from './redis-processes.js';

/** The master name the test Sentinels monitor. */
const MASTER = 'oidc-test';

/**
 * How the group is secured, as managed Sentinel setups are. `passwords`: master and replica
 * `requirepass` + `masterauth`, an ACL user for the issuer on both; the Sentinels `requirepass`
 * (also what they log in to each other with), `sentinel auth-pass` for the master, and an ACL
 * user for the issuer. `tls`: every server and Sentinel listens on a TLS port only
 * (`port 0`), replicates and monitors over TLS, and asks clients for a certificate; all
 * certificates come from one throwaway CA.
 */
export interface SentinelGroupOptions {
  passwords?: boolean;
  tls?: boolean;
}

/** The issuer's logins when the group has `passwords` (ACL users; the internal links use others). */
export const SENTINEL_GROUP_LOGINS = {
  master: { username: 'issuer-app', password: 'master-Pa55-6c1f' },
  sentinel: { username: 'issuer-watch', password: 'sentinel-Pa55-93ab' },
} as const;

/**
 * A master, one replica and three Sentinels (redis-server's own `--sentinel` mode), each on a
 * free loopback port, owned by one test file. The Sentinels decide fast: the master is down
 * after 1 s without an answer, quorum 2.
 */
export interface TestSentinelGroup {
  /**
   * `redis+sentinel://127.0.0.1:s1,127.0.0.1:s2,127.0.0.1:s3/oidc-test`; `rediss+sentinel://`
   * with `tls`, and the master's login (`issuer-app:…@`) with `passwords`.
   */
  readonly url: string;
  /**
   * What an issuer is started with to use this group: `REDIS_URL`, and as the options ask,
   * `REDIS_SENTINEL_USERNAME`/`REDIS_SENTINEL_PASSWORD` and `REDIS_CA_FILE`/`REDIS_CERT_FILE`/`REDIS_KEY_FILE`.
   */
  readonly env: Readonly<Record<string, string>>;
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
  /** One command to the (data) server on `port`, logged in and over TLS as the group needs. */
  ask(port: number, ...args: string[]): Promise<unknown>;
  stop(): Promise<void>;
}

/** The default users' passwords: what the servers and Sentinels log in to each other with. */
const INTERNAL = { master: 'internal-master-7e20', sentinel: 'internal-sentinel-51d4' };

export async function startSentinelGroup(
  options: SentinelGroupOptions = {},
): Promise<TestSentinelGroup> {
  const servers = new RedisProcesses('sentinel');
  const { dir } = servers;
  const stop = () => servers.stop();

  const tls = options.tls ? tlsSetup() : undefined;
  // The test's own connections: the default users, the client certificate.
  const target = (port: number, password: string): AskTarget => ({
    port,
    ...(options.passwords ? { password } : {}),
    ...(tls ? { tls: tls.client } : {}),
  });
  const ask = (port: number, ...args: string[]) => askRedis(target(port, INTERNAL.master), ...args);
  const askSentinel = (port: number, ...args: string[]) =>
    askRedis(target(port, INTERNAL.sentinel), ...args);
  const info = async (port: number, section: string) => String(await ask(port, 'INFO', section));

  // Directives both kinds of process share: where they listen, TLS, the default user's password.
  const listening = (port: number, password: string): string[] => [
    ...(tls
      ? [
          'port 0',
          `tls-port ${port}`,
          `tls-cert-file ${tls.server.certFile}`,
          `tls-key-file ${tls.server.keyFile}`,
          `tls-ca-cert-file ${tls.caFile}`,
          'tls-auth-clients yes',
          'tls-replication yes',
        ]
      : [`port ${port}`]),
    ...(options.passwords ? [`requirepass ${password}`] : []),
  ];
  const { master: masterLogin, sentinel: sentinelLogin } = SENTINEL_GROUP_LOGINS;
  const aclUser = (login: { username: string; password: string }) =>
    `user ${login.username} on >${login.password} ~* &* +@all`;
  const runServer = (port: number, extra: string[]) => {
    const conf = join(dir, `redis-${port}.conf`);
    writeFileSync(
      conf,
      [
        ...listening(port, INTERNAL.master),
        ...(options.passwords ? [`masterauth ${INTERNAL.master}`, aclUser(masterLogin)] : []),
        'repl-diskless-sync yes',
        'repl-diskless-sync-delay 0',
        ...extra,
        '',
      ].join('\n'),
    );
    // The file comes first so the loopback, no-persistence arguments hold; they set `port`,
    // which the file's `port 0` must override under TLS, so it is said again after them.
    servers.spawn(port, [conf, ...servers.serverArgs(port), ...(tls ? ['--port', '0'] : [])]);
  };

  const masterPort = await freePort();
  const replicaPort = await freePort();
  const sentinelPorts = [await freePort(), await freePort(), await freePort()];
  try {
    runServer(masterPort, []);
    await waitFor(async () => (await ask(masterPort, 'PING')) === 'PONG', 'the master');
    runServer(replicaPort, [`replicaof 127.0.0.1 ${masterPort}`]);
    await waitFor(
      async () => field(await info(replicaPort, 'replication'), 'master_link_status') === 'up',
      'the replica in sync',
    );
    for (const port of sentinelPorts) {
      const conf = join(dir, `sentinel-${port}.conf`);
      writeFileSync(
        conf,
        [
          ...listening(port, INTERNAL.sentinel),
          'bind 127.0.0.1',
          `dir ${dir}`,
          ...(options.passwords ? [aclUser(sentinelLogin)] : []),
          `sentinel monitor ${MASTER} 127.0.0.1 ${masterPort} 2`,
          ...(options.passwords ? [`sentinel auth-pass ${MASTER} ${INTERNAL.master}`] : []),
          `sentinel down-after-milliseconds ${MASTER} 1000`,
          `sentinel failover-timeout ${MASTER} 4000`,
          `sentinel parallel-syncs ${MASTER} 1`,
          '',
        ].join('\n'),
      );
      servers.spawn(port, [conf, '--sentinel']);
    }
    // Ready to fail over once each Sentinel knows the replica and the two other Sentinels.
    for (const port of sentinelPorts) {
      await waitFor(
        async () => {
          const replicas = (await askSentinel(port, 'SENTINEL', 'REPLICAS', MASTER)) as unknown[];
          const sentinels = (await askSentinel(port, 'SENTINEL', 'SENTINELS', MASTER)) as unknown[];
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
    const reply = (await askSentinel(
      port,
      'SENTINEL',
      'GET-MASTER-ADDR-BY-NAME',
      MASTER,
    )) as string[];
    return Number(reply[1]);
  };
  const scheme = tls ? 'rediss+sentinel' : 'redis+sentinel';
  const login = options.passwords
    ? `${masterLogin.username}:${encodeURIComponent(masterLogin.password)}@`
    : '';
  const url = `${scheme}://${login}${sentinelPorts.map((p) => `127.0.0.1:${p}`).join(',')}/${MASTER}`;
  const group: TestSentinelGroup = {
    url,
    env: {
      REDIS_URL: url,
      ...(options.passwords
        ? {
            REDIS_SENTINEL_USERNAME: sentinelLogin.username,
            REDIS_SENTINEL_PASSWORD: sentinelLogin.password,
          }
        : {}),
      ...(tls
        ? {
            REDIS_CA_FILE: tls.caFile,
            REDIS_CERT_FILE: tls.issuer.certFile,
            REDIS_KEY_FILE: tls.issuer.keyFile,
          }
        : {}),
    },
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
    ask,
    stop,
  };
  return group;
}

/**
 * One CA; a certificate for every server and Sentinel (they all listen on 127.0.0.1, the
 * address the Sentinels announce) that they also show as clients to each other; one for the
 * issuer; and the test's own client options.
 */
function tlsSetup() {
  const ca = certificateAuthority('oidc-issuer test Sentinel CA');
  const server = ca.issue('redis', ['IP:127.0.0.1', 'DNS:localhost']);
  const issuer = ca.issue('oidc-issuer', ['DNS:oidc-issuer']);
  const client: ConnectionOptions = {
    ca: readFileSync(ca.caFile),
    cert: readFileSync(issuer.certFile),
    key: readFileSync(issuer.keyFile),
  };
  return { caFile: ca.caFile, server, issuer, client };
}
