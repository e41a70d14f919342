// /debugger: the authorization request form. It shows the URL it will open, keeps the PKCE
// verifier, state and nonce in this tab, and sends the browser to the authorization endpoint.
import { el, issuerOf } from './common.js';
import { challengeOf, discover, randomToken, savePending } from './oidc.js';

const issuer = issuerOf();
const form = document.getElementById('debugger-form');
const signedOut = document.getElementById('signed-out');
const DEFAULT_SCOPES = ['openid', 'profile', 'email', 'offline_access'];

const params = new URLSearchParams(location.search);
if (params.has('state') && signedOut) {
  signedOut.hidden = false;
  signedOut.className = 'verdict ok';
  signedOut.textContent = 'Signed out: the issuer ended the session and sent you back here.';
}

let secrets = { state: randomToken(), nonce: randomToken(), verifier: randomToken() };
let challenge = await challengeOf(secrets.verifier);

if (form) {
  const $ = (id) => document.getElementById(id);
  const clientSelect = $('client');
  const selected = () => clientSelect.selectedOptions[0];
  const scopesBox = $('scopes');
  const resourceSelect = $('resource');
  const errorLine = $('form-error');
  let meta;

  const renderClient = () => {
    const option = selected();
    $('secret-label').hidden = option.dataset.confidential !== 'true';
    const allowed = new Set((option.dataset.scopes ?? '').split(' ').filter(Boolean));
    for (const box of scopesBox.querySelectorAll('input')) {
      const ok = allowed.size === 0 || allowed.has(box.value);
      box.disabled = !ok;
      if (!ok) box.checked = false;
      box.closest('label').title = ok ? '' : 'this client may not ask for this scope';
    }
    resourceSelect.replaceChildren(
      el('option', { value: '' }, '(none)'),
      ...(option.dataset.resources ?? '')
        .split(' ')
        .filter(Boolean)
        .map((r) => el('option', { value: r }, r)),
    );
  };

  const authorizationUrl = () => {
    const url = new URL(meta?.authorization_endpoint ?? `${issuer}/auth`);
    const scope = [...scopesBox.querySelectorAll('input:checked')].map((b) => b.value).join(' ');
    const q = url.searchParams;
    q.set('client_id', clientSelect.value);
    q.set('response_type', 'code');
    q.set('redirect_uri', `${issuer}/debugger/callback`);
    q.set('scope', scope);
    q.set('state', secrets.state);
    q.set('nonce', secrets.nonce);
    q.set('code_challenge', challenge);
    q.set('code_challenge_method', 'S256');
    for (const id of ['resource', 'prompt', 'login_hint', 'max_age']) {
      const value = $(id).value.trim();
      if (value) q.set(id, value);
    }
    errorLine.hidden = true;
    for (const line of $('extra').value.split('\n')) {
      if (!line.trim()) continue;
      const eq = line.indexOf('=');
      if (eq <= 0) {
        errorLine.hidden = false;
        errorLine.textContent = `Extra parameter "${line.trim()}" is not name=value`;
        continue;
      }
      q.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
    }
    return url.toString();
  };

  const update = () => {
    $('auth-url').textContent = authorizationUrl();
  };

  try {
    meta = await discover(issuer);
    const supported = meta.scopes_supported ?? [];
    scopesBox.replaceChildren(
      ...supported.map((s) =>
        el(
          'label',
          { class: 'check' },
          el('input', {
            type: 'checkbox',
            name: 'scope',
            value: s,
            checked: DEFAULT_SCOPES.includes(s),
          }),
          s,
        ),
      ),
    );
  } catch (err) {
    scopesBox.replaceChildren(el('span', { class: 'error' }, `Discovery failed: ${err.message}`));
  }
  renderClient();
  update();
  clientSelect.addEventListener('change', () => {
    renderClient();
    update();
  });
  form.addEventListener('input', update);
  form.addEventListener('change', update);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const url = authorizationUrl();
    if (!errorLine.hidden) return;
    const option = selected();
    savePending({
      ...secrets,
      issuer,
      client: {
        id: clientSelect.value,
        ...(option.dataset.confidential === 'true' ? { secret: $('secret').value } : {}),
        logout: option.dataset.logout || `${issuer}/debugger`,
      },
      resource: resourceSelect.value || undefined,
      redirectUri: `${issuer}/debugger/callback`,
    });
    location.assign(url);
  });
  // A fresh set for the next sign-in if the user comes back with the back button.
  window.addEventListener('pageshow', async (event) => {
    if (!event.persisted) return;
    secrets = { state: randomToken(), nonce: randomToken(), verifier: randomToken() };
    challenge = await challengeOf(secrets.verifier);
    update();
  });
}
