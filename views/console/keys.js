// /keys: the key ring as a timeline per algorithm, refreshed by polling the console's ring
// summary; with the admin token (kept in this tab), rotate, rotate now and revoke.
import { el, verdictBox } from './common.js';

const $ = (id) => document.getElementById(id);
const TOKEN = 'oidc-console:admin-token';
const POLL_MS = 2000;
let last = '';
let current;

const SPANS = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
];
function span(ms) {
  let rest = Math.abs(ms);
  const parts = [];
  for (const [unit, size] of SPANS) {
    if (rest >= size && parts.length < 2) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join(' ') || '0s';
}
const relative = (at, now) => (at >= now ? `in ${span(at - now)}` : `${span(now - at)} ago`);
const stamp = (at) => new Date(at).toISOString().slice(0, 19).replace('T', ' ');
/** A table cell's instant: the UTC time, and how far from now. */
const cell = (at, now) =>
  el(
    'td',
    {},
    el('span', { class: 'nowrap' }, `${stamp(at)}Z`),
    el('div', { class: 'muted' }, relative(at, now)),
  );
const when = (at, now) =>
  `${new Date(at).toISOString().replace('.000Z', 'Z')} (${relative(at, now)})`;

function timeline(alg, keys, now) {
  const from = Math.min(now, ...keys.map((k) => k.createdAt));
  const to = Math.max(now, ...keys.map((k) => k.removeAt));
  const width = Math.max(to - from, 1);
  const pct = (t) => `${(((t - from) / width) * 100).toFixed(3)}%`;
  const segment = (k, state, start, end) =>
    el(
      'div',
      {
        class: `bar ${state}`,
        style: { left: pct(start), width: `calc(${pct(end)} - ${pct(start)})` },
        title: `${k.kid}: ${state} from ${when(start, now)} to ${when(end, now)}`,
      },
      state === k.state ? `${k.kid.slice(0, 8)}… ${state}` : '',
    );
  const ordered = [...keys].sort((a, b) => a.activateAt - b.activateAt);
  return el(
    'figure',
    { class: 'timeline', 'data-alg': alg, 'aria-label': `${alg} keys over time` },
    el('figcaption', {}, el('strong', {}, alg)),
    ...ordered.map((k) =>
      el(
        'div',
        { class: 'lane', 'data-kid': k.kid, 'data-state': k.state },
        segment(k, 'next', k.createdAt, k.activateAt),
        segment(k, 'active', k.activateAt, k.retireAt),
        segment(k, 'retiring', k.retireAt, k.removeAt),
        el('div', {
          class: 'now',
          style: { left: pct(now) },
          title: `now: ${new Date(now).toISOString()}`,
        }),
      ),
    ),
    el(
      'div',
      { class: 'axis' },
      el('span', {}, stamp(from)),
      el('span', {}, 'red line: now'),
      el('span', {}, stamp(to)),
    ),
  );
}

function keyTable(keys, now) {
  return el(
    'div',
    { class: 'scroll' },
    el(
      'table',
      { class: 'data wide-table', 'data-testid': 'key-table' },
      el('caption', { class: 'muted' }, 'Transitions'),
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          ['kid', 'alg', 'state', 'published', 'signs from', 'stops signing', 'removed'].map((h) =>
            el('th', { scope: 'col' }, h),
          ),
        ),
      ),
      el(
        'tbody',
        {},
        keys.map((k) =>
          el(
            'tr',
            { 'data-kid': k.kid },
            el('td', {}, el('code', {}, k.kid)),
            el('td', {}, k.alg),
            el('td', {}, el('span', { class: `pill state-${k.state}` }, k.state)),
            ...[k.createdAt, k.activateAt, k.retireAt, k.removeAt].map((t) => cell(t, now)),
          ),
        ),
      ),
    ),
  );
}

