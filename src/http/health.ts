import type Router from '@koa/router';
import type { WaitingAlg } from '../keystore/waiting.js';

/** What readiness needs to know; each check must answer within a bounded time. */
export interface ReadinessChecks {
  /** True when the store answers (always true for the memory store). */
  storeReachable(): Promise<boolean>;
  /** True when the current provider has an active signing key. */
  hasActiveKey(): boolean;
  /** True when this instance's view of the shared key ring is recent. */
  keyRingInSync(): boolean;
  /**
   * Configured algorithms that cannot sign yet. Reported, not a reason to be unready: every
   * instance shares the ring, so no other instance would do better.
   */
  waitingAlgorithms(): WaitingAlg[];
  /** The issuers hosted below this one (`issuers:`): each one's path and readiness. */
  hosted?(): Promise<{ path: string; ready: boolean }[]>;
}

/** Whether `checks` say ready, with each check's answer. */
export async function readinessOf(checks: ReadinessChecks) {
  const [store, key, sync] = [
    await checks.storeReachable(),
    checks.hasActiveKey(),
    checks.keyRingInSync(),
  ];
  return { ready: store && key && sync, store, key, sync };
}

/**
 * `/healthz`: the process is alive and serving (never touches the store).
 * `/readyz`: safe to route traffic here — store reachable, an active key, ring in sync, and so
 * for every hosted issuer (`issuers`, each by path); it also names the configured algorithms
 * that cannot sign yet (`waiting`).
 */
export function healthRoutes(router: Router, checks: ReadinessChecks): void {
  router.get('/healthz', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    const { store, key, sync, ...own } = await readinessOf(checks);
    const hosted = (await checks.hosted?.()) ?? [];
    const ready = own.ready && hosted.every((h) => h.ready);
    const waiting = checks.waitingAlgorithms();
    ctx.set('Cache-Control', 'no-store');
    ctx.status = ready ? 200 : 503;
    ctx.body = {
      status: ready ? 'ready' : 'not ready',
      checks: {
        store: store ? 'ok' : 'unreachable',
        signingKey: key ? 'ok' : 'missing',
        keyRing: sync ? 'ok' : 'stale',
        algorithms: waiting.length === 0 ? 'ok' : 'waiting',
      },
      ...(hosted.length > 0
        ? {
            issuers: Object.fromEntries(
              hosted.map((h) => [h.path, h.ready ? 'ready' : 'not ready']),
            ),
          }
        : {}),
      ...(waiting.length > 0
        ? {
            waiting: waiting.map((w) => ({
              alg: w.alg,
              signsFrom: w.signsFrom === undefined ? null : new Date(w.signsFrom).toISOString(),
              message: w.message,
            })),
          }
        : {}),
    };
  });
}
