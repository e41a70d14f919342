/** Durations and instants as token tools read and print them. */

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A duration that may be negative, in milliseconds: a number of seconds (`300`, `-60`) or a
 * string with one unit (`"5m"`, `"-1h"`, `"90s"`, `"250ms"`). A negative lifetime mints a token
 * that is already expired, which is what a test of the "expired" path needs. `undefined` when
 * the value is not a duration.
 */
export function parseSignedDuration(value: number | string): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value * 1000 : undefined;
  const match = /^\s*([+-]?)\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(value);
  if (!match) return undefined;
  const ms = Math.round(Number(match[2]) * (UNITS[match[3] ?? 's'] as number));
  return match[1] === '-' ? -ms : ms;
}

/** `3725000` → `"1h 2m 5s"`; the sign is dropped (callers say "ago" or "in"). */
export function describeSpan(ms: number): string {
  let rest = Math.round(Math.abs(ms) / 1000);
  if (rest === 0) return `${Math.abs(ms)}ms`;
  const parts: string[] = [];
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join(' ');
}

/** `"in 5m"` or `"5m ago"` for an instant relative to `now` (both epoch ms). */
export function relative(at: number, now: number): string {
  if (at === now) return 'now';
  return at > now ? `in ${describeSpan(at - now)}` : `${describeSpan(now - at)} ago`;
}

/** The registered claims that hold NumericDate values (seconds since the epoch). */
export const TIME_CLAIMS = ['iat', 'nbf', 'exp', 'auth_time', 'updated_at'] as const;
