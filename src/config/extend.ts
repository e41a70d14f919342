/**
 * `extends: demo`: a config file written as changes to the built-in demo config.
 *
 * Sections (mappings) merge key by key, recursively; the lists of users, clients and resource
 * servers merge by identity (an entry whose identity the base has replaces that entry whole, a
 * new one is added at the end); anything else in the file replaces the base value.
 */
const IDENTITY: Record<string, string> = {
  users: 'username',
  clients: 'id',
  resourceServers: 'audience',
};

const isMapping = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** `base` with `changes` on top; neither argument is modified. */
export function extendConfig(
  base: Record<string, unknown>,
  changes: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(changes)) {
    const identity = IDENTITY[key];
    const current = out[key];
    if (identity && Array.isArray(value) && Array.isArray(current)) {
      out[key] = mergeByIdentity(current, value, identity);
    } else if (isMapping(value) && isMapping(current)) {
      out[key] = extendConfig(current, value);
    } else {
      out[key] = value;
    }
  }
  return out;
}

function mergeByIdentity(base: unknown[], changes: unknown[], identity: string): unknown[] {
  const merged = [...base];
  for (const entry of changes) {
    const id = isMapping(entry) ? entry[identity] : undefined;
    const at = id === undefined ? -1 : merged.findIndex((e) => isMapping(e) && e[identity] === id);
    if (at >= 0) merged[at] = entry;
    else merged.push(entry);
  }
  return merged;
}
