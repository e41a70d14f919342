// The SPA: oidc-client-ts (global `oidc` from the browser bundle) runs authorization code + PKCE
// in the browser, loads userinfo with the access token, calls the example API with the same
// token (a JWT for the client's default resource: no resource indicator needed), and signs out
// through the issuer's end_session endpoint.
const $ = (id) => document.getElementById(id);
const config = await (await fetch('/config.json')).json();

const manager = new oidc.UserManager({
  authority: config.issuer,
  client_id: config.clientId,
  redirect_uri: config.redirectUri,
  post_logout_redirect_uri: config.postLogoutRedirectUri,
  response_type: 'code',
  scope: config.scope,
  // Only when configured: without it the issuer gives a token for the client's default resource.
  ...(config.resource ? { resource: config.resource } : {}),
  loadUserInfo: true,
  userStore: new oidc.WebStorageStateStore({ store: window.sessionStorage }),
});

function showError(err) {
  $('error').hidden = false;
  $('error').textContent = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

function decodeJwtPayload(jwt) {
  const part = jwt.split('.')[1] ?? '';
  const json = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
  return JSON.parse(json);
}

async function render() {
  const user = await manager.getUser();
  const signedIn = Boolean(user && !user.expired);
  $('login').hidden = signedIn;
  $('call-api').hidden = !signedIn;
  $('logout').hidden = !signedIn;
  $('profile').hidden = !signedIn;
  if (!signedIn) {
    $('status').textContent = 'Signed out.';
    $('api').hidden = true;
    return;
  }
  $('status').textContent = `Signed in as ${user.profile.sub}.`;
  $('claims').textContent = JSON.stringify(user.profile, null, 2);
  // An access token is the API's business; the SPA decodes it only to show what it got.
  let token;
  try {
    token = decodeJwtPayload(user.access_token);
  } catch {
    token = { opaque: true };
  }
  $('token').textContent = JSON.stringify({ scope: user.scope, payload: token }, null, 2);
}

async function callApi() {
  const user = await manager.getUser();
  const res = await fetch(`${config.api}/api/whoami`, {
    headers: { Authorization: `Bearer ${user?.access_token ?? ''}` },
  });
  $('api').hidden = false;
  $('api-result').textContent = `${res.status}\n${await res.text()}`;
}

$('login').addEventListener('click', () => manager.signinRedirect().catch(showError));
$('logout').addEventListener('click', () => manager.signoutRedirect().catch(showError));
$('call-api').addEventListener('click', () => callApi().catch(showError));

try {
  if (location.pathname === '/callback') {
    await manager.signinRedirectCallback();
    history.replaceState(null, '', '/');
  }
} catch (err) {
  showError(err);
}
await render().catch(showError);
document.body.dataset.ready = 'true';
