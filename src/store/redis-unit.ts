import { GRANT_MODEL, lookupable, SESSION_MODEL } from './adapter-rules.js';
import type { KeyNames } from './keys.js';
import { wrapStoreError } from './redis.js';
import type { RecordHint, UnitOfWork } from './request-scope.js';
import type { ScriptCommands } from './scripts.js';

/** One write of lua/adapterWrite-1.lua. */
export type WriteOp =
  | {
      kind: 'upsert';
      key: string;
      id: string;
      member: string;
      body: string;
      /** Milliseconds, or '' for none. */
      ttl: string;
      grantId: string | undefined;
      uid: string | undefined;
      userCode: string | undefined;
      hasConsumed: boolean;
      grantable: boolean;
    }
  | { kind: 'destroy'; key: string; id: string; member: string; grantable: boolean };

const flag = (b: boolean) => (b ? '1' : '0');

function opArgs(op: WriteOp): string[] {
  if (op.kind === 'destroy') return ['destroy', op.key, op.id, op.member, flag(op.grantable)];
  return [
    'upsert',
    op.key,
    op.id,
    op.member,
    op.body,
    op.ttl,
    op.grantId ?? '',
    op.uid ?? '',
    op.userCode ?? '',
    flag(op.hasConsumed),
    flag(op.grantable),
  ];
}

/** Runs `ops` in order as one atomic script call. */
export async function writeAll(
  scripts: ScriptCommands,
  names: KeyNames,
  ops: readonly WriteOp[],
): Promise<void> {
  const first = ops[0];
  if (!first) return;
  const p = names.scriptPrefixes;
  try {
    await scripts.adapterWrite(first.key, p.grant, p.uid, p.userCode, ...ops.flatMap(opArgs));
  } catch (err) {
    throw wrapStoreError(err);
  }
}

const uidOf = (raw: string | null | undefined): string | undefined => {
  if (!raw) return undefined;
  const uid = (JSON.parse(raw) as { uid?: unknown }).uid;
  return typeof uid === 'string' ? uid : undefined;
};

/**
 * One request's unit of work on one Redis namespace (see request-scope.ts).
 *
 * It keeps the request's view of the records it read or wrote (`records`: key → JSON, null for
 * absent) and of the uid index (`uids`: uid → session id, null for none), and the writes it
 * holds (`pending`). A read it cannot answer goes to Redis as one `adapterRead` call, which also
 * reads the request's hinted records (at its first read) and the records a record points at.
 * Where the view cannot know what Redis will hold after the held writes (an upsert that may
 * keep a stored `consumed` flag, an index entry of a record it never read), it forgets the
 * entry and the next read of it flushes first, so a request always reads its own writes.
 */
export class RedisUnitOfWork implements UnitOfWork {
  private readonly records = new Map<string, string | null>();
  private readonly uids = new Map<string, string | null>();
  /** Keys whose stored value after the pending writes the view does not know. */
  private readonly unsure = new Set<string>();
  /** Set when a pending write may have moved a uid index entry the view does not know. */
  private uidsUnsure = false;
  private pending: WriteOp[] = [];
  private hinted = false;
  private flushing: Promise<void> = Promise.resolve();
  /** The error of a failed flush: nothing more is written in this request. */
  private failed: unknown;

  constructor(
    private readonly scripts: ScriptCommands,
    private readonly names: KeyNames,
    private readonly hints: () => readonly RecordHint[],
  ) {}

  /** The record's JSON as this request sees it, or null when there is none. */
  async find(model: string, id: string): Promise<string | null> {
    const key = this.names.model(model, id);
    if (this.unsure.has(key)) await this.flush();
    if (!this.records.has(key)) await this.read([this.names.grantMember(model, id)], []);
    return this.records.get(key) ?? null;
  }

  /** The JSON of the `model` record the uid index names, or null. */
  async findByUid(model: string, uid: string): Promise<string | null> {
    if (!this.uids.has(uid)) {
      if (this.uidsUnsure) await this.flush();
      await this.read([], [uid]);
    }
    const id = this.uids.get(uid);
    return id ? this.find(model, id) : null;
  }

