/** Clients whose ID-token algorithm is still waiting to be published: refused with the reason. */
import type { AdapterFactory } from 'oidc-provider';
import { SigningAlgWaitingError } from '../errors.js';
import type { WaitingAlg } from '../keystore/waiting.js';

function bound(target: object, prop: string | symbol): unknown {
  const value: unknown = Reflect.get(target, prop);
  return typeof value === 'function' ? value.bind(target) : value;
}

/** `adapter` whose Client model answers the blocked client ids with why they cannot sign in. */
export function withBlockedClients(
  adapter: AdapterFactory,
  blocked: ReadonlyMap<string, WaitingAlg>,
): AdapterFactory {
  return (name) => {
    const inner = adapter(name);
    if (name !== 'Client') return inner;
    const find = inner.find.bind(inner);
    return new Proxy(inner, {
      get: (target, prop) =>
        prop === 'find'
          ? async (id: string) => {
              const w = blocked.get(id);
              if (w) {
                throw new SigningAlgWaitingError(
                  `client ${id} signs its ID tokens with ${w.alg}. ${w.message}`,
                );
              }
              return find(id);
            }
          : bound(target, prop),
    });
  };
}
