import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/config/duration.js';

describe('parseDuration (config and CLI)', () => {
  it('reads seconds as a number or bare text, and one unit from ms to days', () => {
    const cases: [number | string, number][] = [
      [900, 900_000],
      [0.25, 250],
      ['900', 900_000],
      ['1.5', 1500],
      ['15s', 15_000],
      [' 15 s ', 15_000],
      ['10m', 600_000],
      ['1h', 3_600_000],
      ['1.5h', 5_400_000],
      ['30d', 30 * 86_400_000],
      ['250ms', 250],
      ['2 weeks', 14 * 86_400_000],
    ];
    for (const [text, ms] of cases) expect(parseDuration(text), String(text)).toBe(ms);
  });

  it('reads a sign only when told to', () => {
    const cases: [number | string, number][] = [
      [-60, -60_000],
      ['-60', -60_000],
      ['-10m', -600_000],
      ['- 5m', -300_000],
      ['+5m', 300_000],
    ];
    for (const [text, ms] of cases) {
      expect(parseDuration(text, { signed: true }), String(text)).toBe(ms);
      expect(parseDuration(text), String(text)).toBe(ms < 0 ? undefined : ms);
    }
  });

  it('answers undefined for what is not a duration', () => {
    for (const text of ['soon', '', '  ', '1e3', '10 parsecs', 'm', Number.NaN, Infinity]) {
      expect(parseDuration(text, { signed: true }), String(text)).toBeUndefined();
    }
  });

  it('formats with the largest unit that divides the value', () => {
    expect([86_400_000, 7_200_000, 90_000, 1500].map(formatDuration)).toEqual([
      '1d',
      '2h',
      '90s',
      '1500ms',
    ]);
  });
});
