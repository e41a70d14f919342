/**
 * oidc-provider's request context (lib/helpers/als.js): the AsyncLocalStorage whose store is the
 * current request's koa context, as `Provider.ctx` reads it. The package has no `exports` map,
 * so the module can be imported; it ships no types. request-scope.ts keeps units of work in it.
 */
declare module 'oidc-provider/lib/helpers/als.js' {
  import type { AsyncLocalStorage } from 'node:async_hooks';

  const requestContext: AsyncLocalStorage<object>;
  export default requestContext;
}
