/** Which key ring errors stop a start. */
import { KeyError } from '../errors.js';

/**
 * Key ring faults that waiting does not heal: the stored ring is sealed with another secret,
 * sealed while no secret is configured, plaintext while a secret is, corrupt, or its file cannot
 * be read or written. A start stops on them (exit 2); an unreachable store is not one of them.
 */
const PERMANENT_RING_FAULTS: ReadonlySet<string> = new Set([
  'KEYRING_SECRET_MISMATCH',
  'KEYRING_SECRET_REQUIRED',
  'KEYRING_NOT_ENCRYPTED',
  'KEYRING_CORRUPT',
  'KEYRING_FILE_UNUSABLE',
]);

export function isPermanentRingFault(err: unknown): err is KeyError {
  return err instanceof KeyError && PERMANENT_RING_FAULTS.has(err.code);
}
