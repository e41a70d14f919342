const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses a duration written as a number of seconds (`900`) or a string with one unit
 * (`"15s"`, `"10m"`, `"1h"`, `"30d"`, `"250ms"`). Returns milliseconds, or `undefined` when the
 * text is not a duration.
 */
export function parseDuration(value: number | string): number | undefined {
  if (typeof value === 'number')
    return Number.isFinite(value) && value >= 0 ? value * 1000 : undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(value);
  if (!match) return undefined;
  const unit = match[2] ?? 's';
  return Math.round(Number(match[1]) * (UNITS[unit] as number));
}

/** Formats milliseconds with the largest unit that divides them, for messages and listings. */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = UNITS[unit] as number;
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
