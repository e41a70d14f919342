// The debugger's OAuth client side: discovery, PKCE, and what the tab remembers between the
// authorization request and the callback (sessionStorage: this tab only, gone when it closes).

const PENDING = 'oidc-debugger:pending';
const SESSION = 'oidc-debugger:session';

/** 32 random bytes, base64url: for state, nonce and the PKCE verifier. */
export function randomToken() {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

/** Standard base64 (with padding) of `bytes` (an ArrayBuffer or a typed array). */
export function base64(bytes) {
  let text = '';
  for (const b of new Uint8Array(bytes)) text += String.fromCharCode(b);
  return btoa(text);
}

export function base64url(bytes) {
  return base64(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The S256 code challenge of `verifier` (RFC 7636). */
export async function challengeOf(verifier) {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url(digest);
}

let discovery;
/** The issuer's discovery document (fetched once per page). */
export async function discover(issuer) {
  if (!discovery) {
    const res = await fetch(`${issuer}/.well-known/openid-configuration`);
    if (!res.ok) throw new Error(`discovery answered HTTP ${res.status}`);
    discovery = await res.json();
  }
  return discovery;
}

export function savePending(pending) {
  sessionStorage.setItem(PENDING, JSON.stringify(pending));
}

/** The pending request whose state is `state`, removed so a replayed callback fails. */
export function takePending(state) {
  const raw = sessionStorage.getItem(PENDING);
  if (!raw) return undefined;
  const pending = JSON.parse(raw);
  if (pending.state !== state) return undefined;
  sessionStorage.removeItem(PENDING);
  return pending;
}

export function saveSession(session) {
  sessionStorage.setItem(SESSION, JSON.stringify(session));
}

export function loadSession() {
  const raw = sessionStorage.getItem(SESSION);
  return raw ? JSON.parse(raw) : undefined;
}

export function clearSession() {
  sessionStorage.removeItem(SESSION);
}

/**
 * POSTs a form to an OAuth endpoint as `client` (public: client_id in the body; confidential:
 * HTTP Basic). Resolves to `{ ok, status, data }` with the JSON answer.
 */
export async function postForm(url, fields, client) {
  const body = new URLSearchParams(fields);
  const headers = {
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
  };
  if (client.secret) {
    const enc = (s) => encodeURIComponent(s);
    headers.authorization = `Basic ${btoa(`${enc(client.id)}:${enc(client.secret)}`)}`;
  } else {
    body.set('client_id', client.id);
  }
  const res = await fetch(url, { method: 'POST', headers, body });
  const text = await res.text();
  let data;
  try {
    data = text ? JSON.parse(text) : {};
  } catch {
    data = { raw: text };
  }
  return { ok: res.ok, status: res.status, data };
}
