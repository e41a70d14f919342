import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { CASES } from '../../src/probe/cases.js';
import { parseStatusSet } from '../../src/probe/options.js';

describe('probe cases', () => {
  const doc = readFileSync(join(PACKAGE_ROOT, 'docs', 'probe.md'), 'utf8');

  it('have unique ids, a consequence, and a section in docs/probe.md each', () => {
    expect(new Set(CASES.map((c) => c.id)).size).toBe(CASES.length);
    for (const c of CASES) {
      expect(c.consequence, c.id).toMatch(/\.$/);
      expect(doc, c.id).toContain(`### \`${c.id}\``);
      // Only the rotation drill is driven by the runner instead of a token builder.
      expect(c.token === undefined, c.id).toBe(c.needs === 'rotate');
    }
  });

  it('name a fix for jsonwebtoken wherever they name one at all', () => {
    for (const c of CASES.filter((x) => Object.keys(x.fix).length > 0)) {
      expect(c.fix.jsonwebtoken, c.id).toMatch(/\S/);
    }
  });
});

describe('parseStatusSet', () => {
  it('reads classes, ranges and lists', () => {
    const set = parseStatusSet('2xx, 304, 400-403');
    expect([200, 299, 304, 400, 403].every((s) => set.has(s))).toBe(true);
    expect([199, 300, 404, 500].some((s) => set.has(s))).toBe(false);
  });

  it('names the part it cannot read', () => {
    expect(() => parseStatusSet('401,forbidden')).toThrow('"forbidden" is not an HTTP status');
  });
});
