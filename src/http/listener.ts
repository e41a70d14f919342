/**
 * The process's HTTP listener. It listens before anything else is ready, so probes and clients
 * get an answer at once: 503 `temporarily_unavailable` (Retry-After 1) until `serve` hands it
 * the handler of the issuers.
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { writeUnavailable } from './errors.js';
import type { ListenerTls } from './tls.js';

/** A listening server whose requests wait behind a gate until `serve` is called. */
export interface GatedListener {
  readonly server: Server;
  /**
   * The port listened on (the free one chosen when the configured port is 0; with
   * `listenWhenServing`, the configured one until `serve`).
   */
  readonly port: number;
  /** Opens the gate: every request from now on goes to `handler` (listening first if deferred). */
  serve(handler: RequestListener): Promise<void>;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

/**
 * Listens on `host:port` (HTTPS with `tls`), answering 503 until {@link GatedListener.serve} is
 * called. With `listenWhenServing` it listens only in `serve`: a worker of `start --workers`
 * shares the port with siblings that already serve, and must not take requests just to 503 them.
 */
export async function listenGated(
  port: number,
  host: string,
  tls?: ListenerTls,
  listenWhenServing = false,
): Promise<GatedListener> {
  let handler: RequestListener | undefined;
  const server = createHttpServer(tls, (req, res) => {
    if (handler) return void handler(req, res);
    writeUnavailable(res, 'the issuer is starting');
  });
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
  if (!listenWhenServing) await listen();
  return {
    server,
    get port() {
      return (server.address() as AddressInfo | null)?.port ?? port;
    },
    async serve(next) {
      handler = next;
      if (listenWhenServing) await listen();
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The one place the server is made, with bounds on slow or oversized requests. */
function createHttpServer(tls: ListenerTls | undefined, listener: RequestListener): Server {
  const limits = { requestTimeout: 30_000, headersTimeout: 15_000, maxHeaderSize: 16 * 1024 };
  const server = tls
    ? createHttpsServer({ ...limits, cert: tls.cert, key: tls.key }, listener)
    : createServer(limits, listener);
  server.keepAliveTimeout = 5_000;
  return server;
}
