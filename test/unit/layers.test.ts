import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The layers of src/, highest first (docs/architecture.md): a module may import from its own
 * layer, any lower one and the ground floor, never from a higher one.
 */
const LAYERS: readonly (readonly string[])[] = [
  ['main.ts', 'index.ts', 'cli'],
  ['issuer.ts', 'issuer-unit.ts', 'test-issuer.ts'],
  ['http'],
  ['probe'],
  ['tools'],
  ['provider'],
  ['keystore'],
  ['store'],
  ['config'],
];
/** Imported by every layer; imports nothing but itself and config types. */
const GROUND_FLOOR = [
  'algorithms.ts',
  'views.ts',
  'errors.ts',
  'log.ts',
  'paths.ts',
  'lazy-module.ts',
  'json.ts',
  'etag.ts',
  'spelling.ts',
];

const SRC = resolve(import.meta.dirname, '../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** The layer index of a file (0 = highest), -1 for the ground floor. */
function layerOf(file: string): number {
  const top = relative(SRC, file).split('/')[0] ?? '';
  if (GROUND_FLOOR.includes(top)) return -1;
  const index = LAYERS.findIndex((layer) => layer.includes(top));
  if (index < 0) throw new Error(`${relative(SRC, file)} is in no layer; add it to LAYERS`);
  return index;
}

function relativeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  // Static imports and re-exports, and dynamic import() of a relative path.
  const specifiers = [...text.matchAll(/(?:\bfrom |\bimport\()'(\.{1,2}\/[^']+)'/g)].map(
    (m) => m[1] as string,
  );
  return specifiers.map((s) => resolve(dirname(file), s.replace(/\.js$/, '.ts')));
}

describe('layers', () => {
  const files = sourceFiles(SRC);

  it('knows every module of src/', () => {
    expect(files.length).toBeGreaterThan(50);
    for (const file of files) expect(() => layerOf(file)).not.toThrow();
  });

  it('has no import from a lower layer to a higher one', () => {
    const upward: string[] = [];
    for (const file of files) {
      const from = layerOf(file);
      for (const target of relativeImports(file)) {
        const to = layerOf(target);
        const allowed =
          from === -1 ? to === -1 || to === LAYERS.length - 1 : to === -1 || to >= from;
        if (!allowed) upward.push(`${relative(SRC, file)} -> ${relative(SRC, target)}`);
      }
    }
    expect(upward).toEqual([]);
  });
});
