import requestContext from 'oidc-provider/lib/helpers/als.js';

/**
 * One HTTP request's unit of work with the store. Inside {@link inUnitOfWork} a store may serve
 * a request's repeated reads of a record from its first read, read the records the request
 * names up front ({@link RecordHint}) together with that first read, and hold the request's
 * writes until the unit ends, then write them in one atomic step. Outside a unit (the CLI,
 * background work) every adapter call goes to the store on its own.
 *
 * What a store does per unit is its {@link UnitOfWork}; the memory store has none (its
 * operations cost no round trip).
 */

/** A record a request names before it reads anything (an id in a cookie); may not exist. */
export interface RecordHint {
  readonly model: string;
  readonly id: string;
}

/** A store's share of one request's unit of work. */
export interface UnitOfWork {
  /** Writes what the unit holds, in one atomic step; rejects (and writes nothing) on failure. */
  flush(): Promise<void>;
}

class RequestScope {
  readonly units = new Map<object, UnitOfWork>();
  constructor(readonly hints: () => readonly RecordHint[]) {}

  /** Writes what the units hold; undefined (nothing to wait for) when no store took part. */
  flush(): Promise<void> | undefined {
    if (this.units.size === 0) return undefined;
    return (async () => {
      for (const unit of this.units.values()) await unit.flush();
    })();
  }
}

/**
 * Each request's scope, found through the request context oidc-provider already carries to
 * everything a request runs: its AsyncLocalStorage, whose store is the request's koa context
 * (what `Provider.ctx` reads). A second AsyncLocalStorage of our own would cost every request on
 * Node 20, where each one in use adds a property to every promise made. The scope is a property
 * of that context under this symbol rather than an entry of a WeakMap, which would give the
 * garbage collector one more ephemeron to trace and clear per request.
 */
const SCOPE = Symbol('unit of work');
type ScopeHolder = { [SCOPE]?: RequestScope };

/**
 * Whether a store that keeps units of work (Redis) has been opened in this process. Until then
 * {@link inUnitOfWork} only runs its work.
 */
let wanted = false;

/** Called by a store that keeps units of work when it is created. */
export function useUnitsOfWork(): void {
  wanted = true;
}

/** Whether a store that keeps units of work has been opened, so a unit is worth making. */
export function keepsUnitsOfWork(): boolean {
  return wanted;
}

/** Options of {@link inUnitOfWork}. */
export interface UnitOptions {
  /**
   * What the unit is kept with: the koa context of the request (oidc-provider's, or the one its
   * interaction pages get). Default the current request's, or a new one.
   */
  request?: object;
  /** Called before the rejection when `work` or the flush failed (e.g. to drop headers). */
  onFailure?: () => void;
}

/**
 * Runs `work` as a unit of work and flushes the held writes before resolving, so the caller can
 * answer only once they are stored; a failed flush rejects with the store's error (a
 * `StoreUnavailableError` answers 503). When `work` throws, what it wrote so far is still
 * flushed (as it would have been written without a unit) and its error is rethrown. Nested
 * inside another unit of the same request it joins that one, and still flushes on its way out.
 * `hints` is asked for once, at the first read. A request that stores nothing gets one promise
 * more than without a unit.
 */
export function inUnitOfWork<T>(
  hints: () => readonly RecordHint[],
  work: () => Promise<T>,
  { request, onFailure }: UnitOptions = {},
): Promise<T> {
  if (!wanted) return work();
  const current = requestContext.getStore();
  const key: ScopeHolder = request ?? current ?? {};
  key[SCOPE] ??= new RequestScope(hints);
  const own = key[SCOPE];
  const failed = (err: unknown): never => {
    onFailure?.();
    throw err;
  };
  return (current === key ? work() : requestContext.run(key, work)).then(
    (result) => own.flush()?.then(() => result, failed) ?? result,
    async (err: unknown) => {
      await own.flush()?.catch(() => {});
      return failed(err);
    },
  );
}

/**
 * The current request's unit for `store` (made by `create` on first use, which gets the
 * request's hints), or undefined outside a unit of work.
 */
export function unitOf<U extends UnitOfWork>(
  store: object,
  create: (hints: () => readonly RecordHint[]) => U,
): U | undefined {
  const scope = (requestContext.getStore() as ScopeHolder | undefined)?.[SCOPE];
  if (!scope) return undefined;
  let unit = scope.units.get(store) as U | undefined;
  if (!unit) {
    unit = create(scope.hints);
    scope.units.set(store, unit);
  }
  return unit;
}
