/**
 * Watches a config file and hands every valid new version to the running issuer. The folder
 * is watched, not the file, because editors save by writing a new file and renaming it over the
 * old one, which ends a watch on the file itself. Changes are coalesced for `debounceMs`.
 */
import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import type { IssuerConfig } from './schema.js';

export interface ConfigWatchOptions {
  /** The config file to watch. */
  file: string;
  /** Loads and validates the config exactly as the start did (pure; may throw ConfigError). */
  load: () => IssuerConfig;
  /** The config in force now (what the start loaded from `file`); changes are relative to it. */
  current: IssuerConfig;
  /** Called with each new valid config. */
  onValid: (config: IssuerConfig) => void;
  /** Called when the file no longer loads; `problems` lists every problem found. */
  onInvalid: (problems: string[]) => void;
  /** Default 100 ms. */
  debounceMs?: number;
}

/** Starts watching; returns a function that stops. */
function watchConfigFile(options: ConfigWatchOptions): () => void {
  const file = resolve(options.file);
  const name = basename(file);
  let timer: NodeJS.Timeout | undefined;
  let last: string | undefined = JSON.stringify(options.current);
  const reload = () => {
    let next: IssuerConfig;
    try {
      next = options.load();
    } catch (err) {
      last = undefined;
      options.onInvalid(err instanceof ConfigError ? err.problems : [String(err)]);
      return;
    }
    // Editors and renames fire several events per save; one reload per distinct content.
    const fingerprint = JSON.stringify(next);
    if (fingerprint === last) return;
    last = fingerprint;
    options.onValid(next);
  };
  const watcher: FSWatcher = watch(dirname(file), (_event, changed) => {
    if (changed !== null && changed !== name) return;
    clearTimeout(timer);
    timer = setTimeout(reload, options.debounceMs ?? 100);
  });
  watcher.on('error', () => {});
  return () => {
    clearTimeout(timer);
    watcher.close();
  };
}

/** What `reloadOnChange` needs of a running issuer. */
export interface Reconfigurable {
  reconfigure(next: IssuerConfig): Promise<{ restartNeeded: string[]; changed: boolean }>;
  logger: {
    info(obj: object, msg: string): void;
    warn(obj: object, msg: string): void;
    error(obj: object, msg: string): void;
  };
}

/**
 * Applies every valid change of `file` to `issuer` and logs what happened: applied, ignored
 * until a restart (naming the settings), or refused with every problem (the running config
 * stays). Returns a function that stops watching.
 */
export function reloadOnChange(
  file: string,
  load: () => IssuerConfig,
  current: IssuerConfig,
  issuer: Reconfigurable,
  debounceMs?: number,
): () => void {
  const { logger } = issuer;
  let applying = Promise.resolve();
  return watchConfigFile({
    file,
    load,
    current,
    ...(debounceMs !== undefined ? { debounceMs } : {}),
    onValid: (next) => {
      applying = applying.then(async () => {
        try {
          const { restartNeeded, changed } = await issuer.reconfigure(next);
          if (restartNeeded.length > 0) {
            logger.warn(
              { file, restartNeeded },
              `config change needs a restart to take effect: ${restartNeeded.join(', ')} (ignored until then)`,
            );
          }
          if (changed) logger.info({ file }, 'config reloaded: the new settings are in force');
        } catch (err) {
          logger.error({ err, file }, 'config change could not be applied; the old config stays');
        }
      });
    },
    onInvalid: (problems) => {
      logger.error(
        { file, problems },
        `config change not applied, the running config stays:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      );
    },
  });
}
