/**
 * The bundle `npm run build` makes of the `oidc-issuer` executable and the library entry
 * (dist/bundle/main.js, dist/bundle/index.js), from src/ directly; tsc still writes dist/src for
 * the types, the tests and the bench. Node 20 has no compile cache: there a start spent most of its
 * time opening and compiling ~600 module files (oidc-provider's own 184, zod's 99, ours 107), and
 * the bundle loads ~66.
 *
 * Everything is bundled, oidc-provider, koa and jose included (none of them reads a file or
 * imports a module by a computed name), except what stays in node_modules below.
 */
const EXTERNAL = new Set([
  // Its transports run files of their own in worker threads; bundling it measured no faster.
  'pino',
  // Loaded only when used, with a computed require or import() (lazy-module.ts, metrics, local CA).
  'ioredis',
  'yaml',
  'fastest-levenshtein',
  'prom-client',
  '@peculiar/x509',
  'reflect-metadata',
  // Builds functions with eval, which a bundle warns about (koa and http-errors use it).
  'depd',
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
  // A bare specifier (`koa`, `@peculiar/x509`) names a package; Node's own modules stay imports.
  external: (id) => id.startsWith('node:') || EXTERNAL.has(packageOf(id)),
  transform: { target: 'node20.19' },
  output: {
    dir: 'dist/bundle',
    format: 'esm',
    // Stack traces keep the bundle's own names and lines; `node --enable-source-maps` maps them to src/*.ts.
    sourcemap: true,
    cleanDir: true,
  },
};
