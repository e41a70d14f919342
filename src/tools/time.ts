/** Durations and instants as token tools print them (config/duration.ts parses them). */

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
