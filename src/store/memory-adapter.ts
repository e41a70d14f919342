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
import { MemoryStore } from './memory-store.js';

/** Options of {@link createMemoryAdapter}. */
export interface MemoryAdapterOptions extends AdapterOptions {
  /** Key namespace, as for Redis (default `memory`); lets several issuers share one store. */
  namespace?: string;
  /** The store to keep records in (default: a new one with a 30 s sweep, on `clock`). */
  store?: MemoryStore;
}

/**
 * One oidc-provider model kept in a {@link MemoryStore}, with the same contract as the Redis
 * adapter. Every method runs synchronously to its end before its promise settles, so each
 * operation is atomic with respect to every other.
 */
class MemoryModelAdapter implements Adapter {
  private readonly grantable: boolean;

  constructor(
    private readonly store: MemoryStore,
    private readonly names: KeyNames,
    private readonly model: string,
    private readonly clockTolerance: number,
    private readonly clock: () => number,
  ) {
    this.grantable = GRANTABLE_MODELS.has(model);
  }

  private parse(raw: string | undefined): AdapterPayload | undefined {
    return raw === undefined ? undefined : (JSON.parse(raw) as AdapterPayload);
  }

  private dropIndex(key: string, id: string): void {
    if (this.store.get(key) === id) this.store.delete(key);
  }

  private dropSecondary(previous: AdapterPayload, id: string): void {
    if (typeof previous.uid === 'string') this.dropIndex(this.names.uid(previous.uid), id);
    if (typeof previous.userCode === 'string') {
      this.dropIndex(this.names.userCode(previous.userCode), id);
    }
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    const indexes = indexesOf(this.model, payload);
    assertWritable(this.model, id, indexes);
    const ttl = recordTtlMs(expiresIn, this.clockTolerance);
    const key = this.names.model(this.model, id);

    if (this.model === REPLAY_MODEL) {
      if (!this.store.setIfAbsent(key, JSON.stringify(payload), ttl)) throw replayRefused();
      return;
    }

    const { grantId, uid, userCode } = indexes;
    const member = this.names.grantMember(this.model, id);
    let record: AdapterPayload = { ...payload };
    const hasConsumed =
      payload.consumed !== undefined && payload.consumed !== null && payload.consumed !== false;
    if (!hasConsumed) delete record.consumed;

    const previous = this.parse(this.store.get(key));
    if (previous) {
      if (typeof previous.uid === 'string' && previous.uid !== uid) {
        this.dropIndex(this.names.uid(previous.uid), id);
      }
      if (typeof previous.userCode === 'string' && previous.userCode !== userCode) {
        this.dropIndex(this.names.userCode(previous.userCode), id);
      }
      if (this.grantable && typeof previous.grantId === 'string' && previous.grantId !== grantId) {
        this.store.removeMember(this.names.grant(previous.grantId), member);
      }
      if (!hasConsumed && previous.consumed !== undefined && previous.consumed !== null) {
        record = { ...record, consumed: previous.consumed };
      }
    }

    if (grantId) {
      const grantKey = this.names.grant(grantId);
      const remaining = this.store.ttlMs(grantKey);
      this.store.addMember(grantKey, member);
      // The set lives as long as its longest member (and forever once one member does).
      if (ttl === undefined) this.store.expire(grantKey, undefined);
      else if (remaining === -2 || (remaining >= 0 && remaining < ttl)) {
        this.store.expire(grantKey, ttl);
      }
    }
    if (uid) this.store.set(this.names.uid(uid), id, ttl);
    if (userCode) this.store.set(this.names.userCode(userCode), id, ttl);
    this.store.set(key, JSON.stringify(record), ttl);
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    if (!lookupable(id)) return undefined;
    return this.parse(this.store.get(this.names.model(this.model, id)));
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    if (!lookupable(uid)) return undefined;
    const id = this.store.get(this.names.uid(uid));
    return id === undefined ? undefined : this.find(id);
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    if (!lookupable(userCode)) return undefined;
    const id = this.store.get(this.names.userCode(userCode));
    return id === undefined ? undefined : this.find(id);
  }

  async consume(id: string): Promise<void> {
    const key = this.names.model(this.model, id);
    const record = this.parse(this.store.get(key));
    if (!record) throw consumeRefused(this.model, 'missing');
    if (record.consumed !== undefined && record.consumed !== null) {
      if (typeof record.grantId === 'string') {
        this.revoke(record.grantId);
        this.store.delete(this.names.model(GRANT_MODEL, record.grantId));
      }
      throw consumeRefused(this.model, 'replayed');
    }
    this.store.replaceKeepTtl(
      key,
      JSON.stringify({ ...record, consumed: epochSeconds(this.clock) }),
    );
  }

  async destroy(id: string): Promise<void> {
    const key = this.names.model(this.model, id);
    const record = this.parse(this.store.get(key));
    if (!record) return;
    this.dropSecondary(record, id);
    if (this.grantable && typeof record.grantId === 'string') {
      this.store.removeMember(
        this.names.grant(record.grantId),
        this.names.grantMember(this.model, id),
      );
    }
    this.store.delete(key);
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    this.revoke(grantId);
  }

  private revoke(grantId: string): void {
    const grantKey = this.names.grant(grantId);
    const prefix = this.names.scriptPrefixes.records;
    for (const member of this.store.members(grantKey)) {
      const key = prefix + member;
      const record = this.parse(this.store.get(key));
      if (record) this.dropSecondary(record, member.slice(member.indexOf(':') + 1));
      this.store.delete(key);
    }
    this.store.delete(grantKey);
  }
}

/**
 * The oidc-provider `adapter` used without `REDIS_URL`: the Redis adapter's contract in
 * process memory (same keys, TTLs, indexes, one-winner consume and replay detection). Data is
 * lost on restart and not shared between processes.
 */
export function createMemoryAdapter(opts: MemoryAdapterOptions): ModelAdapterFactory {
  const names = keyNames(opts.namespace ?? 'memory');
  const clock = opts.clock ?? Date.now;
  const store = opts.store ?? new MemoryStore({ now: clock });
  return (model: string) => new MemoryModelAdapter(store, names, model, opts.clockTolerance, clock);
}
