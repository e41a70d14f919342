// /tools: the JWK generator (WebCrypto, in this browser), and the forms whose answers come from
// the issuer's shared code: convert (jwk-convert), inspect (jwk inspect) and verify (token verify).
import {
  codeBlock,
  el,
  issuerOf,
  postJson,
  pretty,
  reason,
  renderVerdict,
  table,
  verdictBox,
} from './common.js';
import { base64, base64url } from './oidc.js';

const $ = (id) => document.getElementById(id);
const issuer = issuerOf();

// ---- Generate -------------------------------------------------------------------------------

const ENC_EC = ['ECDH-ES', 'ECDH-ES+A128KW', 'ECDH-ES+A256KW'];
/** Algorithms per key type and use (RFC 7518 / RFC 8037). */
const ALGS = {
  RSA: {
    sig: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'],
    enc: ['RSA-OAEP', 'RSA-OAEP-256'],
  },
  'EC:P-256': { sig: ['ES256'], enc: ENC_EC },
  'EC:P-384': { sig: ['ES384'], enc: ENC_EC },
  'EC:P-521': { sig: ['ES512'], enc: ENC_EC },
  'OKP:Ed25519': { sig: ['EdDSA', 'Ed25519'], enc: [] },
};
const OPS = {
  sig: ['sign', 'verify'],
  enc: ['encrypt', 'decrypt', 'wrapKey', 'unwrapKey', 'deriveKey', 'deriveBits'],
};
/** What `oidc-issuer keys import` accepts (src/keystore/types.ts SIGNING_ALGS). */
const IMPORTABLE = ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'];
const PRIVATE = ['d', 'p', 'q', 'dp', 'dq', 'qi'];
const THUMBPRINT_MEMBERS = {
  RSA: ['e', 'kty', 'n'],
  EC: ['crv', 'kty', 'x', 'y'],
  OKP: ['crv', 'kty', 'x'],
};

const familyOf = (type) => (type.startsWith('RSA') ? 'RSA' : type);

function renderAlgs() {
  const type = $('gen-type').value;
  const encOption = $('gen-use').querySelector('option[value="enc"]');
  encOption.disabled = ALGS[familyOf(type)].enc.length === 0;
  if (encOption.disabled && $('gen-use').value === 'enc') $('gen-use').value = 'sig';
  const use = $('gen-use').value;
  $('gen-alg').replaceChildren(
    ...ALGS[familyOf(type)][use].map((a) => el('option', { value: a }, a)),
  );
  $('gen-ops').replaceChildren(
    ...OPS[use].map((op) =>
      el(
        'label',
        { class: 'check' },
        el('input', { type: 'checkbox', name: 'key_ops', value: op }),
        op,
      ),
    ),
  );
}

/** WebCrypto parameters that make a key of `type` for `use`. */
function generationParams(type, use) {
  const [kty, size] = type.split(':');
  if (kty === 'RSA') {
    const name = use === 'sig' ? 'RSASSA-PKCS1-v1_5' : 'RSA-OAEP';
    return [
      {
        name,
        modulusLength: Number(size),
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: 'SHA-256',
      },
      use === 'sig' ? ['sign', 'verify'] : ['encrypt', 'decrypt'],
    ];
  }
  if (kty === 'EC') {
    return use === 'sig'
      ? [{ name: 'ECDSA', namedCurve: size }, ['sign', 'verify']]
      : [{ name: 'ECDH', namedCurve: size }, ['deriveBits']];
  }
  return [{ name: 'Ed25519' }, ['sign', 'verify']];
}

/** RFC 7638 JWK thumbprint (SHA-256, base64url). */
async function thumbprint(jwk) {
  const members = THUMBPRINT_MEMBERS[jwk.kty];
  const canonical = JSON.stringify(Object.fromEntries(members.map((m) => [m, jwk[m]])));
  return base64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(canonical)));
}

