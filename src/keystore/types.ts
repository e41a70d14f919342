import type { JWK } from 'jose';
import type { SigningAlg } from '../algorithms.js';

/**
 * The state of a key at a given instant, derived from its timestamps (never stored):
 * - `next`: published, verifies, never signs (now < activateAt)
 * - `active`: signs (activateAt ≤ now < retireAt)
 * - `retiring`: published, verifies, never signs (retireAt ≤ now < removeAt)
 * - `removed`: no longer published (now ≥ removeAt); dropped from the ring on the next update.
 */
export type KeyState = 'next' | 'active' | 'retiring' | 'removed';

/** One signing key and its lifecycle timestamps (epoch milliseconds). */
export interface KeyEntry {
  /** RFC 7638 SHA-256 thumbprint of the public key; never reused. */
  kid: string;
  /** Fixed for the key's whole life. */
  alg: SigningAlg;
  /** The private JWK, including `kid`, `alg` and `use: "sig"`. */
  privateJwk: JWK;
  /** When the key entered the ring (and was first published). */
  createdAt: number;
  /** When it starts signing. Always ≥ createdAt + the pre-publication lead (except emergencies). */
  activateAt: number;
  /** When it stops signing. */
  retireAt: number;
  /** When it is unpublished. Always ≥ retireAt + the retention. */
  removeAt: number;
  /** Where the key came from, for `keys list`. */
  origin: 'generated' | 'imported';
}

/** A private signing JWK as the key ring holds it: always with `kid`, `alg` and `use: "sig"`. */
export type SigningJwk = JWK & { kid: string; alg: SigningAlg; use: 'sig' };

/**
 * Supplies a freshly generated, never published key for `alg`. Key generation is async and
 * random, so callers generate candidates beforehand and the pure ring updaters only pick them.
 */
export type FreshKey = (alg: SigningAlg) => SigningJwk;

/** A key entry together with its state at a given instant. */
export interface KeyView extends KeyEntry {
  state: KeyState;
}

/** The whole ring shared by every instance. */
export interface KeyRing {
  /** Incremented on every write; used for compare-and-set and change detection. */
  version: number;
  updatedAt: number;
  /** Keys of every algorithm; order is not meaningful (see `providerKeys` in lifecycle.ts). */
  keys: KeyEntry[];
  /**
   * Secrets for oidc-provider's cookie signing (Keygrip), newest first. Shared so a cookie set
   * by one instance is honoured by all.
   */
  cookieKeys: string[];
  /** Kids removed by an emergency revocation; they are refused if imported again. */
  revokedKids?: string[];
}

/** Rotation policy; all durations in milliseconds. */
export interface RotationPolicy {
  /** Algorithms that each keep one lifecycle; the first is the default for ID tokens. */
  algorithms: SigningAlg[];
  /** How long a key signs before the next one takes over. */
  rotationPeriod: number;
  /** Minimum time a key is published before it may sign. */
  prePublication: number;
  /** How long a key stays published after it stops signing. */
  retention: number;
}

/**
 * Where the ring lives. `update` is a compare-and-set loop: the updater may run more than once
 * (when another writer got there first) so it must be pure; returning `undefined` means "no
 * change" and nothing is written.
 */
export interface KeyRingStore {
  load(): Promise<KeyRing | undefined>;
  update(
    updater: (current: KeyRing | undefined) => KeyRing | undefined,
  ): Promise<{ ring: KeyRing | undefined; changed: boolean }>;
  /**
   * Calls `onChange` when another writer changed the ring; it may also call it when nothing
   * changed (its own writes, reconnections), so listeners re-read. Resolves to an unsubscribe.
   */
  subscribe(onChange: () => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}
