import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { reconfigure } from '../../src/config/reload.js';

const base = { users: [{ username: 'alice', password: 'alice' }] };

describe('reconfigure', () => {
  it('applies request settings and keeps, and names, the restart-only ones', () => {
    const running = validateConfig({ ...base, port: 3000, issuer: 'http://localhost:3000' });
    const next = validateConfig({
      ...base,
      users: [...base.users, { username: 'carol', password: 'carol' }],
      port: 4000,
      issuer: 'http://localhost:4000',
      keys: { secret: 'a-new-secret-of-16+', rotationPeriod: '1h', prePublication: '10m' },
    });
    const { config, restartNeeded, changed } = reconfigure(running, next);
    expect(changed).toBe(true);
    expect(restartNeeded).toEqual(['port', 'issuer', 'redis.namespace', 'keys.secret']);
    expect(config.port).toBe(3000);
    expect(config.issuer).toBe('http://localhost:3000');
    expect(config.redis.namespace).toBe(running.redis.namespace);
    expect(config.keys.secret).toBeUndefined();
    expect(config.keys.rotationPeriod).toBe(3_600_000);
    expect(config.users.map((u) => u.username)).toEqual(['alice', 'carol']);
    expect(Object.isFrozen(config.keys)).toBe(true);
  });

  it('reports no change for the same config', () => {
    const running = validateConfig(base);
    expect(reconfigure(running, validateConfig(base))).toMatchObject({
      changed: false,
      restartNeeded: [],
    });
  });
});
