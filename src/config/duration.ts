import ms from 'ms';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Options of {@link parseDuration}. */
export interface DurationOptions {
  /** Accept `-10m` and `-60` (a token already expired, for tests of that path). Default false. */
  signed?: boolean;
}

/**
 * Parses a duration, for config and CLI alike: a number of seconds (`900`, also as the string
 * `"900"`), or text the `ms` package reads (`"15s"`, `"10m"`, `"1.5h"`, `"30d"`, `"250ms"`,
 * `"2 weeks"`), optionally signed when `signed`. Returns whole milliseconds, or `undefined`
 * when the value is not a duration (each caller words its own error).
 */
export function parseDuration(
  value: number | string,
  { signed = false }: DurationOptions = {},
): number | undefined {
  let millis: number | undefined;
  if (typeof value === 'number') millis = value * 1000;
  else {
    const text = value.trim().replace(/^([+-])\s*/, (_, sign: string) => (sign === '-' ? '-' : ''));
    // A bare number means seconds here, where `ms` would read milliseconds.
    millis = /^-?\d+(\.\d+)?$/.test(text)
      ? Number(text) * 1000
      : text
        ? ms(text as ms.StringValue)
        : undefined;
    if (millis !== undefined) millis = Math.round(millis);
  }
  if (millis === undefined || !Number.isFinite(millis)) return undefined;
  return signed || millis >= 0 ? millis : undefined;
}

/** Formats milliseconds with the largest unit that divides them, for messages and listings. */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = UNITS[unit] as number;
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
