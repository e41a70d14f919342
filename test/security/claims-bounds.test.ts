/**
 * Claims and headers that go into a token are bounded in one place (src/tools/claims-bounds.ts):
 * at most 16 levels of nesting and 8 KiB of JSON. `POST /admin/tokens` answers 400
 * `invalid_request` naming the field (a deep object was a 500, a stack overflow in the JWT
 * builder), `oidc-issuer token mint --claims` exits 2 with the same message, and the any-user
 * form's claims get the login page with the reason.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningIssuer } from '../../src/issuer.js';
import { runCli } from '../integration/cli-run.js';
import { authorizeWeb, Browser, submitLogin } from '../support/flows.js';
import { startTestIssuer } from '../support/issuer.js';

const ADMIN = 'admin-token-for-claims-bounds';
let issuer: RunningIssuer;
let dir: string;

beforeAll(async () => {
  issuer = await startTestIssuer({ admin: { token: ADMIN } });
  dir = mkdtempSync(join(tmpdir(), 'oidc-issuer-claims-'));
});
afterAll(async () => {
  await issuer?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** `{"a":{"a":…1…}}` with `levels` objects. */
const nested = (levels: number): unknown => {
  let value: unknown = 1;
  for (let i = 0; i < levels; i += 1) value = { a: value };
  return value;
};
/** The same depth as text, for depths JSON.stringify itself could not build. */
const deepArrayText = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;

async function mint(body: string) {
  const res = await fetch(`${issuer.url}/admin/tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body,
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('POST /admin/tokens', () => {
  it('claims nested 30 000 deep (60 KB, inside the body limit) → 400 naming claims', async () => {
    const res = await mint(`{"sub":"alice","claims":{"deep":${deepArrayText(30_000)}}}`);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: 'invalid_request' });
    expect(String(res.body.error_description)).toMatch(/claims: nested deeper than 16 levels/);
  });

  it('a header nested deep → 400 naming header', async () => {
    const res = await mint(`{"sub":"alice","header":{"x":${deepArrayText(5_000)}}}`);
    expect(res.status).toBe(400);
    expect(String(res.body.error_description)).toMatch(/header: nested deeper than 16 levels/);
  });

  it('17 levels → 400; 16 levels → 201', async () => {
    const tooDeep = await mint(JSON.stringify({ sub: 'alice', claims: nested(17) }));
    expect(tooDeep.status).toBe(400);
    const ok = await mint(JSON.stringify({ sub: 'alice', claims: nested(16) }));
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
  });

  it('claims over 8 KiB of JSON → 400 naming the size', async () => {
    const res = await mint(JSON.stringify({ sub: 'alice', claims: { blob: 'x'.repeat(9000) } }));
    expect(res.status).toBe(400);
    expect(String(res.body.error_description)).toMatch(/claims: larger than 8192 bytes of JSON/);
  });

  it('the issuer is still fine afterwards', async () => {
    const ok = await mint(JSON.stringify({ sub: 'alice', claims: { roles: ['admin'] } }));
    expect(ok.status).toBe(201);
  });
});

describe('oidc-issuer token mint --claims', () => {
  it('deep claims from a file → exit 2 with the same message, no stack trace', async () => {
    const file = join(dir, 'deep.json');
    writeFileSync(file, `{"deep":${deepArrayText(30_000)}}`);
    const res = await runCli(['token', 'mint', '--sub', 'alice', '--claims', `@${file}`], {
      cwd: dir,
    });
    expect(res.code, res.stderr).toBe(2);
    expect(res.stderr).toMatch(/claims: nested deeper than 16 levels/);
    expect(res.stderr).not.toMatch(/RangeError|at .*\.js:\d+/);
  });
});

describe('any-user claims typed on the login page', () => {
  it('nested too deep → the login page with the reason', async () => {
    const browser = new Browser();
    const { page: login } = await authorizeWeb(issuer.url, browser);
    const page = await submitLogin(browser, login, {
      username: 'deep-dora',
      password: '',
      claims: JSON.stringify(nested(40)),
    });
    expect(page.status).toBe(400);
    expect(page.body).toContain('Sign in');
    expect(page.body).toMatch(/nested deeper than 16 levels/);
  });
});
