import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { assertWorkersCanShare, workerCount } from '../../src/cli/workers.js';
import { validateConfig } from '../../src/config/load.js';

describe('workerCount: --workers, else WORKERS, else 1', () => {
  it('reads a whole number or auto (the cores Node reports)', () => {
    expect(workerCount(undefined, {})).toEqual({ count: 1, source: undefined });
    expect(workerCount('3', {})).toEqual({ count: 3, source: '--workers' });
    expect(workerCount(undefined, { WORKERS: ' 2 ' })).toEqual({ count: 2, source: 'WORKERS' });
    expect(workerCount('auto', {}).count).toBe(availableParallelism());
  });

  it('the flag wins over the variable; an empty variable counts as unset', () => {
    expect(workerCount('1', { WORKERS: '4' })).toEqual({ count: 1, source: '--workers' });
    expect(workerCount(undefined, { WORKERS: '' })).toEqual({ count: 1, source: undefined });
  });

  it('refuses anything else, naming where it came from', () => {
    for (const bad of ['0', '-1', '1.5', 'two', 'Auto']) {
      expect(() => workerCount(bad, {})).toThrow(/^--workers: must be a whole number/);
    }
    expect(() => workerCount(undefined, { WORKERS: 'many' })).toThrow(/^WORKERS: .*got 'many'/);
  });
});

describe('assertWorkersCanShare', () => {
  const memory = validateConfig({ issuer: 'http://localhost:3000' });
  const redis = validateConfig({
    issuer: 'http://localhost:3000',
    redis: { url: 'redis://127.0.0.1:6390' },
  });

  it('lets one worker run on memory, and any number on Redis', () => {
    expect(() => assertWorkersCanShare(memory, { count: 1 })).not.toThrow();
    expect(() => assertWorkersCanShare(redis, { count: 8, source: '--workers' })).not.toThrow();
  });

  it('refuses more than one on the memory store, saying why', () => {
    expect(() => assertWorkersCanShare(memory, { count: 2, source: 'WORKERS' })).toThrow(
      /^WORKERS 2: more than one worker needs Redis .* inside one process/,
    );
  });
});
