/**
 * Any-user mode: a dynamic account never shares a subject with a configured user (its username
 * or its `sub`) or with a client id. A colliding name is refused — on the login page with a
 * message, for headless `login_hint` with `access_denied` on the redirect — so no password-less
 * login can borrow a configured user's claims, and no user token can pass for a client's
 * client_credentials token (RFC 9068 §5). Names that collide with nothing keep their readable
 * `sub`: the typed name itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoConfig } from '../../src/config/demo.js';
import { validateConfig } from '../../src/config/load.js';
import type { RunningIssuer } from '../../src/issuer.js';
import {
  authorizeWeb,
  Browser,
  callbackParams,
  type Page,
  promptNone,
  subjectAfterLogin,
  submitLogin,
} from '../support/flows.js';
import { startTestIssuer } from '../support/issuer.js';

let issuer: RunningIssuer;
let url: string;

/** A configured user whose `sub` is not its username, holding a claim worth stealing. */
const CAROL = { username: 'carol', sub: 'u-1001', password: 'carol-password' };

beforeAll(async () => {
  issuer = await startTestIssuer({
    login: { userPicker: true, anyUser: true, headless: true },
    users: [
      ...(demoConfig().users ?? []),
      { ...CAROL, claims: { name: 'Carol', roles: ['admin'] } },
    ],
  });
  url = issuer.url;
});
afterAll(async () => {
  await issuer?.close();
});

/** Opens the login page of a fresh demo-web authorization request. */
async function loginPage(browser: Browser): Promise<Page> {
  const { page } = await authorizeWeb(url, browser);
  expect(page.status, page.body).toBe(200);
  expect(page.body).toContain('Sign in');
  return page;
}

/** Posts the any-user form with a password that matches nobody. */
function anyUserLogin(browser: Browser, login: Page, username: string): Promise<Page> {
  return submitLogin(browser, login, { username, password: 'not-the-password', claims: '' });
}

/** The refused page: the form again, with the reason, and no session behind it. */
async function expectRefused(browser: Browser, page: Page, name: string) {
  expect(page.status, page.body).toBe(400);
  expect(page.headers.get('location')).toBeNull();
  expect(page.body).toContain('Sign in');
  expect(page.body).toMatch(/is taken by a configured user or client/);
  expect(page.body).toContain(name);
  expect((await promptNone(url, browser)).get('error')).toBe('login_required');
}

describe('the any-user form refuses names that collide with a configured subject', () => {
  it.each([
    ['a configured user’s sub', CAROL.sub],
    ['a client id', 'demo-service'],
    ['another client id', 'demo-web'],
    ['a configured sub in other case', 'U-1001'],
    ['a configured username in other case', 'Alice'],
  ])('%s (%s) → the login page with a message, nobody signed in', async (_label, name) => {
    const browser = new Browser();
    const page = await anyUserLogin(browser, await loginPage(browser), name);
    await expectRefused(browser, page, name);
  });

  it('a configured username with a wrong password is still just a wrong password', async () => {
    const browser = new Browser();
    const page = await anyUserLogin(browser, await loginPage(browser), CAROL.username);
    expect(page.status).toBe(401);
    // Any-user mode accepts unknown names, so the message names the part that was wrong.
    expect(page.body).toContain(`Wrong password for ${CAROL.username}, a configured test user.`);
  });

  it('a free name signs in with the typed name as sub (readable tokens)', async () => {
    const browser = new Browser();
    const { page: login, verifier } = await authorizeWeb(url, browser);
    const consent = await anyUserLogin(browser, login, 'dave');
    expect(await subjectAfterLogin(url, browser, consent, verifier)).toBe('dave');
  });

  it('carol herself still signs in with her password, as her sub', async () => {
    const browser = new Browser();
    const { page: login, verifier } = await authorizeWeb(url, browser);
    const consent = await submitLogin(browser, login, {
      username: CAROL.username,
      password: CAROL.password,
    });
    expect(await subjectAfterLogin(url, browser, consent, verifier)).toBe(CAROL.sub);
  });
});

describe('headless login_hint refuses the same names with an OAuth error', () => {
  it.each([
    ['a configured user’s sub', CAROL.sub],
    ['a client id', 'demo-service'],
  ])('%s (%s) → access_denied on the redirect, no code', async (_label, hint) => {
    const { page } = await authorizeWeb(url, new Browser(), { login_hint: hint });
    const got = callbackParams(page);
    expect(got.get('code')).toBeNull();
    expect(got.get('error')).toBe('access_denied');
    expect(got.get('error_description')).toMatch(/is taken by a configured user or client/);
  });

  it('a free name signs in headlessly with the hint as sub', async () => {
    const browser = new Browser();
    const { page, verifier } = await authorizeWeb(url, browser, { login_hint: 'erin' });
    expect(await subjectAfterLogin(url, browser, page, verifier)).toBe('erin');
  });
});

describe('configured subjects are distinct from client ids too', () => {
  it('a user whose sub is a client id stops the start with a message naming the field', () => {
    expect(() =>
      validateConfig({
        users: [{ username: 'svc-user', sub: 'svc', password: 'x' }],
        clients: [{ id: 'svc', secret: 'svc-secret', grantTypes: ['client_credentials'] }],
      }),
    ).toThrow(/users\.0\.sub: "svc" is also a client id/);
  });
});
