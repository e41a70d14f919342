/**
 * The bundle `npm run build` makes of the `oidc-issuer` executable and the library entry
 * (dist/bundle/main.js, dist/bundle/index.js), from src/ directly; tsc still writes dist/src for
 * the types, the tests and the bench. Node 20 has no compile cache: there a start spent most of its
 * time opening and compiling ~700 module files, and the bundle loads ~300 fewer.
 *
 * Bundled: our own modules and the dependencies only we load that are plain JavaScript with no
 * files of their own to read at run time. zod is the big one (99 files, most of them locales the
 * bundle drops). The rest stay in node_modules: what oidc-provider loads too (jose, koa and koa's
 * dependencies; bundling them would load them twice), and what loads files or workers relative
 * to itself (pino's transports, ioredis, prom-client, @peculiar/x509). Bundling pino measured no
 * faster.
 */
const BUNDLED = new Set([
  'zod',
  'commander',
  '@koa/router',
  'path-to-regexp',
  'lru-cache',
  'eta',
  'ms',
]);

/** `zod/v4/core` → `zod`, `@koa/router` → `@koa/router`. */
const packageOf = (id) =>
  id
    .split('/')
    .slice(0, id.startsWith('@') ? 2 : 1)
    .join('/');

export default {
  input: { main: 'src/main.ts', index: 'src/index.ts' },
  platform: 'node',
  // A bare specifier (`node:fs`, `koa`, `@peculiar/x509`) is a package; relative ones are ours.
  external: (id) => /^(node:|[a-z@])/.test(id) && !BUNDLED.has(packageOf(id)),
  transform: { target: 'node20.19' },
  output: {
    dir: 'dist/bundle',
    format: 'esm',
    // Stack traces keep the bundle's own names and lines; `node --enable-source-maps` maps them to src/*.ts.
    sourcemap: true,
    cleanDir: true,
  },
};
