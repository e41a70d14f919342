/**
 * `start --workers <n|auto>`: n worker processes serving one port (node:cluster), each a whole
 * issuer sharing state through Redis, and the supervisor (the primary process) that starts
 * them, restarts one that crashes and stops them all on SIGTERM/SIGINT.
 *
 * The supervisor validates the configuration before it forks (a config error exits 2 once, not
 * per worker) and starts one worker first, the others once it is ready, so a fault at start
 * (Redis refusing the password, a key ring this config cannot use) is reported once too.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Server } from 'node:http';
import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import { ENV } from '../config/env.js';
import type { IssuerConfig } from '../config/schema.js';
import type { RunningIssuer } from '../issuer.js';
import { EXIT, UsageError } from './exit.js';

/** How many workers were asked for, and where the request came from (for messages). */
export interface WorkerCount {
  count: number;
  /** `--workers` or `WORKERS`; undefined when neither was given (one process, as always). */
  source?: string;
}

/** `--workers` (else `WORKERS`) as a count: a whole number ≥ 1, or `auto` (one per core). */
export function workerCount(flag: string | undefined, env: NodeJS.ProcessEnv): WorkerCount {
  // Empty counts as unset, as for every other variable (config/env.ts).
  const fromEnv = env[ENV.workers] || undefined;
  const source = flag !== undefined ? '--workers' : fromEnv ? ENV.workers : undefined;
  const text = (flag ?? fromEnv ?? '1').trim();
  if (text === 'auto') return { count: availableParallelism(), source };
  if (!/^\d+$/.test(text) || Number(text) < 1) {
    throw new UsageError(
      `${source}: must be a whole number of worker processes (1 or more) or auto (one per core), got '${text}'`,
    );
  }
  return { count: Number(text), source };
}

/**
 * Refuses more than one worker without Redis: the memory store (sessions, grants, the key
 * ring) lives inside one process, so workers could not share it.
 */
export function assertWorkersCanShare(config: IssuerConfig, workers: WorkerCount): void {
  if (workers.count <= 1 || config.redis.url) return;
  throw new UsageError(
    `${workers.source} ${workers.count}: more than one worker needs Redis (REDIS_URL or redis.url): ` +
      'without it sessions, grants and the key ring are kept in memory inside one process, ' +
      'which other workers cannot share; set REDIS_URL, or run one worker',
  );
}

/** This process's worker id when it is a worker of `start --workers`, else undefined. */
export function workerId(): number | undefined {
  return cluster.isWorker ? cluster.worker?.id : undefined;
}

/** What a worker tells the supervisor once it serves. */
interface ReadyMessage {
  type: 'oidc-issuer:ready';
  port: number;
  keyRingAt: string;
  localCa: RunningIssuer['localCa'];
}

function isReady(message: unknown): message is ReadyMessage {
  return (message as ReadyMessage | undefined)?.type === 'oidc-issuer:ready';
}

/** Tells the supervisor this worker serves (the supervisor prints the banner once). */
export function reportReady(issuer: RunningIssuer): void {
  const message: ReadyMessage = {
    type: 'oidc-issuer:ready',
    port: issuer.port,
    keyRingAt: issuer.keyRingAt,
    localCa: issuer.localCa,
  };
  process.send?.(message);
}

/**
 * Stops accepting connections and waits up to `boundMs` for the requests in flight to finish
 * (idle keep-alive connections are closed at once); what is still open after that is dropped
 * by the issuer's own close.
 */
export function drain(server: Server, boundMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, boundMs);
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}

/** How long a worker may take to drain and exit once told to stop, before it is killed. */
const STOP_BOUND_MS = 15_000;
/** How long a worker's requests in flight may take to finish once it is told to stop. */
export const DRAIN_BOUND_MS = 10_000;

/** Restarts within this window count towards a crash loop. */
const CRASH_WINDOW_MS = 60_000;
/** More crashes than this within the window: the supervisor gives up. */
const MAX_CRASHES = 5;
const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5_000;

