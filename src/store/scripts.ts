import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Cluster, Redis } from 'ioredis';
import { LUA_DIR } from '../paths.js';

/**
 * The Lua scripts in the package's `lua/` folder as ioredis custom commands (EVALSHA, falling
 * back to EVAL after a Redis restart). A script file is named `<command>-<number of keys>.lua`
 * and opens with a `--[[ … ]]` header naming each KEYS[i] and ARGV[i] (after a `#!lua` flags
 * line, when it has one: Redis 7 then refuses a writing script as a whole when out of memory,
 * and runs a `no-writes` one anyway); a line
 * `--- @include "<name>"` is replaced by `lua/includes/<name>.lua`. KEYS[1] is the key the
 * operation is about; keys derived from stored data (old indexes, grant members) are built
 * from prefixes passed in ARGV (`KeyNames.scriptPrefixes`) and share KEYS[1]'s hash tag, so
 * every script runs on one Cluster slot.
 */
export interface ScriptCommands {
  adapterWrite(firstRecord: string, ...argv: string[]): Promise<number>;
  adapterRead(firstKey: string, ...argv: string[]): Promise<(string | null)[]>;
  adapterInsertOnce(record: string, ...argv: string[]): Promise<number>;
  adapterConsume(record: string, ...argv: string[]): Promise<'ok' | 'missing' | 'replayed'>;
  adapterRevokeGrant(grant: string, ...argv: string[]): Promise<number>;
  adapterFindByIndex(index: string, ...argv: string[]): Promise<string | null>;
  keyRingCompareAndSet(ring: string, ...argv: string[]): Promise<number>;
}

type ScriptName = keyof ScriptCommands;

const NAMES: ReadonlySet<string> = new Set<ScriptName>([
  'adapterWrite',
  'adapterRead',
  'adapterInsertOnce',
  'adapterConsume',
  'adapterRevokeGrant',
  'adapterFindByIndex',
  'keyRingCompareAndSet',
]);

/** A script as given to `defineCommand`. */
export interface LuaScript {
  name: ScriptName;
  numberOfKeys: number;
  lua: string;
}

const FILE = /^([a-z][A-Za-z]*)-(\d+)\.lua$/;
const INCLUDE = /^---[ \t]*@include[ \t]+"([A-Za-z]+)"[ \t]*$/gm;

let loaded: readonly LuaScript[] | undefined;

/**
 * Reads every script of `dir` once per process. Throws when a file is misnamed, its header
 * does not name exactly KEYS[1..n], an include is missing, or the folder and
 * {@link ScriptCommands} disagree: a package that would fail at its first Redis call.
 */
export function loadScripts(dir = LUA_DIR): readonly LuaScript[] {
  if (dir === LUA_DIR && loaded) return loaded;
  const scripts: LuaScript[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.lua'))) {
    const [, name, keys] = FILE.exec(file) ?? [];
    if (!(name && keys && NAMES.has(name))) {
      throw new Error(`${join(dir, file)}: not a script of this version (<command>-<keys>.lua)`);
    }
    const source = readFileSync(join(dir, file), 'utf8');
    const numberOfKeys = Number(keys);
    const header = /^(?:#!lua[^\n]*\n)?--\[\[([\s\S]*?)\]\]/.exec(source)?.[1] ?? '';
    const named = new Set(header.match(/KEYS\[\d+\]/g));
    if (named.size !== numberOfKeys || !named.has(`KEYS[${numberOfKeys}]`)) {
      throw new Error(`${join(dir, file)}: its header must name KEYS[1] to KEYS[${numberOfKeys}]`);
    }
    const lua = source.replace(INCLUDE, (_line, include: string) =>
      readFileSync(join(dir, 'includes', `${include}.lua`), 'utf8'),
    );
    scripts.push({ name: name as ScriptName, numberOfKeys, lua });
  }
  const missing = [...NAMES].filter((n) => !scripts.some((s) => s.name === n));
  if (missing.length > 0) throw new Error(`${dir} lacks the scripts ${missing.join(', ')}`);
  if (dir === LUA_DIR) loaded = scripts;
  return scripts;
}

const defined = new WeakSet<Redis | Cluster>();

/** `client` with every script defined on it (once per client, however many stores share it). */
export function withScripts(client: Redis | Cluster): ScriptCommands {
  if (!defined.has(client)) {
    for (const { name, numberOfKeys, lua } of loadScripts()) {
      client.defineCommand(name, { numberOfKeys, lua });
    }
    defined.add(client);
  }
  return client as unknown as ScriptCommands;
}
