import type { KeyRing } from './types.js';

/**
 * The ring as a store writes it over `current`: its version is one above both the stored one
 * and the candidate's own, so versions only grow, even when a watcher writes back a ring it
 * held after the store lost its data (the store restarts at "nothing", the candidate does not).
 */
export function stampWrite(current: KeyRing | undefined, candidate: KeyRing): KeyRing {
  return { ...candidate, version: Math.max(current?.version ?? 0, candidate.version) + 1 };
}