export interface SuperviseOptions {
  count: number;
  logger: Logger;
  /** Called once, when the first worker serves (the banner). */
  onFirstReady: (ready: Omit<ReadyMessage, 'type'>) => void;
}

/**
 * Runs `count` workers (this same command, re-run by node:cluster) until SIGTERM/SIGINT, then
 * exits 0 once every worker has drained and exited. A worker that exits before it ever served
 * is a fault at start that a restart will not heal: the supervisor stops the others and exits
 * with that worker's code. One that crashes later is restarted after a backoff (100 ms,
 * doubling to 5 s); more than 5 crashes within 60 s and the supervisor gives up (exit 1).
 */
export function superviseWorkers({ count, logger, onFirstReady }: SuperviseOptions): void {
  const ready = new Set<Worker>();
  const crashes: number[] = [];
  const restarts = new Set<NodeJS.Timeout>();
  let stopping = false;
  let bannerShown = false;
  let exitCode: number = EXIT.ok;

  const fork = (replaces?: number): Worker => {
    const worker = cluster.fork();
    logger.info(
      { worker: worker.id, pid: worker.process.pid, ...(replaces ? { replaces } : {}) },
      replaces ? 'worker restarted' : 'worker started',
    );
    worker.on('message', (message: unknown) => {
      if (!isReady(message) || ready.has(worker)) return;
      const first = ready.size === 0 && !bannerShown;
      ready.add(worker);
      logger.info({ worker: worker.id, pid: worker.process.pid }, 'worker ready');
      if (first) {
        bannerShown = true;
        const { port, keyRingAt, localCa } = message;
        onFirstReady({ port, keyRingAt, localCa });
        for (let i = 1; i < count; i++) fork();
      }
    });
    return worker;
  };

  const stopAll = (code: number) => {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    for (const timer of restarts) clearTimeout(timer);
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w);
    if (workers.length === 0) process.exit(exitCode);
    for (const worker of workers) worker.process.kill('SIGTERM');
    setTimeout(() => {
      for (const worker of Object.values(cluster.workers ?? {})) {
        if (!worker) continue;
        logger.warn(
          { worker: worker.id, pid: worker.process.pid, boundMs: STOP_BOUND_MS },
          'worker did not stop in time; killing it',
        );
        worker.process.kill('SIGKILL');
      }
    }, STOP_BOUND_MS).unref();
  };

  const giveUp = (message: string, code: number) => {
    logger.error({ exitCode: code }, message);
    process.stderr.write(`oidc-issuer: ${message}\n`);
    stopAll(code);
  };

  cluster.on('exit', (worker, code, signal) => {
    const served = ready.delete(worker);
    logger.info({ worker: worker.id, pid: worker.process.pid, code, signal }, 'worker exited');
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(exitCode);
      return;
    }
    const how = signal ? `signal ${signal}` : `exit code ${code}`;
    if (!served) {
      giveUp(
        `worker ${worker.id} stopped before it served (${how}); a restart would not help, stopping (see its message above)`,
        code || EXIT.no,
      );
      return;
    }
    const now = Date.now();
    crashes.push(now);
    while (crashes.length > 0 && crashes[0]! < now - CRASH_WINDOW_MS) crashes.shift();
    if (crashes.length > MAX_CRASHES) {
      giveUp(
        `workers crashed ${crashes.length} times within ${CRASH_WINDOW_MS / 1000} s (the last: worker ${worker.id}, ${how}); giving up`,
        EXIT.no,
      );
      return;
    }
    const delayMs = Math.min(FIRST_BACKOFF_MS * 2 ** (crashes.length - 1), MAX_BACKOFF_MS);
    logger.warn({ worker: worker.id, how, delayMs }, 'worker crashed; restarting it');
    const timer = setTimeout(() => {
      restarts.delete(timer);
      if (!stopping) fork(worker.id);
    }, delayMs);
    restarts.add(timer);
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      logger.info({ signal, workers: Object.keys(cluster.workers ?? {}).length }, 'shutting down');
      stopAll(EXIT.ok);
    });
  }

  fork();
}
