import { validateConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';

/** The problems `run` reports as a ConfigError (none when it succeeds); other errors are thrown. */
export function problemsFrom(run: () => unknown): string[] {
  try {
    run();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

/** The problems `validateConfig(raw)` reports (none when the config is valid). */
export const problemsOf = (raw: unknown): string[] => problemsFrom(() => validateConfig(raw));
