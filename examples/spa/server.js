// Serves the single-page app: static files, the oidc-client-ts browser bundle from node_modules
// (no bundler), and /config.json built from the environment.
//
//   ISSUER=http://localhost:3000 node examples/spa/server.js         → open http://localhost:5173
//
// Environment:
//   ISSUER        the issuer URL (default http://localhost:3000)
//   PORT, HOST    where to listen (default 5173, 127.0.0.1)
//   BASE_URL      this app's origin as the browser sees it (default http://localhost:$PORT);
//                 the redirect URI is $BASE_URL/callback, the post-logout URI $BASE_URL/
//   CLIENT_ID     default demo-spa (a public client: PKCE, no secret)
//   API_URL       the example API's base URL (default http://localhost:4000)
//   RESOURCE      a resource indicator to send (default none: the issuer picks the client's
//                 default resource, the API, as for any RP library that sends none)
//   SCOPE         default "openid profile email api:read"
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ISSUER = (process.env.ISSUER || 'http://localhost:3000').replace(/\/$/, '');
const PORT = Number(process.env.PORT || 5173);
const HOST = process.env.HOST || '127.0.0.1';
const BASE_URL = (process.env.BASE_URL || `http://localhost:${PORT}`).replace(/\/$/, '');
const API_URL = (process.env.API_URL || 'http://localhost:4000').replace(/\/$/, '');

const config = {
  issuer: ISSUER,
  clientId: process.env.CLIENT_ID || 'demo-spa',
  redirectUri: `${BASE_URL}/callback`,
  postLogoutRedirectUri: `${BASE_URL}/`,
  scope: process.env.SCOPE || 'openid profile email api:read',
  resource: process.env.RESOURCE || undefined,
  api: API_URL,
};

const here = dirname(fileURLToPath(import.meta.url));
// The package's "require" entry is dist/umd/…; the browser bundle sits next to it in dist/browser/.
const oidcPackage = join(
  dirname(createRequire(import.meta.url).resolve('oidc-client-ts')),
  '..',
  '..',
);
const files = {
  '/': [join(here, 'public', 'index.html'), 'text/html; charset=utf-8'],
  '/callback': [join(here, 'public', 'index.html'), 'text/html; charset=utf-8'],
  '/app.js': [join(here, 'public', 'app.js'), 'text/javascript; charset=utf-8'],
  '/style.css': [join(here, 'public', 'style.css'), 'text/css; charset=utf-8'],
  '/oidc-client-ts.min.js': [
    join(oidcPackage, 'dist', 'browser', 'oidc-client-ts.min.js'),
    'text/javascript; charset=utf-8',
  ],
};

const origin = (url) => new URL(url).origin;
const csp = [
  "default-src 'self'",
  `connect-src 'self' ${origin(ISSUER)} ${origin(API_URL)}`,
  "img-src 'self' data:",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

const server = createServer(async (req, res) => {
  const path = new URL(req.url, BASE_URL).pathname;
  if (path === '/healthz') return void res.writeHead(200).end('ok');
  if (path === '/config.json') {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
    return void res.end(JSON.stringify(config));
  }
  const file = files[path];
  if (!file || req.method !== 'GET') return void res.writeHead(404).end('not found');
  try {
    const body = await readFile(file[0]);
    res.writeHead(200, {
      'Content-Type': file[1],
      'Content-Security-Policy': csp,
      'Cache-Control': 'no-cache',
    });
    res.end(body);
  } catch (err) {
    res.writeHead(500).end(String(err.message));
  }
});

server.listen(PORT, HOST, () => {
  console.log(
    `example SPA on ${BASE_URL} (listening on ${HOST}:${server.address().port}, issuer ${ISSUER}, API ${API_URL})`,
  );
});
for (const signal of ['SIGINT', 'SIGTERM'])
  process.once(signal, () => server.close(() => process.exit(0)));