function pem(label, der) {
  const b64 = base64(der);
  return `-----BEGIN ${label}-----\n${b64.match(/.{1,64}/g).join('\n')}\n-----END ${label}-----\n`;
}

/** The JWK with our members first (kid, kty, alg, use, key_ops) and WebCrypto's own dropped. */
function shape(exported, { kid, alg, use, ops }, withPrivate) {
  const material = Object.fromEntries(
    Object.entries(exported).filter(
      ([k]) =>
        !['alg', 'key_ops', 'ext', 'kty', 'use'].includes(k) &&
        (withPrivate || !PRIVATE.includes(k)),
    ),
  );
  return { kid, kty: exported.kty, alg, use, ...(ops.length ? { key_ops: ops } : {}), ...material };
}

async function generate(event) {
  event.preventDefault();
  const out = $('gen-out');
  const type = $('gen-type').value;
  const use = $('gen-use').value;
  const alg = $('gen-alg').value;
  const ops = [...$('gen-ops').querySelectorAll('input:checked')].map((b) => b.value);
  out.replaceChildren(verdictBox('', `Generating ${type.replace(':', ' ')} in this browser…`));
  try {
    const [params, usages] = generationParams(type, use);
    const pair = await crypto.subtle.generateKey(params, true, usages);
    const privateJwk = await crypto.subtle.exportKey('jwk', pair.privateKey);
    const kid = $('gen-kid').value.trim() || (await thumbprint(privateJwk));
    const opts = { kid, alg, use, ops };
    const privatePem = pem('PRIVATE KEY', await crypto.subtle.exportKey('pkcs8', pair.privateKey));
    const publicPem = pem('PUBLIC KEY', await crypto.subtle.exportKey('spki', pair.publicKey));
    const file = `${kid.replace(/[^A-Za-z0-9._-]/g, '_')}.pem`;
    const importable = use === 'sig' && IMPORTABLE.includes(alg);
    out.replaceChildren(
      verdictBox(
        'ok',
        el('strong', {}, `${type.replace(':', ' ')} key ${kid}`),
        ` for ${alg}, generated in this browser.`,
      ),
      codeBlock('Private JWK (keep it secret)', pretty(shape(privateJwk, opts, true)), {
        testId: 'private-jwk',
      }),
      codeBlock('Public JWK', pretty(shape(privateJwk, opts, false)), { testId: 'public-jwk' }),
      codeBlock('Private key, PKCS#8 PEM (keep it secret)', privatePem, { testId: 'private-pem' }),
      codeBlock('Public key, SPKI PEM', publicPem, { testId: 'public-pem' }),
      importable
        ? el(
            'div',
            {},
            el(
              'p',
              {},
              `Save the PKCS#8 PEM as ${file}, then load it into the issuer's key ring as the next key (the issuer names it by its thumbprint):`,
            ),
            $('gen-form').dataset.algorithms.split(' ').includes(alg)
              ? null
              : el(
                  'p',
                  { class: 'muted' },
                  `This issuer's keys.algorithms does not list ${alg} yet; add it first, or keys import refuses the key.`,
                ),
            codeBlock('Import it', `oidc-issuer keys import ${file} --alg ${alg}`, {
              testId: 'import-line',
            }),
          )
        : el(
            'p',
            { class: 'muted' },
            `The issuer signs only with ${IMPORTABLE.join(', ')}; this key is for other software.`,
          ),
    );
  } catch (err) {
    out.replaceChildren(
      verdictBox('bad', `This browser could not generate the key: ${err.message || err.name}`),
    );
  }
}

// ---- Convert --------------------------------------------------------------------------------

