import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * What `oidc-issuer start` loads before it serves: the static imports reachable from the start
 * command and the composition root. The tools of the other commands, the console's and the
 * probe page's server code and the token minting are imported where they are used, so a start
 * does not pay for loading them; this keeps a new static import from pulling them back in.
 */
const SRC = resolve(import.meta.dirname, '../../src');

function staticClosure(entries: string[]): Set<string> {
  const seen = new Set<string>();
  const todo = entries.map((e) => resolve(SRC, e));
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    // `import … from './x.js'` and `export … from './x.js'`, not `import type` (erased).
    for (const m of text.matchAll(
      /^(?:import|export)\s+(?!type\s)[^;]*?from '(\.{1,2}\/[^']+)'/gms,
    )) {
      todo.push(resolve(dirname(file), (m[1] as string).replace(/\.js$/, '.ts')));
    }
  }
  return new Set([...seen].map((f) => relative(SRC, f)));
}

describe('the start path', () => {
  const loaded = staticClosure(['cli/main.ts', 'cli/start.ts', 'issuer.ts']);

  it('reaches the modules a start runs', () => {
    for (const file of ['issuer-unit.ts', 'http/app.ts', 'http/console.ts', 'http/mint.ts'])
      expect(loaded).toContain(file);
  });

  it('loads no other command, tool, probe or minting code up front', () => {
    const lazy = [
      'cli/config.ts',
      'cli/jwk.ts',
      'cli/keys.ts',
      'cli/probe.ts',
      'cli/token.ts',
      'probe/run.ts',
      'probe/issuer-local.ts',
      'probe/report.ts',
      'tools/verify.ts',
      'tools/decode.ts',
      'tools/mint.ts',
      'tools/jwk-convert.ts',
      'tools/jwk-inspect.ts',
      'tools/key-source.ts',
      'tools/guarded-fetch.ts',
      'http/metrics-exposition.ts',
    ];
    expect(lazy.filter((file) => loaded.has(file))).toEqual([]);
  });

  it('loads prom-client only where /metrics is first read', () => {
    const importers = [...loaded].filter((file) =>
      /^import\s+(?!type\s)[^;]*?from 'prom-client'/m.test(
        readFileSync(resolve(SRC, file), 'utf8'),
      ),
    );
    expect(importers).toEqual([]);
    expect(readFileSync(resolve(SRC, 'http/metrics.ts'), 'utf8')).toContain(
      "import('./metrics-exposition.js')",
    );
  });
});
