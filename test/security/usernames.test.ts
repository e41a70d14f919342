/**
 * One username rule wherever a username enters (src/config/username.ts): trimmed, not empty,
 * at most 256 characters, no control characters, line breaks or bidi overrides. The login form
 * and any-user answer a page with the reason; headless `login_hint` answers `invalid_request` on
 * the redirect — never a 5xx — and nothing oversized reaches Redis (checked on a real
 * redis-server). Configured users follow the same rule. The adapters' own write bound is in
 * the shared adapter suite (test/suites/adapter-suite.ts, "refuses to write an id…").
 */

import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import type { RunningIssuer } from '../../src/issuer.js';
import {
  authorizeWeb,
  Browser,
  callbackParams,
  type Page,
  subjectAfterLogin,
  submitLogin,
  WEB_CALLBACK,
} from '../support/flows.js';
import { startTestIssuer } from '../support/issuer.js';
import { startRedis, type TestRedis, uniqueNamespace } from '../support/redis.js';

let redis: TestRedis;
let issuer: RunningIssuer;
let url: string;

beforeAll(async () => {
  redis = await startRedis();
  issuer = await startTestIssuer({
    login: { userPicker: true, anyUser: true, headless: true },
    redis: { url: redis.url, namespace: uniqueNamespace('names') },
  });
  url = issuer.url;
});
afterAll(async () => {
  await issuer?.close();
  await redis?.stop();
});

const BAD: [string, string, RegExp][] = [
  ['empty', '', /username is required/],
  ['whitespace only', ' \t  ', /username is required/],
  ['257 characters', 'a'.repeat(257), /at most 256 characters/],
  ['10 000 characters', 'b'.repeat(10_000), /at most 256 characters/],
  ['a newline', 'eve\nadmin', /control characters or line breaks/],
  ['a carriage return', 'eve\rx', /control characters or line breaks/],
  ['a NUL', 'eve\u0000', /control characters or line breaks/],
  ['a line separator', 'eve\u2028x', /control characters or line breaks/],
  ['a bidi override', 'eve\u202egnp.exe', /control characters or line breaks/],
];

/** Posts the any-user form with `username`. */
async function anyUser(username: string): Promise<Page> {
  const browser = new Browser();
  const { page: login } = await authorizeWeb(url, browser);
  return submitLogin(browser, login, { username, password: '', claims: '' });
}

describe('login form and any-user', () => {
  it.each(BAD)('%s → 400, the login page says why', async (_label, username, reason) => {
    const page = await anyUser(username);
    expect(page.status, page.body.slice(0, 500)).toBe(400);
    expect(page.body).toContain('Sign in');
    expect(page.body).toMatch(reason);
  });

  it('surrounding spaces are trimmed: "  dave  " signs in as dave', async () => {
    const browser = new Browser();
    const { page: login, verifier } = await authorizeWeb(url, browser);
    const consent = await submitLogin(browser, login, { username: '  dave  ', password: '' });
    expect(await subjectAfterLogin(url, browser, consent, verifier)).toBe('dave');
  });

  it('the user picker applies the rule too', async () => {
    const browser = new Browser();
    const { page: login } = await authorizeWeb(url, browser);
    const page = await browser.submit(
      login,
      /\/login$/,
      { username: 'ali\nce', action: 'pick' },
      WEB_CALLBACK,
    );
    expect(page.status).toBe(400);
    expect(page.body).toMatch(/control characters or line breaks/);
  });
});

describe('headless login_hint', () => {
  it.each(BAD.filter(([, hint]) => hint !== ''))(
    '%s → invalid_request on the redirect, no code, no 5xx',
    async (_label, hint, reason) => {
      const { page } = await authorizeWeb(url, new Browser(), { login_hint: hint });
      const got = callbackParams(page);
      expect(got.get('code')).toBeNull();
      expect(got.get('error')).toBe('invalid_request');
      expect(got.get('error_description')).toMatch(reason);
    },
  );

  it('is trimmed like the form: "  erin  " signs in as erin', async () => {
    const browser = new Browser();
    const { page, verifier } = await authorizeWeb(url, browser, { login_hint: '  erin  ' });
    expect(await subjectAfterLogin(url, browser, page, verifier)).toBe('erin');
  });

  it('256 characters is still a username', async () => {
    const browser = new Browser();
    const name = 'c'.repeat(256);
    const { page, verifier } = await authorizeWeb(url, browser, { login_hint: name });
    expect(await subjectAfterLogin(url, browser, page, verifier)).toBe(name);
  });
});

describe('the store', () => {
  it('holds no key name built from an oversized username', async () => {
    const client = new Redis(redis.url);
    try {
      const keys = await client.keys('*');
      expect(keys.length).toBeGreaterThan(0);
      const longest = Math.max(...keys.map((k) => k.length));
      expect(longest).toBeLessThan(400);
    } finally {
      client.disconnect();
    }
  });
});

describe('configured users follow the rule', () => {
  it.each([
    [
      'a newline in a username',
      { username: 'x\ny', password: 'p' },
      /users\S*username: a username cannot contain control characters/,
    ],
    [
      'a username with surrounding spaces',
      { username: ' x ', password: 'p' },
      /users\S*username: must not start or end with spaces/,
    ],
    [
      'a 257-character sub',
      { username: 'x', sub: 's'.repeat(257), password: 'p' },
      /users\S*sub: a username is at most 256 characters/,
    ],
  ])('%s stops the start with a message naming the field', (_label, user, message) => {
    expect(() => validateConfig({ users: [user] })).toThrow(message);
  });
});
