import { AsyncLocalStorage } from 'node:async_hooks';

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

  async flush(): Promise<void> {
    for (const unit of this.units.values()) await unit.flush();
  }
}

const scopes = new AsyncLocalStorage<RequestScope>();

/**
 * Whether a store that keeps units of work (Redis) has been opened in this process. Until then
 * {@link inUnitOfWork} only runs its work: a memory-only process never enables the
 * AsyncLocalStorage, whose context every promise would otherwise carry (Node 20).
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

/**
 * Runs `work` as a unit of work and flushes the held writes before resolving, so the caller can
 * answer only once they are stored; a failed flush rejects with the store's error (a
 * `StoreUnavailableError` answers 503). When `work` throws, what it wrote so far is still
 * flushed (as it would have been written without a unit) and its error is rethrown. Nested
 * inside another unit it joins that one, and still flushes on its way out.
 * `hints` is asked for once, at the first read.
 */
export async function inUnitOfWork<T>(
  hints: () => readonly RecordHint[],
  work: () => Promise<T>,
): Promise<T> {
  if (!wanted) return work();
  const outer = scopes.getStore();
  const scope = outer ?? new RequestScope(hints);
  let result: T;
  try {
    result = outer ? await work() : await scopes.run(scope, work);
  } catch (err) {
    await scope.flush().catch(() => {});
    throw err;
  }
  await scope.flush();
  return result;
}

/**
 * The current request's unit for `store` (made by `create` on first use, which gets the
 * request's hints), or undefined outside a unit of work.
 */
export function unitOf<U extends UnitOfWork>(
  store: object,
  create: (hints: () => readonly RecordHint[]) => U,
): U | undefined {
  const scope = scopes.getStore();
  if (!scope) return undefined;
  let unit = scope.units.get(store) as U | undefined;
  if (!unit) {
    unit = create(scope.hints);
    scope.units.set(store, unit);
  }
  return unit;
}
