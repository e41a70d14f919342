import type * as Levenshtein from 'fastest-levenshtein';
import { lazyModule } from './lazy-module.js';

// Loaded with the first suggestion (a mistake in a request or a config): the module allocates a
// 256 KiB table when it loads, and a start that makes no mistake needs none.
const levenshtein = lazyModule<typeof Levenshtein>('fastest-levenshtein');

/**
 * The entry of `known` that `word` is most likely a misspelling of, for a "did you mean …?"
 * hint: the nearest by edit distance, if at most a third of its length (or 2) away.
 */
export function suggestion(word: string, known: readonly string[]): string | undefined {
  if (known.length === 0) return undefined;
  const { closest, distance } = levenshtein();
  const near = closest(word, [...known]);
  return distance(word, near) <= Math.max(2, near.length / 3) ? near : undefined;
}
