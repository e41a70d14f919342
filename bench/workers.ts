/**
 * For the workers rows (`start --workers <n>`): knowing when every worker serves. The supervisor
 * answers (through its first worker) before the others are up, and the bench logs at `warn`, so
 * no `worker ready` line tells; instead, connections are opened until each worker process has
 * held the server side of one (node:cluster hands connections round robin to the workers that
 * listen, and a worker listens only once it serves).
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { processTree } from './procs.js';

/** Waits until each of the `count` children of `supervisorPid` has answered a connection. */
export async function waitForWorkers(
  supervisorPid: number,
  url: string,
  count: number,
  timeoutMs = 30_000,
): Promise<void> {
  const { port } = new URL(url);
  const deadline = performance.now() + timeoutMs;
  const served = new Set<number>();
  for (;;) {
    const workers = processTree(supervisorPid).slice(1);
    if (workers.length >= count) {
      const owner = await connectionOwner(Number(port), workers);
      if (owner !== undefined) served.add(owner);
      if (workers.filter((w) => served.has(w)).length >= count) return;
    }
    if (performance.now() > deadline) {
      throw new Error(
        `${url}: ${served.size} of ${count} workers answered within ${timeoutMs} ms (processes: ${workers.join(', ')})`,
      );
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Sends `GET /healthz` on a new connection and, while it is still open, returns which of
 * `pids` holds the server side of it (the socket inode in /proc/net/tcp, found among the
 * processes' file descriptors).
 */
async function connectionOwner(serverPort: number, pids: number[]): Promise<number | undefined> {
  const socket = connect(serverPort, '127.0.0.1');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${serverPort}\r\n\r\n`);
      });
      // The answer means a worker took the connection (keep-alive holds it open).
      socket.once('data', () => resolve());
    });
    const inode = serverSideInode(serverPort, socket.localPort ?? 0);
    if (inode === undefined) return undefined;
    return pids.find((pid) => holdsSocket(pid, inode));
  } finally {
    socket.destroy();
  }
}

const hexPort = (port: number) => port.toString(16).toUpperCase().padStart(4, '0');

/** The inode of the established loopback socket `127.0.0.1:serverPort ↔ 127.0.0.1:clientPort`. */
function serverSideInode(serverPort: number, clientPort: number): string | undefined {
  const local = `0100007F:${hexPort(serverPort)}`;
  const remote = `0100007F:${hexPort(clientPort)}`;
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields[1] === local && fields[2] === remote) return fields[9];
  }
  return undefined;
}

function holdsSocket(pid: number, inode: string): boolean {
  try {
    const target = `socket:[${inode}]`;
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`) === target;
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}
