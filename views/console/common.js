// Shared by the console pages: building DOM nodes (never from HTML strings), copy buttons,
// calls to the console's JSON endpoints, and the rendering of a token verdict.

/** An element with attributes (`on*` functions become listeners) and children. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      node.addEventListener(name.slice(2), value);
    } else if (name === 'class') node.className = value;
    // Through the CSSOM: the CSP refuses style attributes, not properties set from a script.
    else if (name === 'style') Object.assign(node.style, value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** A button that copies `text()` to the clipboard and says so. */
export function copyButton(text, label = 'Copy') {
  const button = el('button', { type: 'button', class: 'copy' }, label);
  button.addEventListener('click', async () => {
    const value = typeof text === 'function' ? text() : text;
    try {
      await navigator.clipboard.writeText(value);
      button.textContent = 'Copied';
    } catch {
      // Without clipboard permission, select the text so Ctrl+C copies it.
      const pre = button.parentElement?.querySelector('pre');
      if (pre) window.getSelection()?.selectAllChildren(pre);
      button.textContent = 'Selected: press Ctrl+C';
    }
    setTimeout(() => {
      button.textContent = label;
    }, 2000);
  });
  return button;
}

/** A labelled block of code with a copy button. */
export function codeBlock(title, text, { testId } = {}) {
  const id = `code-${Math.random().toString(36).slice(2, 10)}`;
  return el(
    'div',
    { class: 'copyable' },
    el('h3', { id }, title),
    el('pre', { 'aria-labelledby': id, 'data-testid': testId }, el('code', {}, text)),
    copyButton(text, 'Copy'),
  );
}

/** JSON pretty-printed for display. */
export const pretty = (value) => JSON.stringify(value, null, 2);

/** A value as text for a table cell: strings as they are, everything else as JSON. */
export function show(value) {
  if (value === undefined) return '(absent)';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** POSTs JSON to one of the console endpoints; resolves to `{ ok, status, data }`. */
export async function postJson(path, body) {
  const res = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body),
  });
  let data;
  try {
    data = await res.json();
  } catch {
    data = { error: 'invalid_response', error_description: `HTTP ${res.status}` };
  }
  return { ok: res.ok, status: res.status, data };
}

/** `error_description` (or `error`) of a failed call, for a message on the page. */
export function reason(data) {
  return data?.error_description ?? data?.error ?? 'unknown error';
}

/** A status line: `kind` is `ok`, `bad` or empty. */
export function verdictBox(kind, ...children) {
  return el('div', { class: `verdict ${kind}`, role: 'status' }, ...children);
}

/** A two-column table of `[name, value]` rows. */
export function table(caption, rows, { testId } = {}) {
  return el(
    'div',
    { class: 'scroll' },
    el(
      'table',
      { class: 'data', 'data-testid': testId },
      caption ? el('caption', { class: 'muted' }, caption) : null,
      el(
        'tbody',
        {},
        rows.map(([name, value, extra]) =>
          el('tr', {}, el('th', { scope: 'row' }, name), el('td', {}, value, extra ?? null)),
        ),
      ),
    ),
  );
}

/**
 * Renders the answer of `/_issuer/console/verify` (the verdict of `oidc-issuer token verify`):
 * the verdict with its reasons, header, claims with dates and relative times, and the JWKS with
 * the key that verified highlighted.
 */
export function renderVerdict({ verdict, jwks }, { title = 'Token' } = {}) {
  const times = new Map((verdict.times ?? []).map((t) => [t.claim, t]));
  const problems = verdict.problems ?? [];
  const box = verdict.valid
    ? verdictBox(
        'ok',
        el('strong', {}, '✓ Signature and claims verified'),
        verdict.key?.kid ? ` with key ${verdict.key.kid}` : '',
      )
    : verdictBox(
        'bad',
        el('strong', {}, '✗ Not valid'),
        el(
          'ul',
          {},
          problems.map((p) => el('li', {}, el('code', {}, p.code), ': ', p.message)),
        ),
      );
  const parts = [el('h3', {}, title), box];
  if (verdict.notes?.length) {
    parts.push(
      el(
        'ul',
        { class: 'muted' },
        verdict.notes.map((n) => el('li', {}, n)),
      ),
    );
  }
  if (verdict.header) {
    parts.push(
      table(
        'Header',
        Object.entries(verdict.header).map(([k, v]) => [k, show(v)]),
        { testId: 'header' },
      ),
    );
  }
  if (verdict.claims) {
    parts.push(
      table(
        'Claims',
        Object.entries(verdict.claims).map(([k, v]) => {
          const t = times.get(k);
          return [k, show(v), t ? el('div', { class: 'muted' }, `${t.iso} (${t.relative})`) : null];
        }),
        { testId: 'claims' },
      ),
    );
  }
  const keys = jwks?.keys ?? [];
  if (keys.length > 0 || verdict.publishedKids?.length) {
    const matched = verdict.key?.kid;
    const source = verdict.jwksUri ?? jwks?.location ?? 'the JWKS';
    const rows = keys.length ? keys : (verdict.publishedKids ?? []).map((kid) => ({ kid }));
    parts.push(
      el(
        'div',
        { class: 'scroll' },
        el(
          'table',
          { class: 'data', 'data-testid': 'jwks' },
          el('caption', { class: 'muted' }, `Keys at ${source}`),
          el(
            'thead',
            {},
            el(
              'tr',
              {},
              ['kid', 'kty', 'alg', 'use'].map((h) => el('th', { scope: 'col' }, h)),
            ),
          ),
          el(
            'tbody',
            {},
            rows.map((k) =>
              el(
                'tr',
                {
                  class: k.kid === matched ? 'match' : '',
                  'aria-current': k.kid === matched ? 'true' : false,
                },
                el(
                  'td',
                  {},
                  el('code', {}, k.kid ?? '(none)'),
                  k.kid === matched ? ' ← signed this token' : '',
                ),
                el('td', {}, k.kty ?? ''),
                el('td', {}, k.alg ?? ''),
                el('td', {}, k.use ?? ''),
              ),
            ),
          ),
        ),
      ),
    );
  }
  return el('section', { class: 'token', 'data-valid': String(!!verdict.valid) }, parts);
}

/** Reads the issuer URL the page was rendered for. */
export function issuerOf() {
  return document.body.dataset.issuer ?? location.origin;
}
