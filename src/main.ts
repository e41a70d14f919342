#!/usr/bin/env node
/**
 * The `oidc-issuer` executable: turns on Node's compile cache, then runs the command line
 * (cli/main.ts). Nothing else is imported here, so the cache covers every module after it.
 */
import module from 'node:module';

// Node 22.1+ keeps the compiled code of each module it loads in a cache folder and reuses it on
// the next start: NODE_COMPILE_CACHE names the folder, else <os temp dir>/node-compile-cache
// (per machine, per user; entries are checked against the file's content and Node's version).
// NODE_DISABLE_COMPILE_CACHE=1 turns it off. Older Node (20) has no such cache and skips this.
const { enableCompileCache } = module as { enableCompileCache?: (dir?: string) => unknown };
enableCompileCache?.();

await import('./cli/main.js');
