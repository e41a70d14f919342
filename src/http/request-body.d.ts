// A .d.ts of our own compilation only: tsc does not copy it to dist, so the package's types do
// not change koa's Request for its users (koa-bodyparser, for one, declares `body?: any`, and
// two different declarations of one property do not compile).
import 'koa';

declare module 'koa' {
  interface Request {
    /** Set by `formBody` / `jsonBody` (src/http/body.ts) on the routes that use them. */
    body?: unknown;
  }
}
