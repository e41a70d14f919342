// An API (resource server) that accepts the issuer's RFC 9068 access tokens: it verifies each
// bearer token against the issuer's JWKS, the way an API gateway or a microservice does.
//
//   ISSUER=http://localhost:3000 node examples/api/server.js
//
// Environment:
//   ISSUER          the issuer URL; tokens must carry exactly this `iss` (default http://localhost:3000)
//   PORT, HOST      where to listen (default 4000, 127.0.0.1)
//   AUDIENCE        this API's audience (default http://localhost:4000/api)
//   CORS_ORIGINS    comma-separated browser origins allowed to call it (default http://localhost:5173)
import { createServer } from 'node:http';
import { createRemoteJWKSet, errors, jwtVerify } from 'jose';

const ISSUER = process.env.ISSUER || 'http://localhost:3000';
const PORT = Number(process.env.PORT || 4000);
const HOST = process.env.HOST || '127.0.0.1';
const AUDIENCE = process.env.AUDIENCE || 'http://localhost:4000/api';
const CORS_ORIGINS = (process.env.CORS_ORIGINS || 'http://localhost:5173')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);

/** Routes: method + path → the scope the token must hold, and what to answer. */
const routes = {
  'GET /api/whoami': {
    scope: 'api:read',
    handle: (claims) => ({
      sub: claims.sub,
      client_id: claims.client_id,
      scope: claims.scope,
      exp: claims.exp,
    }),
  },
  'POST /api/items': {
    scope: 'api:write',
    handle: (claims) => ({ created: true, by: claims.sub }),
  },
};

let jwks;
/** The JWKS, found through discovery once (jose caches keys and refetches on an unknown kid). */
async function keySet() {
  if (jwks) return jwks;
  const res = await fetch(new URL('.well-known/openid-configuration', `${ISSUER}/`));
  if (!res.ok) throw new Error(`discovery answered ${res.status}`);
  const meta = await res.json();
  if (meta.issuer !== ISSUER) {
    throw new Error(`discovery names issuer ${meta.issuer}, expected ${ISSUER}`);
  }
  jwks = createRemoteJWKSet(new URL(meta.jwks_uri), { cooldownDuration: 5_000 });
  return jwks;
}

/** Verifies a bearer token as an RFC 9068 access token for this API. */
async function verify(token) {
  const { payload } = await jwtVerify(token, await keySet(), {
    issuer: ISSUER,
    audience: AUDIENCE,
    typ: 'at+jwt',
    algorithms: ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA', 'Ed25519'],
    requiredClaims: ['exp', 'iat', 'sub', 'client_id'],
    // Also refuses an `iat` in the future, which jose checks only with a maximum age.
    maxTokenAge: '1d',
  });
  return payload;
}

function send(res, status, body, headers = {}) {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function cors(req, res) {
  const origin = req.headers.origin;
  if (origin && CORS_ORIGINS.includes(origin)) {
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type');
    res.setHeader('Access-Control-Allow-Methods', 'GET, POST');
    res.setHeader('Access-Control-Expose-Headers', 'WWW-Authenticate');
    res.setHeader('Access-Control-Max-Age', '600');
  }
  res.setHeader('Vary', 'Origin');
}

const server = createServer(async (req, res) => {
  cors(req, res);
  const path = new URL(req.url, 'http://api').pathname;
  if (req.method === 'OPTIONS') return void res.writeHead(204).end();
  if (path === '/healthz') return send(res, 200, { status: 'ok' });
  const route = routes[`${req.method} ${path}`];
  if (!route) return send(res, 404, { error: 'not_found' });

  const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(req.headers.authorization || '');
  if (!match) {
    return send(
      res,
      401,
      { error: 'invalid_token', error_description: 'no bearer token' },
      {
        'WWW-Authenticate': 'Bearer',
      },
    );
  }
  let claims;
  try {
    claims = await verify(match[1]);
  } catch (err) {
    if (!(err instanceof errors.JOSEError)) {
      console.error('api: cannot verify tokens:', err.message);
      return send(res, 503, { error: 'temporarily_unavailable' });
    }
    const description = `${err.code}: ${err.message}`;
    return send(
      res,
      401,
      { error: 'invalid_token', error_description: description },
      {
        'WWW-Authenticate': `Bearer error="invalid_token", error_description="${err.code}"`,
      },
    );
  }
  const granted = String(claims.scope || '').split(' ');
  if (!granted.includes(route.scope)) {
    return send(
      res,
      403,
      { error: 'insufficient_scope', scope: route.scope },
      {
        'WWW-Authenticate': `Bearer error="insufficient_scope", scope="${route.scope}"`,
      },
    );
  }
  send(res, 200, route.handle(claims));
});

server.listen(PORT, HOST, () => {
  console.log(
    `example API on http://${HOST}:${server.address().port} (audience ${AUDIENCE}, issuer ${ISSUER})`,
  );
});
for (const signal of ['SIGINT', 'SIGTERM'])
  process.once(signal, () => server.close(() => process.exit(0)));
