import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package root (the folder holding package.json, views/ and lua/), found from this module's own
 * location so it is the same whether the code runs from src/ (tests), dist/src/ (the bench's
 * in-process servers) or dist/bundle/ (npm start, the package).
 */
export const PACKAGE_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));
export const VIEWS_DIR = join(PACKAGE_ROOT, 'views');
/** The Redis Lua scripts (see store/scripts.ts). */
export const LUA_DIR = join(PACKAGE_ROOT, 'lua');

function findRoot(start: string): string {
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'views'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the oidc-issuer package root above ${start}`);
    dir = parent;
  }
}
