import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JWK } from 'jose';

/**
 * The "attacker" key server for the `jku`/`x5u` cases: a loopback HTTP server that serves the
 * probe's throw-away public keys and records every request, so the report can say when the API
 * under test fetched a URL named in a token header.
 */
export interface KeyHost {
  /** An absolute URL on this server for `path` (unguessable, so stray requests do not count). */
  url(path: string): string;
  /** Sets the keys served as a JWK set at every `…/jwks.json`. */
  serve(keys: JWK[]): void;
  /** Whether anything requested `url` since the host started. */
  fetched(url: string): boolean;
  close(): Promise<void>;
}

export async function startKeyHost(host = '127.0.0.1'): Promise<KeyHost> {
  const prefix = `/${randomBytes(8).toString('hex')}`;
  const hits = new Set<string>();
  let keys: JWK[] = [];
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    hits.add(path);
    if (path.startsWith(prefix) && path.endsWith('/jwks.json')) {
      res.writeHead(200, { 'content-type': 'application/jwk-set+json' });
      res.end(JSON.stringify({ keys }));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  const origin = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    url: (path) => `${origin}${prefix}${path}`,
    serve: (next) => {
      keys = next;
    },
    fetched: (url) => hits.has(new URL(url).pathname),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
