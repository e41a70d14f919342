// /debugger/callback: exchanges the code (PKCE verifier, state and nonce from this tab), then
// shows the token response, each JWT as the issuer's verifier sees it, and userinfo, with
// buttons for refresh, introspection, revocation and logout.
import {
  codeBlock,
  el,
  issuerOf,
  postJson,
  pretty,
  reason,
  renderVerdict,
  verdictBox,
} from './common.js';
import {
  clearSession,
  discover,
  loadSession,
  postForm,
  randomToken,
  saveSession,
  takePending,
} from './oidc.js';

const issuer = issuerOf();
const $ = (id) => document.getElementById(id);
const status = $('status');
const tokensBox = $('tokens');
const actionResult = $('action-result');
const say = (kind, ...children) => status.replaceChildren(verdictBox(kind, ...children));
const isJwt = (t) => typeof t === 'string' && t.split('.').length === 3;

async function main() {
  const meta = await discover(issuer);
  const params = new URLSearchParams(location.search);
  if (params.has('error')) {
    say(
      'bad',
      el('strong', {}, `The authorization server answered ${params.get('error')}`),
      params.get('error_description') ? `: ${params.get('error_description')}` : '',
    );
    return;
  }
  let session = loadSession();
  if (params.has('code')) {
    const pending = takePending(params.get('state'));
    history.replaceState(null, '', location.pathname);
    if (!pending) {
      say(
        'bad',
        el('strong', {}, 'State mismatch: '),
        'this callback does not answer a sign-in started from this tab (or it was used already). ',
        el('a', { href: '/debugger' }, 'Start again'),
      );
      return;
    }
    if (params.has('iss') && params.get('iss') !== meta.issuer) {
      say(
        'bad',
        el('strong', {}, 'Wrong issuer: '),
        `iss is ${params.get('iss')}, expected ${meta.issuer} (RFC 9207)`,
      );
      return;
    }
    const exchange = await postForm(
      meta.token_endpoint,
      {
        grant_type: 'authorization_code',
        code: params.get('code'),
        redirect_uri: pending.redirectUri,
        code_verifier: pending.verifier,
        ...(pending.resource ? { resource: pending.resource } : {}),
      },
      pending.client,
    );
    if (!exchange.ok) {
      say(
        'bad',
        el('strong', {}, `Token endpoint answered HTTP ${exchange.status}: `),
        reason(exchange.data),
      );
      tokensBox.replaceChildren(codeBlock('Token response', pretty(exchange.data)));
      return;
    }
    session = {
      client: pending.client,
      resource: pending.resource,
      nonce: pending.nonce,
      tokens: exchange.data,
      receivedAt: Date.now(),
    };
    saveSession(session);
  }
  if (!session) {
    say(
      '',
      'Nothing to show yet. ',
      el('a', { href: '/debugger' }, 'Sign in from the debugger'),
      '.',
    );
    return;
  }
  await render(meta, session);
  wireActions(meta);
}

async function render(meta, session) {
  const { tokens, client } = session;
  const parts = [codeBlock('Token response', pretty(tokens), { testId: 'token-response' })];
  let nonceOk = true;
  for (const [name, label, audience] of [
    ['id_token', 'ID token', client.id],
    ['access_token', 'Access token', session.resource],
  ]) {
    const token = tokens[name];
    if (!token) continue;
    const section = el('section', { 'data-testid': name });
    section.append(codeBlock(`${label} (raw)`, token, { testId: `${name}-raw` }));
    if (isJwt(token)) {
      const { ok, data } = await postJson('/_issuer/console/verify', {
        token,
        ...(audience ? { audience } : {}),
      });
      if (ok) {
        section.append(renderVerdict(data, { title: `${label}, decoded and verified` }));
        if (name === 'id_token' && session.nonce && data.verdict.claims?.nonce !== session.nonce) {
          nonceOk = false;
        }
      } else section.append(verdictBox('bad', reason(data)));
    } else {
      section.append(
        el(
          'p',
          { class: 'muted' },
          `${label} is opaque (not a JWT): use introspection to read it.`,
        ),
      );
    }
    parts.push(section);
  }
  const userinfo = await fetchUserinfo(meta, tokens.access_token);
  parts.push(el('section', { 'data-testid': 'userinfo' }, userinfo));
  tokensBox.replaceChildren(...parts);
  if (tokens.id_token && !nonceOk) {
    say(
      'bad',
      el('strong', {}, 'Nonce mismatch: '),
      'the ID token does not carry the nonce this tab sent. Do not trust it.',
    );
  } else {
    say(
      'ok',
      el('strong', {}, 'Signed in. '),
      `PKCE and state checked${tokens.id_token ? ', nonce matches' : ''}. Client ${client.id}.`,
    );
  }
  $('actions').hidden = false;
  $('refresh').disabled = !tokens.refresh_token;
  $('revoke').disabled = !tokens.refresh_token && !tokens.access_token;
  $('logout').disabled = !tokens.id_token;
}

