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
  /** Lock used while the first key ring is created. */
  readonly keyRingInitLock: string;
}

export function keyNames(namespace: string): KeyNames {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(namespace)) {
    throw new Error(`invalid Redis namespace ${JSON.stringify(namespace)}`);
  }
  const prefix = `oidc:{${namespace}}:`;
  return {
    prefix,
    model: (model, id) => `${prefix}m:${model}:${id}`,
    grant: (grantId) => `${prefix}g:${grantId}`,
    uid: (uid) => `${prefix}uid:${uid}`,
    userCode: (userCode) => `${prefix}uc:${userCode}`,
    keyRing: `${prefix}keyring`,
    keyRingChannel: `${prefix}keyring:changed`,
    keyRingInitLock: `${prefix}keyring:init-lock`,
  };
}
