/**
 * Every Redis key name oidc-issuer uses is built here and nowhere else.
 *
 * All keys of one issuer share one Redis Cluster hash tag, `oidc:{<namespace>}:`, so every
 * multi-key script and transaction runs on a single slot. The namespace defaults to a stable
 * id derived from the issuer URL (see config), so several issuers can share one Redis.
 */
export interface KeyNames {
  /** Prefix shared by all keys of this issuer, including the hash tag. */
  readonly prefix: string;
  /** One oidc-provider model record, e.g. `m:AccessToken:<id>`. */
  model(model: string, id: string): string;
  /** Prefix of every record of one model: `model(m, id) === modelPrefix(m) + id`. */
  modelPrefix(model: string): string;
  /** How a record is named inside a grant set: `<model>:<id>`. */
  grantMember(model: string, id: string): string;
  /**
   * Prefixes for Lua scripts that must derive keys from stored data (the old indexes of a
   * record, the members of a grant set): `records + grantMember(m, id) === model(m, id)`,
   * `grant + grantId === grant(grantId)`, `uid + u === uid(u)`, `userCode + c === userCode(c)`.
   * Every derived key keeps the namespace's hash tag, so it lives on the script's slot.
   */
  readonly scriptPrefixes: {
    readonly records: string;
    readonly grant: string;
    readonly uid: string;
    readonly userCode: string;
  };
  /** Set of `<model>:<id>` members that belong to a grant. */
  grant(grantId: string): string;
  /** Session uid → session id index. */
  uid(uid: string): string;
  /** Device flow user code → device code id index. */
  userCode(userCode: string): string;
  /** The serialized signing key ring (a single string value). */
  readonly keyRing: string;
  /** Pub/sub channel announcing key-ring changes. Channels are not slotted; still namespaced. */
  readonly keyRingChannel: string;
}

export function keyNames(namespace: string): KeyNames {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(namespace)) {
    throw new Error(`invalid Redis namespace ${JSON.stringify(namespace)}`);
  }
  const prefix = `oidc:{${namespace}}:`;
  return {
    prefix,
    model: (model, id) => `${prefix}m:${model}:${id}`,
    modelPrefix: (model) => `${prefix}m:${model}:`,
    grantMember: (model, id) => `${model}:${id}`,
    scriptPrefixes: {
      records: `${prefix}m:`,
      grant: `${prefix}g:`,
      uid: `${prefix}uid:`,
      userCode: `${prefix}uc:`,
    },
    grant: (grantId) => `${prefix}g:${grantId}`,
    uid: (uid) => `${prefix}uid:${uid}`,
    userCode: (userCode) => `${prefix}uc:${userCode}`,
    keyRing: `${prefix}keyring`,
    keyRingChannel: `${prefix}keyring:changed`,
  };
}
