// A relying-party web app (server-side, confidential client) that signs users in through the
// issuer's discovery document with openid-client: authorization code + PKCE, ID token claims,
// userinfo, and RP-initiated logout.
//
//   ISSUER=http://localhost:3000 node examples/rp-web/server.js      → open http://localhost:3001
//
// Environment:
//   ISSUER         the issuer URL (default http://localhost:3000)
//   PORT, HOST     where to listen (default 3001, 127.0.0.1)
//   BASE_URL       this app's URL as the browser sees it (default http://localhost:$PORT);
//                  the redirect URI is $BASE_URL/callback, the post-logout URI $BASE_URL/
//   CLIENT_ID, CLIENT_SECRET   default demo-web / demo-web-secret (the demo config's client)
//   SCOPE          default "openid profile email groups"
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import * as oidc from 'openid-client';

const ISSUER = process.env.ISSUER || 'http://localhost:3000';
const PORT = Number(process.env.PORT || 3001);
const HOST = process.env.HOST || '127.0.0.1';
const BASE_URL = (process.env.BASE_URL || `http://localhost:${PORT}`).replace(/\/$/, '');
const CLIENT_ID = process.env.CLIENT_ID || 'demo-web';
const CLIENT_SECRET = process.env.CLIENT_SECRET || 'demo-web-secret';
const SCOPE = process.env.SCOPE || 'openid profile email groups';
const REDIRECT_URI = `${BASE_URL}/callback`;
// Cookies ignore ports, so a name the issuer (same host, other port) does not use.
const COOKIE = 'rp_web_session';

/** Server-side sessions: cookie value → { pending?, tokens?, claims?, userinfo? }. */
const sessions = new Map();

let configuration;
/** Discovery runs on first use (and again after a failure), so the app may start before the issuer. */
async function client() {
  configuration ??= await oidc.discovery(
    new URL(ISSUER),
    CLIENT_ID,
    CLIENT_SECRET,
    oidc.ClientSecretBasic(CLIENT_SECRET),
    ISSUER.startsWith('http:') ? { execute: [oidc.allowInsecureRequests] } : {},
  );
  return configuration;
}

function sessionOf(req, res) {
  const id = /(?:^|;\s*)rp_web_session=([A-Za-z0-9_-]+)/.exec(req.headers.cookie || '')?.[1];
  if (id && sessions.has(id)) return sessions.get(id);
  const fresh = randomBytes(24).toString('base64url');
  const session = {};
  sessions.set(fresh, session);
  res.setHeader('Set-Cookie', `${COOKIE}=${fresh}; Path=/; HttpOnly; SameSite=Lax`);
  return session;
}

const escapeHtml = (value) =>
  String(value).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c],
  );
const json = (value) => `<pre>${escapeHtml(JSON.stringify(value, null, 2))}</pre>`;

function page(res, status, title, body) {
  res.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    'Cache-Control': 'no-store',
    'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'",
  });
  res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:760px;margin:40px auto;padding:0 16px}
pre{background:#f4f4f6;padding:12px;border-radius:6px;overflow:auto}a.button{display:inline-block;
padding:8px 14px;border-radius:6px;background:#0b5fff;color:#fff;text-decoration:none}</style>
</head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`);
}

function redirect(res, location) {
  res.writeHead(303, { Location: location, 'Cache-Control': 'no-store' });
  res.end();
}

async function home(res, session) {
  if (!session.claims) {
    return page(
      res,
      200,
      'Example web app',
      `<p id="status">Signed out.</p><p><a class="button" id="login" href="/login">Sign in with ${escapeHtml(ISSUER)}</a></p>`,
    );
  }
  page(
    res,
    200,
    'Example web app',
    `<p id="status">Signed in as <strong id="sub">${escapeHtml(session.claims.sub)}</strong>.</p>
<h2>ID token claims</h2><div id="claims">${json(session.claims)}</div>
<h2>Userinfo</h2><div id="userinfo">${json(session.userinfo)}</div>
<p><a class="button" id="logout" href="/logout">Sign out</a></p>`,
  );
}

async function login(res, session) {
  const config = await client();
  const verifier = oidc.randomPKCECodeVerifier();
  const pending = { verifier, state: oidc.randomState(), nonce: oidc.randomNonce() };
  session.pending = pending;
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope: SCOPE,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state: pending.state,
    nonce: pending.nonce,
  });
  redirect(res, url.href);
}

async function callback(req, res, session) {
  const pending = session.pending;
  if (!pending) return page(res, 400, 'Sign-in failed', '<p>No sign-in is in progress.</p>');
  session.pending = undefined;
  const config = await client();
  const tokens = await oidc.authorizationCodeGrant(config, new URL(req.url, BASE_URL), {
    pkceCodeVerifier: pending.verifier,
    expectedState: pending.state,
    expectedNonce: pending.nonce,
    idTokenExpected: true,
  });
  const claims = tokens.claims();
  session.tokens = tokens;
  session.claims = claims;
  session.userinfo = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
  redirect(res, '/');
}

async function logout(res, session) {
  const idToken = session.tokens?.id_token;
  for (const key of Object.keys(session)) delete session[key];
  if (!idToken) return redirect(res, '/');
  const url = oidc.buildEndSessionUrl(await client(), {
    id_token_hint: idToken,
    post_logout_redirect_uri: `${BASE_URL}/`,
  });
  redirect(res, url.href);
}

const server = createServer(async (req, res) => {
  const path = new URL(req.url, BASE_URL).pathname;
  try {
    if (path === '/healthz') return void res.writeHead(200).end('ok');
    const session = sessionOf(req, res);
    if (req.method !== 'GET') return page(res, 405, 'Not allowed', '');
    if (path === '/') return await home(res, session);
    if (path === '/login') return await login(res, session);
    if (path === '/callback') return await callback(req, res, session);
    if (path === '/logout') return await logout(res, session);
    page(res, 404, 'Not found', '');
  } catch (err) {
    if (
      !(err instanceof oidc.ResponseBodyError || err instanceof oidc.AuthorizationResponseError)
    ) {
      configuration = undefined;
    }
    console.error('rp-web:', err);
    page(
      res,
      502,
      'Sign-in failed',
      `<p id="error">${escapeHtml(err.code ?? '')} ${escapeHtml(err.message)}</p>`,
    );
  }
});

server.listen(PORT, HOST, () => {
  console.log(
    `example web app on ${BASE_URL} (listening on ${HOST}:${server.address().port}, issuer ${ISSUER})`,
  );
});
for (const signal of ['SIGINT', 'SIGTERM'])
  process.once(signal, () => server.close(() => process.exit(0)));