function render(data) {
  const ring = data.ring;
  $('cache').replaceChildren(
    data.cacheControl
      ? el(
          'p',
          {},
          el('code', {}, `Cache-Control: ${data.cacheControl}`),
          el('br'),
          data.cacheSentence,
        )
      : el('p', { class: 'muted' }, 'No JWKS is served yet.'),
  );
  if (!ring) {
    $('ring').replaceChildren(
      verdictBox('bad', 'No key ring is loaded yet (is the store reachable?).'),
    );
    return;
  }
  const byAlg = data.algorithms.map((alg) => [alg, ring.keys.filter((k) => k.alg === alg)]);
  $('ring').replaceChildren(
    el(
      'p',
      { class: 'muted', 'data-testid': 'ring-version' },
      `Ring version ${ring.version}, updated ${when(ring.updatedAt, data.now)}.`,
    ),
    ...byAlg.map(([alg, keys]) =>
      keys.length ? timeline(alg, keys, data.now) : el('p', {}, `${alg}: no keys yet.`),
    ),
    keyTable(ring.keys, data.now),
  );
  renderActions(data);
}

function renderActions(data) {
  const box = $('admin-actions');
  if (!box || !data.ring) return;
  const rows = data.algorithms.map((alg) =>
    el(
      'div',
      { class: 'row' },
      el('strong', {}, alg),
      el('button', { type: 'button', 'data-action': 'rotate', 'data-alg': alg }, `Rotate ${alg}`),
      el(
        'button',
        { type: 'button', 'data-action': 'rotate-now', 'data-alg': alg },
        `Rotate ${alg} now`,
      ),
    ),
  );
  const revokes = data.ring.keys.map((k) =>
    el(
      'button',
      {
        type: 'button',
        'data-action': 'revoke',
        'data-kid': k.kid,
        'aria-label': `Revoke ${k.kid}`,
      },
      `Revoke ${k.kid.slice(0, 10)}… (${k.state})`,
    ),
  );
  box.replaceChildren(...rows, el('div', { class: 'row' }, ...revokes));
}

const CONFIRM = {
  rotate: (alg) =>
    `Rotate ${alg}: the next key (published long enough) starts signing, the active one retires and stays published until its tokens expire, and a fresh next key is published. Verifiers notice nothing. Go on?`,
  'rotate-now': (alg) =>
    `Rotate ${alg} NOW: the next key signs at once, even if it was published only moments ago. A verifier whose cached JWKS predates it rejects new tokens until it refetches (some refetch on an unknown kid, some wait up to 12 h). Go on?`,
  revoke: (kid) =>
    `Revoke ${kid}: it is removed from the JWKS at once and never comes back. Every token it signed stops verifying as soon as verifiers refresh; if it is the active key, the next one signs from now on. Go on?`,
};

async function act(event) {
  const button = event.target.closest('button[data-action]');
  if (!button) return;
  const { action, alg, kid } = button.dataset;
  if (!window.confirm(CONFIRM[action](alg ?? kid))) return;
  const token = $('admin-token').value.trim();
  sessionStorage.setItem(TOKEN, token);
  const url =
    action === 'revoke' ? `/admin/keys/${encodeURIComponent(kid)}/revoke` : '/admin/keys/rotate';
  const body =
    action === 'revoke'
      ? undefined
      : JSON.stringify({ alg, ...(action === 'rotate-now' ? { now: true } : {}) });
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body,
  });
  const data = await res.json().catch(() => ({}));
  $('admin-result').replaceChildren(
    res.ok
      ? verdictBox('ok', `${button.textContent}: done.`)
      : verdictBox(
          'bad',
          `${button.textContent}: HTTP ${res.status} ${data.error_description ?? data.error ?? ''}`,
        ),
  );
  await poll();
}

async function poll() {
  try {
    const res = await fetch('/_issuer/console/keys', { headers: { accept: 'application/json' } });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const data = await res.json();
    const { now: _now, ...stable } = data;
    const key = JSON.stringify(stable);
    current = data;
    // Redraw when the ring changed, and once a minute for the relative times.
    if (key !== last || Date.now() - (render.at ?? 0) > 60_000) {
      last = key;
      render.at = Date.now();
      render(current);
    }
    $('poll-error').replaceChildren();
  } catch (err) {
    $('poll-error').replaceChildren(
      verdictBox('bad', `Could not read the key ring: ${err.message}`),
    );
  }
}

const tokenInput = $('admin-token');
if (tokenInput) tokenInput.value = sessionStorage.getItem(TOKEN) ?? '';
$('admin-actions')?.addEventListener('click', act);
await poll();
setInterval(poll, POLL_MS);
document.body.dataset.ready = 'true';