async function fetchUserinfo(meta, accessToken) {
  if (!accessToken || !meta.userinfo_endpoint) {
    return [el('h3', {}, 'Userinfo'), el('p', { class: 'muted' }, 'No access token.')];
  }
  const res = await fetch(meta.userinfo_endpoint, {
    headers: { authorization: `Bearer ${accessToken}` },
  });
  const text = await res.text();
  let body = text;
  try {
    body = pretty(JSON.parse(text));
  } catch {
    // Not JSON (a signed userinfo response would be a JWT); shown as it is.
  }
  if (!res.ok) {
    const why = res.headers.get('www-authenticate') ?? '';
    return [
      verdictBox(
        'bad',
        `Userinfo answered HTTP ${res.status}. `,
        why.includes('audience') || why.includes('invalid_token')
          ? 'Userinfo takes an access token with the openid scope: an opaque one for userinfo, or a JWT one issued to a user with openid granted. An opaque token for an API (a resource) is not accepted.'
          : '',
      ),
      codeBlock('Userinfo response', body),
    ];
  }
  return [codeBlock('Userinfo response', body, { testId: 'userinfo-body' })];
}

function wireActions(meta) {
  const show = (title, result) =>
    actionResult.replaceChildren(
      verdictBox(result.ok ? 'ok' : 'bad', `${title}: HTTP ${result.status}`),
      codeBlock(`${title} response`, pretty(result.data), { testId: 'action-body' }),
    );
  $('refresh').addEventListener('click', async () => {
    const session = loadSession();
    const result = await postForm(
      meta.token_endpoint,
      {
        grant_type: 'refresh_token',
        refresh_token: session.tokens.refresh_token,
        ...(session.resource ? { resource: session.resource } : {}),
      },
      session.client,
    );
    show('Refresh', result);
    if (result.ok) {
      session.tokens = { ...session.tokens, ...result.data };
      session.receivedAt = Date.now();
      saveSession(session);
      await render(meta, session);
      status.prepend(verdictBox('ok', 'Tokens refreshed.'));
    }
  });
  $('introspect').addEventListener('click', async () => {
    const session = loadSession();
    // A JWT access token is verified against the JWKS; the introspection endpoint refuses it
    // (unsupported_token_type), so the (opaque) refresh token is introspected instead.
    const jwt = session.tokens.access_token?.split('.').length === 3;
    const which = jwt && session.tokens.refresh_token ? 'refresh_token' : 'access_token';
    show(
      which === 'refresh_token' ? 'Introspection of the refresh token' : 'Introspection',
      await postForm(
        meta.introspection_endpoint,
        { token: session.tokens[which], token_type_hint: which },
        session.client,
      ),
    );
  });
  $('revoke').addEventListener('click', async () => {
    const session = loadSession();
    const which = session.tokens.refresh_token ? 'refresh_token' : 'access_token';
    const result = await postForm(
      meta.revocation_endpoint,
      { token: session.tokens[which], token_type_hint: which },
      session.client,
    );
    show(`Revocation of the ${which.replace('_', ' ')}`, result);
  });
  $('logout').addEventListener('click', () => {
    const session = loadSession();
    const url = new URL(meta.end_session_endpoint);
    url.searchParams.set('id_token_hint', session.tokens.id_token);
    url.searchParams.set('post_logout_redirect_uri', session.client.logout);
    url.searchParams.set('client_id', session.client.id);
    url.searchParams.set('state', randomToken());
    clearSession();
    location.assign(url.toString());
  });
}

main().catch((err) => say('bad', el('strong', {}, 'The debugger failed: '), err.message));
