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

/**
 * One oidc-provider model stored in Redis. Records are JSON strings under
 * `KeyNames.model(model, id)`, written by the scripts in lua/; test/suites/adapter-suite.ts
 * states the contract.
 * Store failures reject with `StoreUnavailableError`.
 */
class RedisModelAdapter implements Adapter {
  private readonly grantable: boolean;

  constructor(
    private readonly redis: Redis | Cluster,
    private readonly scripts: ScriptCommands,
    private readonly names: KeyNames,
    private readonly model: string,
    private readonly clockTolerance: number,
    private readonly clock: () => number,
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
    const ttl = recordTtlMs(expiresIn, this.clockTolerance);
    const key = this.names.model(this.model, id);
    const ttlArg = ttl === undefined ? '' : String(ttl);

    if (this.model === REPLAY_MODEL) {
      const written = await call(() =>
        this.scripts.adapterInsertOnce(key, JSON.stringify(payload), ttlArg),
      );
      if (written !== 1) throw replayRefused();
      return;
    }

    // A falsy `consumed` must not overwrite a stored one; without it the script keeps the old.
    const { consumed, ...rest } = payload;
    const hasConsumed = consumed !== undefined && consumed !== null && consumed !== false;
    const body = JSON.stringify(hasConsumed ? payload : rest);
    const { grantId, uid, userCode } = indexes;
    const p = this.names.scriptPrefixes;
    await call(() =>
      this.scripts.adapterUpsert(
        key,
        id,
        this.names.grantMember(this.model, id),
        body,
        ttlArg,
        grantId ?? '',
        uid ?? '',
        userCode ?? '',
        hasConsumed ? '1' : '0',
        this.grantable ? '1' : '0',
        p.grant,
        p.uid,
        p.userCode,
      ),
    );
  }

  /** One GET; undefined when absent or expired. */
  async find(id: string): Promise<AdapterPayload | undefined> {
    if (!lookupable(id)) return undefined;
    const raw = await call(() => this.redis.get(this.names.model(this.model, id)));
    return parse(raw);
  }

  /** The session whose `uid` this is; undefined when the index or its record is gone. */
  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    if (!lookupable(uid)) return undefined;
    return this.findByIndex(this.names.uid(uid));
  }

  /** The device code whose `userCode` this is; undefined when the index or record is gone. */
  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    if (!lookupable(userCode)) return undefined;
    return this.findByIndex(this.names.userCode(userCode));
  }

  private async findByIndex(indexKey: string): Promise<AdapterPayload | undefined> {
    const raw = await call(() =>
      this.scripts.adapterFindByIndex(indexKey, this.names.modelPrefix(this.model)),
    );
    return parse(raw);
  }

  /**
   * Marks the record consumed (epoch seconds), keeping its TTL. Exactly one call per record
   * succeeds: a second one revokes the record's grant and rejects with `invalid_grant`
   * (`invalid_request_uri` for pushed authorization requests); see `consumeRefused`.
   */
  async consume(id: string): Promise<void> {
    const p = this.names.scriptPrefixes;
    const outcome = await call(() =>
      this.scripts.adapterConsume(
        this.names.model(this.model, id),
        String(epochSeconds(this.clock)),
        p.records,
        p.grant,
        p.uid,
        p.userCode,
        this.names.modelPrefix(GRANT_MODEL),
      ),
    );
    if (outcome !== 'ok') throw consumeRefused(this.model, outcome);
  }

  /** Removes the record and the indexes that point at it (and only those). */
  async destroy(id: string): Promise<void> {
    const p = this.names.scriptPrefixes;
    await call(() =>
      this.scripts.adapterDestroy(
        this.names.model(this.model, id),
        id,
        this.names.grantMember(this.model, id),
        this.grantable ? '1' : '0',
        p.grant,
        p.uid,
        p.userCode,
      ),
    );
  }

  /**
   * Deletes every record of the grant (of every model, with their indexes) and the grant set.
   * oidc-provider calls it once per model, in parallel; all calls after the first are no-ops.
   */
  async revokeByGrantId(grantId: string): Promise<void> {
    const p = this.names.scriptPrefixes;
    await call(() =>
      this.scripts.adapterRevokeGrant(this.names.grant(grantId), p.records, p.uid, p.userCode),
    );
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
  const names = keyNames(namespace);
  const scripts = withScripts(client);
  const clock = opts.clock ?? Date.now;
  return (model: string) =>
    new RedisModelAdapter(client, scripts, names, model, opts.clockTolerance, clock);
}