async function convert(event) {
  event.preventDefault();
  const out = $('conv-out');
  const { ok, data } = await postJson('/_issuer/console/convert', { text: $('conv-input').value });
  if (!ok) return out.replaceChildren(verdictBox('bad', reason(data)));
  out.replaceChildren(
    ...data.keys.map((k, i) =>
      el(
        'div',
        { 'data-testid': 'converted' },
        el('h3', {}, `Key ${i + 1}: from a ${k.from}`),
        k.subject ? el('p', { class: 'muted' }, `Subject: ${k.subject}`) : null,
        codeBlock(k.publicJwk ? 'Private JWK' : 'JWK', pretty(k.jwk)),
        k.publicJwk ? codeBlock('Public JWK', pretty(k.publicJwk)) : null,
        k.privatePem ? codeBlock('PKCS#8 PEM', k.privatePem) : null,
        codeBlock('SPKI PEM', k.publicPem),
      ),
    ),
  );
}

// ---- Inspect --------------------------------------------------------------------------------

const MARK = { error: '✗ error', warning: '! warning', note: '· note' };
const finding = (f) =>
  el(
    'li',
    { 'data-code': f.code },
    el('span', { class: `sev-${f.severity}` }, MARK[f.severity]),
    ' ',
    el('code', {}, f.code),
    `: ${f.message}`,
  );

async function inspect(event) {
  event.preventDefault();
  const out = $('insp-out');
  const url = $('insp-url').value.trim();
  const { ok, data } = await postJson(
    '/_issuer/console/inspect',
    url ? { url } : { text: $('insp-input').value },
  );
  if (!ok) return out.replaceChildren(verdictBox('bad', reason(data)));
  const r = data.report;
  const title = {
    jwk: 'JWK',
    jwks: `JWK set with ${r.keys.length} key(s)`,
    pem: `PEM with ${r.keys.length} key(s)`,
  }[r.kind];
  out.replaceChildren(
    verdictBox(
      r.errors > 0 ? 'bad' : 'ok',
      el('strong', {}, title),
      `: ${r.errors} error(s), ${r.warnings} warning(s)`,
    ),
    // replaceChildren, unlike el(), would show a null child as the text "null".
    ...(r.findings.length
      ? [
          el(
            'div',
            {},
            el('h3', {}, 'The set'),
            el('ul', { 'data-testid': 'set-findings' }, r.findings.map(finding)),
          ),
        ]
      : []),
    ...r.keys.map((k) =>
      el(
        'div',
        { 'data-testid': 'key-report' },
        el(
          'h3',
          {},
          `[${k.index}] ${[k.kty, k.crv, k.bits ? `${k.bits} bits` : null].filter(Boolean).join(' ') || '(unknown key)'} — ${k.private ? 'PRIVATE' : 'public'}`,
        ),
        table('', [
          ['kid', k.kid ?? '(none)'],
          ['alg', k.alg ?? '(none)'],
          ['use', k.use ?? '(none)'],
          ['thumbprint', k.thumbprint ?? '(n/a)'],
        ]),
        k.findings.length
          ? el('ul', {}, k.findings.map(finding))
          : el('p', { class: 'muted' }, 'No problems.'),
      ),
    ),
  );
}

// ---- Decode and verify ----------------------------------------------------------------------

async function verify(event) {
  event.preventDefault();
  const out = $('jwt-out');
  const jwksUrl = $('jwt-jwks').value.trim();
  const audience = $('jwt-aud').value.trim();
  const { ok, data } = await postJson('/_issuer/console/verify', {
    token: $('jwt-input').value,
    ...(jwksUrl ? { jwksUrl } : {}),
    ...(audience ? { audience } : {}),
  });
  if (!ok) return out.replaceChildren(verdictBox('bad', reason(data)));
  out.replaceChildren(
    renderVerdict(data, {
      title: jwksUrl ? `Verified against ${jwksUrl}` : `Verified against ${issuer}/jwks`,
    }),
  );
}

$('gen-type').addEventListener('change', renderAlgs);
$('gen-use').addEventListener('change', renderAlgs);
$('gen-form').addEventListener('submit', generate);
$('conv-form').addEventListener('submit', convert);
$('insp-form').addEventListener('submit', inspect);
$('jwt-form').addEventListener('submit', verify);
renderAlgs();
document.body.dataset.ready = 'true';
