import type { Cluster, Redis } from 'ioredis';
import type { Adapter, AdapterPayload } from 'oidc-provider';
import {
  type AdapterOptions,
  assertWritable,
  consumeRefused,
  epochSeconds,
  GRANT_MODEL,
  GRANTABLE_MODELS,
  indexesOf,
  lookupable,
  type ModelAdapterFactory,
  REPLAY_MODEL,
  recordTtlMs,
  replayRefused,
} from './adapter-rules.js';
import { type KeyNames, keyNames } from './keys.js';
import { wrapStoreError } from './redis.js';
import { RedisUnitOfWork, type WriteOp, writeAll } from './redis-unit.js';
import { unitOf, useUnitsOfWork } from './request-scope.js';
import { type ScriptCommands, withScripts } from './scripts.js';

async function call<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    throw wrapStoreError(err);
  }
}

function parse(raw: string | null): AdapterPayload | undefined {
  return raw === null ? undefined : (JSON.parse(raw) as AdapterPayload);
}

/** What the models of one `createRedisAdapter` share: the client, the namespace, the clock. */
class RedisStore {
  constructor(
    readonly redis: Redis | Cluster,
    readonly scripts: ScriptCommands,
    readonly names: KeyNames,
    readonly clockTolerance: number,
    readonly clock: () => number,
  ) {}

  /** The current request's unit of work on this store, or undefined outside a request. */
  unit(): RedisUnitOfWork | undefined {
    return unitOf(this, (hints) => new RedisUnitOfWork(this.scripts, this.names, hints));
  }
}

/**
 * One oidc-provider model stored in Redis. Records are JSON strings under
 * `KeyNames.model(model, id)`, written by the scripts in lua/; test/suites/adapter-suite.ts
 * states the contract.
 *
 * Inside a request's unit of work (request-scope.ts) reads are served from the request's view
 * and upserts and destroys are held until the unit's one atomic flush; `consume`, revocation
 * and replay detection go to Redis at once (after the held writes), as every call does outside
 * a unit.
 * Store failures reject with `StoreUnavailableError`.
 */
class RedisModelAdapter implements Adapter {
  private readonly grantable: boolean;

  constructor(
    private readonly store: RedisStore,
    private readonly model: string,
  ) {
    this.grantable = GRANTABLE_MODELS.has(model);
  }

  /**
   * Writes the record with TTL `expiresIn + clockTolerance`, adds it to its grant set before
   * writing it, moves its uid / userCode / grant index entries when they changed, and keeps a
   * `consumed` flag the stored record already has. ReplayDetection ids can be written once only.
   */
  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    const indexes = indexesOf(this.model, payload);
    assertWritable(this.model, id, indexes);
    const { names, scripts } = this.store;
    const ttl = recordTtlMs(expiresIn, this.store.clockTolerance);
    const key = names.model(this.model, id);
    const ttlArg = ttl === undefined ? '' : String(ttl);

    if (this.model === REPLAY_MODEL) {
      const written = await call(() =>
        scripts.adapterInsertOnce(key, JSON.stringify(payload), ttlArg),
      );
      if (written !== 1) throw replayRefused();
      return;
    }

