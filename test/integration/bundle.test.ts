import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { CLI, type IssuerProcess, spawnIssuer } from '../support/issuer.js';

/**
 * What users run is the bundle `npm run build` makes (rolldown.config.mjs): the package's `bin`,
 * `npm start`, the library entry and the image all name it, and every test that spawns the CLI
 * runs it (test/support's CLI).
 */
const BUNDLE = join(PACKAGE_ROOT, 'dist', 'bundle');
const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as {
  bin: Record<string, string>;
  main: string;
  exports: { '.': { default: string } };
  scripts: Record<string, string>;
};

/** Every module specifier a bundle file imports, statically or with `import()` (as rolldown writes them). */
function specifiers(file: string): string[] {
  const text = readFileSync(join(BUNDLE, file), 'utf8');
  const imports =
    /^(?:import|export)\b[^;]*?\bfrom\s*"([^"]+)"|^import\s*"([^"]+)"|\bimport\("([^"]+)"\)/gm;
  return [...text.matchAll(imports)].map((m) => (m[1] ?? m[2] ?? m[3]) as string);
}

describe('the bundle', () => {
  const running: IssuerProcess[] = [];
  afterAll(async () => {
    await Promise.all(running.map((p) => p.stop()));
  });

  it('is what the bin, npm start and the library entry name, and what the tests spawn', () => {
    expect(pkg.bin['oidc-issuer']).toBe('dist/bundle/main.js');
    expect(pkg.scripts.start).toBe('node dist/bundle/main.js start');
    expect(pkg.main).toBe('dist/bundle/index.js');
    expect(pkg.exports['.'].default).toBe('./dist/bundle/index.js');
    expect(CLI).toBe(join(PACKAGE_ROOT, 'dist', 'bundle', 'main.js'));
  });

  it('holds our modules, oidc-provider, koa, jose and zod: it imports none of them from outside', () => {
    const files = readdirSync(BUNDLE).filter((f) => f.endsWith('.js'));
    expect(files).toEqual(expect.arrayContaining(['main.js', 'index.js']));
    const imported = files.flatMap(specifiers);
    expect(imported.filter((s) => s.startsWith('.') && !/^\.\/[^/]+\.js$/.test(s))).toEqual([]);
    expect(
      imported.filter((s) => /^(oidc-provider|koa|@koa\/router|jose|zod)(\/|$)/.test(s)),
    ).toEqual([]);
    // The executable turns the compile cache on before it loads anything else (src/main.ts).
    expect(specifiers('main.js').filter((s) => !s.startsWith('node:'))).toEqual([
      expect.stringMatching(/^\.\/main-[\w-]+\.js$/),
    ]);
  });

  it('starts and serves discovery, as `npm start` runs it', async () => {
    const issuer = await spawnIssuer({ LOG_LEVEL: 'warn' });
    running.push(issuer);
    const res = await fetch(`${issuer.url}/.well-known/openid-configuration`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { issuer: string }).issuer).toBe(issuer.url);
  }, 30_000);
});