  /** Holds `op` until the flush and updates the view to what Redis will hold after it. */
  hold(op: WriteOp): void {
    if (this.failed) throw this.failed;
    const previous = this.records.get(op.key);
    const known = previous !== undefined && !this.unsure.has(op.key);
    const oldUid = known ? uidOf(previous) : undefined;
    if (!known) this.forgetUidsOf(op.id);
    else if (oldUid !== undefined && this.uids.get(oldUid) === op.id) this.uids.set(oldUid, null);
    if (op.kind === 'destroy') {
      this.records.set(op.key, null);
      this.unsure.delete(op.key);
    } else {
      // The script keeps a stored `consumed` the body lacks: only a known record tells.
      const keepsConsumed =
        !op.hasConsumed && (!known || (previous !== null && JSON.parse(previous).consumed != null));
      if (keepsConsumed) {
        this.records.delete(op.key);
        this.unsure.add(op.key);
      } else {
        this.records.set(op.key, op.body);
        this.unsure.delete(op.key);
      }
      if (op.uid !== undefined) this.uids.set(op.uid, op.id);
    }
    this.pending.push(op);
  }

  /**
   * After an immediate operation changed `key` (or, without a key, any number of records): the
   * view forgets it, and a write held since (a parallel call) makes its next read flush first.
   */
  forget(key?: string): void {
    if (key === undefined) {
      this.records.clear();
      this.uids.clear();
      this.unsure.clear();
      for (const op of this.pending) this.unsure.add(op.key);
      this.uidsUnsure = this.pending.length > 0;
      return;
    }
    this.records.delete(key);
    if (this.pending.some((op) => op.key === key)) this.unsure.add(key);
  }

  /**
   * Writes what is held. Also called before an operation that goes to Redis at once (consume,
   * revocation, a userCode lookup), so Redis sees the request's operations in their order.
   */
  flush(): Promise<void> {
    const run = this.flushing.then(async () => {
      if (this.failed) throw this.failed;
      const ops = this.pending;
      if (ops.length === 0) return;
      this.pending = [];
      try {
        await writeAll(this.scripts, this.names, ops);
      } catch (err) {
        this.failed = err;
        this.forget();
        throw err;
      }
      this.unsure.clear();
      this.uidsUnsure = false;
    });
    this.flushing = run.catch(() => {});
    return run;
  }

  private forgetUidsOf(id: string): void {
    for (const [uid, sessionId] of this.uids) if (sessionId === id) this.uids.delete(uid);
    this.uidsUnsure = true;
  }

  private async read(members: string[], uids: string[]): Promise<void> {
    if (!this.hinted) {
      this.hinted = true;
      for (const { model, id } of this.hints()) {
        const key = this.names.model(model, id);
        const member = this.names.grantMember(model, id);
        if (lookupable(id) && !this.records.has(key) && !members.includes(member)) {
          members.push(member);
        }
      }
    }
    const p = this.names.scriptPrefixes;
    const first = members[0] ? p.records + members[0] : this.names.uid(uids[0] as string);
    let reply: (string | null)[];
    try {
      reply = await this.scripts.adapterRead(
        first,
        p.records,
        p.uid,
        `${SESSION_MODEL}:`,
        `${GRANT_MODEL}:`,
        String(members.length),
        ...members,
        ...uids,
      );
    } catch (err) {
      throw wrapStoreError(err);
    }
    for (let i = 0; i + 2 < reply.length; i += 3) {
      const [kind, name, value] = [reply[i], reply[i + 1] as string, reply[i + 2] ?? null];
      if (kind === 'r') {
        const key = p.records + name;
        // A record the request wrote since is newer than what was read.
        if (!this.records.has(key) && !this.unsure.has(key)) this.records.set(key, value);
      } else if (!this.uids.has(name) && !this.uidsUnsure) {
        this.uids.set(name, value);
      }
    }
  }
}
