import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KeyError } from '../errors.js';
import { RING_FILE } from './file-ring-store.js';
import { parsePrivateKeys } from './material.js';
import type { KeyRingWatcher } from './watcher.js';

/**
 * The endings of the files in the keys folder that are read as private keys at start (the key
 * ring files `keyring-*.json` and dotfiles are not). docs/cli.md and docs/key-rotation.md list
 * them; a test holds them to this list.
 */
export const KEY_FILE_ENDINGS = ['.pem', '.key', '.jwk', '.jwks', '.json'] as const;

const isKeyFile = (name: string) =>
  KEY_FILE_ENDINGS.some((ending) => name.toLowerCase().endsWith(ending)) &&
  !RING_FILE.test(name) &&
  !name.startsWith('.');

/**
 * Imports the private keys found in `dir` (PEM as `openssl genpkey` writes them, JWK or JWK
 * set) that the ring does not hold yet. Each enters as its algorithm's `next` key, so it is
 * published for the pre-publication lead before it signs. Several instances importing the same
 * file at once add it once. A file that cannot be parsed stops the start with its name.
 * @returns the kids added.
 */
export async function importKeyDirectory(dir: string, keyRing: KeyRingWatcher): Promise<string[]> {
  let names: string[];
  try {
    names = readdirSync(dir).filter(isKeyFile);
  } catch {
    return [];
  }
  const added: string[] = [];
  for (const name of names.sort()) {
    const file = join(dir, name);
    let keys: Awaited<ReturnType<typeof parsePrivateKeys>>;
    try {
      keys = await parsePrivateKeys(readFileSync(file));
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new KeyError(
        err instanceof KeyError ? err.code : 'KEY_PARSE_FAILED',
        `${file}: ${reason}`,
        { cause: err },
      );
    }
    const ring = keyRing.current();
    const known = new Set([...(ring?.keys.map((k) => k.kid) ?? []), ...(ring?.revokedKids ?? [])]);
    const fresh = keys.filter((k) => !known.has(k.kid));
    if (fresh.length === 0) continue;
    try {
      await keyRing.import(fresh);
      added.push(...fresh.map((k) => k.kid));
    } catch (err) {
      // Another instance imported the same file a moment earlier.
      if (err instanceof KeyError && err.code === 'KID_EXISTS') continue;
      throw err;
    }
  }
  return added;
}
