import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LUA_DIR } from '../../src/paths.js';
import { loadScripts } from '../../src/store/scripts.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A copy of lua/ with `edit` applied, for the loader's refusals. */
function copyWith(edit: (dir: string) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'lua-'));
  dirs.push(dir);
  cpSync(LUA_DIR, dir, { recursive: true });
  edit(dir);
  return dir;
}

describe('the Lua script loader', () => {
  it('loads every script with its key count and its includes spliced in', () => {
    const scripts = loadScripts();
    expect(Object.fromEntries(scripts.map((s) => [s.name, s.numberOfKeys]))).toEqual({
      adapterConsume: 1,
      adapterFindByIndex: 1,
      adapterInsertOnce: 1,
      adapterRead: 1,
      adapterRevokeGrant: 1,
      adapterWrite: 1,
      keyRingCompareAndSet: 1,
    });
    const consume = scripts.find((s) => s.name === 'adapterConsume')!.lua;
    expect(consume).not.toContain('@include');
    expect(consume).toContain('local function revokeGrant(');
    // A flags line stays first, where Redis looks for it.
    const write = scripts.find((s) => s.name === 'adapterWrite')!.lua;
    expect(write.startsWith('#!lua\n--[[')).toBe(true);
  });

  it('refuses a header that does not name the keys, a missing include and a missing script', () => {
    const header = copyWith((dir) => {
      const file = join(dir, 'adapterWrite-1.lua');
      writeFileSync(file, readFileSync(file, 'utf8').replace('KEYS[1] the record', 'the record'));
    });
    expect(() => loadScripts(header)).toThrow(
      /adapterWrite-1\.lua: its header must name KEYS\[1\]/,
    );
    const include = copyWith((dir) => rmSync(join(dir, 'includes', 'adapterHelpers.lua')));
    expect(() => loadScripts(include)).toThrow(/adapterHelpers\.lua/);
    const missing = copyWith((dir) => rmSync(join(dir, 'keyRingCompareAndSet-1.lua')));
    expect(() => loadScripts(missing)).toThrow(/lacks the scripts keyRingCompareAndSet/);
    const stray = copyWith((dir) => writeFileSync(join(dir, 'stray.lua'), 'return 1'));
    expect(() => loadScripts(stray)).toThrow(/stray\.lua: not a script of this version/);
  });
});