    // A falsy `consumed` must not overwrite a stored one; without it the script keeps the old.
    const { consumed, ...rest } = payload;
    const hasConsumed = consumed !== undefined && consumed !== null && consumed !== false;
    await this.write({
      kind: 'upsert',
      key,
      id,
      member: names.grantMember(this.model, id),
      body: JSON.stringify(hasConsumed ? payload : rest),
      ttl: ttlArg,
      ...indexes,
      hasConsumed,
      grantable: this.grantable,
    });
  }

  /** One GET (inside a request: its view, or one read with its neighbours); undefined when absent. */
  async find(id: string): Promise<AdapterPayload | undefined> {
    if (!lookupable(id)) return undefined;
    const unit = this.store.unit();
    if (unit) return parse(await unit.find(this.model, id));
    const { redis, names } = this.store;
    return parse(await call(() => redis.get(names.model(this.model, id))));
  }

  /** The session whose `uid` this is; undefined when the index or its record is gone. */
  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    if (!lookupable(uid)) return undefined;
    const unit = this.store.unit();
    if (unit) return parse(await unit.findByUid(this.model, uid));
    return this.findByIndex(this.store.names.uid(uid));
  }

  /** The device code whose `userCode` this is; undefined when the index or record is gone. */
  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    if (!lookupable(userCode)) return undefined;
    await this.store.unit()?.flush();
    return this.findByIndex(this.store.names.userCode(userCode));
  }

  private async findByIndex(indexKey: string): Promise<AdapterPayload | undefined> {
    const { scripts, names } = this.store;
    const raw = await call(() =>
      scripts.adapterFindByIndex(indexKey, names.modelPrefix(this.model)),
    );
    return parse(raw);
  }

  /**
   * Marks the record consumed (epoch seconds), keeping its TTL, at once (inside a request too).
   * Exactly one call per record succeeds: a second one revokes the record's grant and rejects
   * with `invalid_grant` (`invalid_request_uri` for pushed authorization requests); see
   * `consumeRefused`.
   */
  async consume(id: string): Promise<void> {
    const { scripts, names, clock } = this.store;
    const unit = this.store.unit();
    await unit?.flush();
    const key = names.model(this.model, id);
    const p = names.scriptPrefixes;
    const outcome = await call(() =>
      scripts.adapterConsume(
        key,
        String(epochSeconds(clock)),
        p.records,
        p.grant,
        p.uid,
        p.userCode,
        names.modelPrefix(GRANT_MODEL),
      ),
    );
    // A replay revoked the grant: any record the request has seen may be gone.
    unit?.forget(outcome === 'replayed' ? undefined : key);
    if (outcome !== 'ok') throw consumeRefused(this.model, outcome);
  }

  /** Removes the record and the indexes that point at it (and only those). */
  async destroy(id: string): Promise<void> {
    const { names } = this.store;
    await this.write({
      kind: 'destroy',
      key: names.model(this.model, id),
      id,
      member: names.grantMember(this.model, id),
      grantable: this.grantable,
    });
  }

  /** Held by the request's unit of work until its flush, or written at once outside one. */
  private async write(op: WriteOp): Promise<void> {
    const unit = this.store.unit();
    if (unit) unit.hold(op);
    else await writeAll(this.store.scripts, this.store.names, [op]);
  }

  /**
   * Deletes every record of the grant (of every model, with their indexes) and the grant set.
   * oidc-provider calls it once per model, in parallel; all calls after the first are no-ops.
   */
  async revokeByGrantId(grantId: string): Promise<void> {
    const { scripts, names } = this.store;
    const unit = this.store.unit();
    await unit?.flush();
    const p = names.scriptPrefixes;
    await call(() =>
      scripts.adapterRevokeGrant(names.grant(grantId), p.records, p.uid, p.userCode),
    );
    unit?.forget();
  }
}

/**
 * The oidc-provider `adapter` for Redis (standalone or Cluster): a factory called once per
 * model name. Every key lives under `keyNames(namespace)`, one Cluster hash tag per issuer.
 * The client should come from `createRedisClient` so failures are bounded; adapter calls then
 * reject with `StoreUnavailableError` (HTTP 503) when Redis is down or slow.
 */
export function createRedisAdapter(
  client: Redis | Cluster,
  namespace: string,
  opts: AdapterOptions,
): ModelAdapterFactory {
  useUnitsOfWork();
  const store = new RedisStore(
    client,
    withScripts(client),
    keyNames(namespace),
    opts.clockTolerance,
    opts.clock ?? Date.now,
  );
  return (model: string) => new RedisModelAdapter(store, model);
}
