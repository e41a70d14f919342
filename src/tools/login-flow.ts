/**
 * Signs a user in through the issuer's real pages, over HTTP, the way a browser without
 * JavaScript would (authorization request with PKCE → login page → consent page → callback),
 * then redeems the code at the token endpoint. For tests that need real tokens of a user.
 */
import { createHash, randomBytes } from 'node:crypto';
import { DISCOVERY_PATH } from '../provider/discovery.js';
import { TokenError } from './errors.js';

/** How to sign in. */
export interface LoginRequest {
  /** The issuer's URL (its discovery document is read for the endpoints). */
  issuer: string;
  clientId: string;
  /** For confidential clients (client_secret_basic). */
  clientSecret?: string;
  redirectUri: string;
  username: string;
  /** The password typed on the login page. Absent: the "any user" form with `claims`. */
  password?: string;
  /** Claims typed on the "any user" form (new usernames only). */
  claims?: Record<string, unknown>;
  scope: string;
  /** RFC 8707 resource indicator, for an access token for that API. */
  resource?: string;
  /** Extra authorization request parameters (nonce, prompt, max_age, acr_values…). */
  extraParams?: Record<string, string>;
  /** The issuer's endpoints when the caller knows them; absent, discovery is read for them. */
  endpoints?: { authorization_endpoint: string; token_endpoint: string };
  fetch?: typeof fetch;
}

/** The token endpoint's answer. */
export interface LoginTokens {
  access_token: string;
  token_type: string;
  expires_in?: number;
  scope?: string;
  id_token?: string;
  refresh_token?: string;
  [other: string]: unknown;
}

interface Page {
  url: string;
  status: number;
  body: string;
  location?: string;
}

/**
 * Runs the whole authorization code + PKCE flow for `request.username`.
 * @throws TokenError `LOGIN_FAILED` with what the issuer said (wrong password, unknown
 *   client, invalid redirect_uri, access_denied, token endpoint error…).
 */
export async function loginWithCode(request: LoginRequest): Promise<LoginTokens> {
  const doFetch = request.fetch ?? fetch;
  const jar = new Map<string, string>();
  const discovery =
    request.endpoints ??
    ((await (await doFetch(`${request.issuer.replace(/\/+$/, '')}${DISCOVERY_PATH}`)).json()) as {
      authorization_endpoint: string;
      token_endpoint: string;
    });

  const send = async (url: string, init: RequestInit = {}): Promise<Page> => {
    const headers = new Headers(init.headers);
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    if (cookie && new URL(url).origin === new URL(request.issuer).origin)
      headers.set('cookie', cookie);
    headers.set('accept', 'text/html');
    const res = await doFetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === '' || /max-age=0|expires=thu, 01 jan 1970/i.test(line)) jar.delete(name);
      else jar.set(name, value);
    }
    const location = res.headers.get('location');
    return {
      url,
      status: res.status,
      body: await res.text(),
      ...(location ? { location: new URL(location, url).toString() } : {}),
    };
  };
  /** Follows redirects until a page, or until the redirect reaches the client's callback. */
  const follow = async (first: Page): Promise<Page> => {
    let page = first;
    for (let hops = 0; hops < 20; hops++) {
      if (!page.location || page.status < 300 || page.status >= 400) return page;
      if (page.location.startsWith(request.redirectUri)) return page;
      page = await send(page.location);
    }
    throw failed('too many redirects');
  };
  const post = (page: Page, path: string, fields: Record<string, string>) => {
    const csrf = /name="csrf" value="([^"]*)"/.exec(page.body)?.[1];
    // The form's own action: below a hosted issuer's path it starts with that path.
    const interaction = /action="([^"]*\/interaction\/[^/"]+)\//.exec(page.body)?.[1];
    if (!csrf || !interaction)
      throw failed(`unexpected page at ${page.url} (HTTP ${page.status}): ${summary(page.body)}`);
    const target = new URL(`${interaction}/${path}`, page.url).toString();
    return send(target, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf, ...fields }),
    }).then(follow);
  };

  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(16).toString('base64url');
  const authorize = new URL(discovery.authorization_endpoint);
  const params: Record<string, string> = {
    response_type: 'code',
    client_id: request.clientId,
    redirect_uri: request.redirectUri,
    scope: request.scope,
    state,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    ...(request.resource ? { resource: request.resource } : {}),
    ...(request.extraParams ?? {}),
  };
  for (const [k, v] of Object.entries(params)) authorize.searchParams.set(k, v);

  let page = await follow(await send(authorize.toString()));
  for (let step = 0; step < 4 && !page.location?.startsWith(request.redirectUri); step++) {
    if (page.status !== 200) {
      throw failed(`the issuer answered HTTP ${page.status} at ${page.url}: ${summary(page.body)}`);
    }
    if (/\/login"/.test(page.body)) {
      page = await post(page, 'login', {
        username: request.username,
        password: request.password ?? '',
        claims: request.claims ? JSON.stringify(request.claims) : '',
        action: 'login',
      });
      if (page.status === 401)
        throw failed(`login refused for ${request.username}: ${summary(page.body)}`);
    } else if (/\/confirm"/.test(page.body)) {
      page = await post(page, 'confirm', {});
    } else {
      throw failed(`unexpected page at ${page.url}: ${summary(page.body)}`);
    }
  }
  if (!page.location?.startsWith(request.redirectUri))
    throw failed('the flow did not reach the redirect_uri');
  const callback = new URL(page.location);
  const error = callback.searchParams.get('error');
  if (error) {
    throw failed(
      `the issuer returned ${error}: ${callback.searchParams.get('error_description') ?? ''}`,
    );
  }
  if (callback.searchParams.get('state') !== state)
    throw failed('the callback state does not match');
  const code = callback.searchParams.get('code');
  if (!code) throw failed('the callback has no code');

  const body = new URLSearchParams({
    grant_type: 'authorization_code',
    code,
    redirect_uri: request.redirectUri,
    code_verifier: verifier,
  });
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (request.clientSecret !== undefined) {
    const enc = (s: string) => encodeURIComponent(s);
    headers.authorization = `Basic ${Buffer.from(`${enc(request.clientId)}:${enc(request.clientSecret)}`).toString('base64')}`;
  } else {
    body.set('client_id', request.clientId);
  }
  const res = await doFetch(discovery.token_endpoint, { method: 'POST', headers, body });
  const tokens = (await res.json()) as LoginTokens & { error?: string; error_description?: string };
  if (!res.ok) {
    throw failed(
      `the token endpoint answered ${res.status} ${tokens.error ?? ''}: ${tokens.error_description ?? ''}`,
    );
  }
  return tokens;
}

/** The visible message of an HTML page (its alert or error paragraph), or its start. */
function summary(html: string): string {
  const alert = /<p class="error"[^>]*>([\s\S]*?)<\/p>/.exec(html)?.[1];
  const text = (alert ?? html)
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return text.slice(0, 300);
}

function failed(message: string): TokenError {
  return new TokenError('LOGIN_FAILED', message);
}
