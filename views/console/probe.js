// /probe: sends the form to /_issuer/console/probe (the probe runs on the issuer, with the same
// code as `oidc-issuer probe`) and renders its report: the table, the summary and each finding.
import { el, postJson, reason, verdictBox } from './common.js';

const form = document.getElementById('probe-form');
const result = document.getElementById('result');
const formError = document.getElementById('form-error');
const runButton = document.getElementById('run');

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const data = Object.fromEntries(new FormData(form));
  data.rotate = form.elements.rotate.checked;
  formError.hidden = true;
  runButton.disabled = true;
  result.replaceChildren(
    verdictBox(
      '',
      data.rotate
        ? 'Running the probe and the rotation drill… this can take a minute.'
        : 'Running the probe…',
    ),
  );
  try {
    const { ok, data: answer } = await postJson('/_issuer/console/probe', data);
    if (!ok) {
      result.replaceChildren();
      formError.textContent = reason(answer);
      formError.hidden = false;
      return;
    }
    result.replaceChildren(...renderReport(answer));
  } catch (err) {
    result.replaceChildren();
    formError.textContent = `the probe did not answer: ${err.message}`;
    formError.hidden = false;
  } finally {
    runButton.disabled = false;
  }
});

const VERDICT = { pass: 'pass', fail: 'FAIL', skipped: 'skipped' };

function renderReport({ report, summary, rows }) {
  const head = el('h2', {}, 'Report');
  const target = el(
    'p',
    { class: 'muted' },
    `${report.target.method} ${report.target.url} with tokens from ${report.issuer}`,
  );
  const box = verdictBox(
    report.ok ? 'ok' : 'bad',
    el('strong', { 'data-testid': 'summary' }, summary),
  );
  const table = el(
    'div',
    { class: 'scroll' },
    el(
      'table',
      { class: 'data', 'data-testid': 'probe-table' },
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          ['Case', 'Expected', 'Got', 'Verdict', 'Note'].map((h) => el('th', { scope: 'col' }, h)),
        ),
      ),
      el(
        'tbody',
        {},
        rows.map((r) =>
          el(
            'tr',
            { 'data-case': r.id, class: r.verdict === 'fail' ? 'failed' : null },
            el('td', {}, el('code', {}, r.id), el('div', { class: 'muted' }, r.title)),
            el('td', { class: 'nowrap' }, r.expectedText),
            el('td', { class: 'nowrap' }, r.gotText),
            el(
              'td',
              {
                class: `nowrap ${r.verdict === 'fail' ? 'sev-error' : r.verdict === 'skipped' ? 'sev-note' : ''}`,
              },
              VERDICT[r.verdict],
            ),
            el('td', {}, r.note ?? ''),
          ),
        ),
      ),
    ),
  );
  const findings = rows
    .filter((r) => r.verdict === 'fail')
    .map((r) =>
      el(
        'section',
        { class: 'finding', 'data-finding': r.id },
        el('h3', {}, '✗ ', el('code', {}, r.id), ` — ${r.title}`),
        r.consequence ? el('p', {}, el('strong', {}, 'Consequence: '), r.consequence) : null,
        r.note ? el('p', { class: 'muted' }, r.note) : null,
        r.response?.wwwAuthenticate
          ? el(
              'p',
              { class: 'muted' },
              'WWW-Authenticate: ',
              el('code', {}, r.response.wwwAuthenticate),
            )
          : null,
        r.response?.body ? el('pre', {}, el('code', {}, r.response.body)) : null,
        r.fixes.length > 0
          ? el(
              'dl',
              { class: 'fixes' },
              r.fixes.flatMap(([lib, text]) => [el('dt', {}, lib), el('dd', {}, withCode(text))]),
            )
          : null,
      ),
    );
  return [
    head,
    target,
    box,
    table,
    ...(findings.length > 0 ? [el('h2', {}, 'Findings'), ...findings] : []),
  ];
}

/** Text with `backtick` spans (as the fixes are written) as code elements. */
function withCode(text) {
  return text.split('`').map((part, i) => (i % 2 === 1 ? el('code', {}, part) : part));
}
