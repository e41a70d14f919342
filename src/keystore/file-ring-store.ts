import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { KeyError } from '../errors.js';
import { stampWrite } from './ring-write.js';
import {
  assertUsableSecret,
  deserializeRing,
  type RingCodecOptions,
  serializeRing,
} from './serialize.js';
import type { KeyRing, KeyRingStore } from './types.js';

/** The file name of the key ring of the issuer whose namespace is `namespace`. */
export function ringFileName(namespace: string): string {
  return `keyring-${namespace}.json`;
}

/** Key ring files (this version's and the earlier shared one), never read as key files. */
export const RING_FILE = /^keyring(-[A-Za-z0-9._-]+)?\.json$/;

/** The one ring file of versions before the ring was per issuer. */
export const LEGACY_RING_FILE = 'keyring.json';

/**
 * A key ring in one file (the server uses `keys/keyring-<namespace>.json`) for a single instance without Redis.
 * Writes go to a temporary file in the same directory, are flushed, and then renamed over the
 * ring, so a crash leaves either the old or the new ring, never half of one. The file is
 * created with mode 0600 and its directory with 0700. Updates within this process are
 * serialized; several processes must not share one file.
 */
export class FileKeyRingStore implements KeyRingStore {
  readonly path: string;
  readonly #codec: RingCodecOptions;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(path: string, options: RingCodecOptions = {}) {
    assertUsableSecret(options.secret);
    this.path = path;
    this.#codec = { ...options };
  }

  async load(): Promise<KeyRing | undefined> {
    let raw: string;
    try {
      raw = await readFile(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw unusable(this.path, 'read', e);
    }
    return deserializeRing(raw, this.#codec);
  }

  update(
    updater: (current: KeyRing | undefined) => KeyRing | undefined,
  ): Promise<{ ring: KeyRing | undefined; changed: boolean }> {
    const run = this.#queue.then(async () => {
      const current = await this.load();
      const candidate = updater(current && structuredClone(current));
      if (!candidate) return { ring: current, changed: false };
      const written = stampWrite(current, candidate);
      await this.#write(serializeRing(written, this.#codec)).catch((e: unknown) => {
        throw unusable(this.path, 'write', e);
      });
      return { ring: written, changed: true };
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  async #write(data: string): Promise<void> {
    const dir = dirname(this.path);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const temp = join(dir, `.${basename(this.path)}.${randomBytes(6).toString('hex')}.tmp`);
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(data, 'utf8');
      await handle.sync();
    } catch (e) {
      await handle.close();
      await rm(temp, { force: true });
      throw e;
    }
    await handle.close();
    await rename(temp, this.path);
  }

  /** A file has no change notifications; the watcher's periodic re-read covers it. */
  async subscribe(_onChange: () => void): Promise<() => Promise<void>> {
    return async () => {};
  }

  async close(): Promise<void> {
    await this.#queue;
  }
}

/** A file error (permissions, a directory in the way, a read-only disk) with the path in it. */
function unusable(path: string, op: 'read' | 'write', e: unknown): KeyError {
  return new KeyError(
    'KEYRING_FILE_UNUSABLE',
    `cannot ${op} the key ring file ${path}: ${(e as Error).message}`,
    { cause: e },
  );
}
