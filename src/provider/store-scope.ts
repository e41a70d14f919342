import type { Middleware } from 'koa';
import { SESSION_MODEL } from '../store/adapter-rules.js';
import { inUnitOfWork, keepsUnitsOfWork, type RecordHint } from '../store/request-scope.js';
import { cookieNames } from './cookies.js';

/**
 * Makes each request one unit of work with the store (store/request-scope.ts): its first read
 * also reads the session and interactions its cookies name, a repeated read is served from the
 * request's view, and its writes are stored in one atomic step once the request's handlers are
 * done, before the response is sent. A failed write rejects with the store's error (a
 * `StoreUnavailableError` → 503) and the answer loses the cookies and redirect that would have
 * pointed at what was not written.
 *
 * Mounted twice per issuer: around oidc-provider's endpoints (`provider.use`, inside the store
 * failure page) and around the interaction pages (inside their error page), each request's unit
 * kept with its koa context. While no store keeps units (memory only) it only passes the request
 * on, adding no promise to it.
 */
export function storeUnitOfWork(mountPath: string): Middleware {
  const unitOfWork = unitOfWorkMiddleware(mountPath);
  return (ctx, next) => (keepsUnitsOfWork() ? unitOfWork(ctx, next) : next());
}

function unitOfWorkMiddleware(mountPath: string): Middleware {
  const names = cookieNames(mountPath);
  return (ctx, next) => {
    // The ids are read unverified: a hint only adds a record to the first read; oidc-provider
    // still checks each cookie's signature before it asks for that record.
    const hints = (): RecordHint[] => {
      const found: RecordHint[] = [];
      const add = (model: string, cookie: string) => {
        const id = ctx.cookies.get(cookie, { signed: false });
        if (id) found.push({ model, id });
      };
      add(SESSION_MODEL, names.session);
      add('Interaction', names.interaction);
      add('Interaction', names.resume);
      return found;
    };
    const onFailure = () => {
      if (ctx.headerSent) return;
      ctx.remove('Set-Cookie');
      ctx.remove('Location');
    };
    return inUnitOfWork(hints, next, { request: ctx, onFailure });
  };
}
