/**
 * Password-less login paths — the user picker, "any user", headless `login_hint` — are opt-in
 * outside the demo: a user-written config lists its users on the login page only with
 * `login.userPicker: true` (the demo config sets it). Whenever such a path is served on an
 * address other machines can reach, in any config, the start says so at warn level and in the
 * banner. (The non-loopback cases are checked on the config and the real logger; the tests
 * bind nothing but loopback.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { banner } from '../../src/cli/start.js';
import { demoConfig } from '../../src/config/demo.js';
import { parseConfig, validateConfig } from '../../src/config/load.js';
import type { RawConfig } from '../../src/config/schema.js';
import {
  passwordlessExposure,
  warnAboutPasswordlessExposure,
} from '../../src/http/passwordless-logins.js';
import type { RunningIssuer } from '../../src/issuer.js';
import { createLogger } from '../../src/log.js';
import { authorizeWeb, Browser, WEB_CALLBACK } from '../support/flows.js';
import { spawnIssuer, startTestIssuer } from '../support/issuer.js';

const USERS = [{ username: 'carol', password: 'carol-password', claims: { roles: ['admin'] } }];
const WEB_CLIENT = {
  id: 'demo-web',
  secret: 'demo-web-secret',
  redirectUris: [WEB_CALLBACK],
  scopes: ['openid', 'profile'],
};

async function loginPage(issuer: RunningIssuer, browser: Browser) {
  const { page } = await authorizeWeb(issuer.url, browser);
  expect(page.status, page.body).toBe(200);
  return page;
}

describe('the user picker is off in a user-written config', () => {
  let own: RunningIssuer;
  beforeAll(async () => {
    own = await startTestIssuer({ users: USERS, clients: [WEB_CLIENT] }, false);
  });
  afterAll(async () => {
    await own?.close();
  });

  it('lists no user, and a forged pick signs nobody in', async () => {
    expect(own.config.login.userPicker).toBe(false);
    const browser = new Browser();
    const login = await loginPage(own, browser);
    expect(login.body).not.toContain('Continue as');
    expect(login.body).not.toContain('carol');
    const forged = await browser.submit(
      login,
      /\/login$/,
      { username: 'carol', action: 'pick' },
      WEB_CALLBACK,
    );
    expect(forged.status).toBe(401);
    expect(forged.body).toContain('Unknown username or wrong password.');
  });

  it('the home page lists no user either', async () => {
    const home = await (await fetch(`${own.url}/`)).text();
    expect(home).not.toContain('carol');
  });
});

describe('the demo config turns the picker on itself', () => {
  let demo: RunningIssuer;
  beforeAll(async () => {
    demo = await startTestIssuer();
  });
  afterAll(async () => {
    await demo?.close();
  });

  it('a config file with extends: demo inherits it; one without does not', () => {
    const users = 'users: [{ username: carol, password: carol-password }]';
    const extended = parseConfig({ text: `extends: demo\n${users}\n`, path: 'x.yaml', env: {} });
    expect(extended.login.userPicker).toBe(true);
    const own = parseConfig({ text: `${users}\n`, path: 'x.yaml', env: {} });
    expect(own.login.userPicker).toBe(false);
  });

  it('is set in the demo config object, and the login page lists alice and bob', async () => {
    expect(demoConfig().login?.userPicker).toBe(true);
    const login = await loginPage(demo, new Browser());
    expect(login.body).toContain('Continue as <strong>alice</strong>');
    expect(login.body).toContain('Continue as <strong>bob</strong>');
  });
});

describe('password-less sign-in on a non-loopback address is warned about, in any config', () => {
  const config = (raw: Partial<RawConfig>, demo = false) =>
    validateConfig({ ...(demo ? demoConfig() : {}), ...raw }, { demo });

  it.each([
    [
      'a user config with the picker',
      { host: '0.0.0.0', users: USERS, login: { userPicker: true } },
      /login\.userPicker/,
    ],
    ['any user', { host: '::', login: { anyUser: true } }, /login\.anyUser/],
    [
      'headless with users',
      { host: '192.0.2.10', users: USERS, login: { headless: true } },
      /login\.headless/,
    ],
  ] as const)('%s → a warning naming the setting', (_label, raw, setting) => {
    const warning = passwordlessExposure(config(raw));
    expect(warning).toMatch(/PASSWORD-LESS SIGN-IN IS SERVED ON A NON-LOOPBACK ADDRESS/);
    expect(warning).toMatch(setting);
    expect(warning).toContain(raw.host);
  });

  it('the demo config on 0.0.0.0 → a warning naming the picker and any user', () => {
    const warning = passwordlessExposure(config({ host: '0.0.0.0' }, true));
    expect(warning).toMatch(/login\.userPicker, login\.anyUser/);
  });

  it.each([
    [
      'loopback 127.0.0.1',
      { host: '127.0.0.1', users: USERS, login: { userPicker: true, anyUser: true } },
    ],
    ['loopback ::1', { host: '::1', login: { anyUser: true } }],
    ['localhost', { host: 'localhost', login: { anyUser: true } }],
    ['passwords only (the default)', { host: '0.0.0.0', users: USERS }],
    ['a picker with no users to pick', { host: '0.0.0.0', login: { userPicker: true } }],
  ] as const)('%s → no warning', (_label, raw) => {
    expect(passwordlessExposure(config(raw))).toBeUndefined();
  });

  it('is a warn-level log line', () => {
    const lines: string[] = [];
    const logger = createLogger('info', {
      write: (line: string) => {
        lines.push(line);
        return true;
      },
    } as unknown as NodeJS.WritableStream);
    warnAboutPasswordlessExposure(config({ host: '0.0.0.0', login: { anyUser: true } }), logger);
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(entry.level).toBe(40);
    expect(entry.msg).toMatch(/PASSWORD-LESS SIGN-IN/);
    expect(entry.paths).toEqual(['login.anyUser']);
  });

  it('is in the start banner', () => {
    const text = banner(
      config({ host: '0.0.0.0', users: USERS, login: { headless: true } }),
      3000,
      'memory',
    );
    expect(text).toMatch(
      /WARNING {2}PASSWORD-LESS SIGN-IN IS SERVED ON A NON-LOOPBACK ADDRESS \(0\.0\.0\.0\)/,
    );
  });

  it('a real start on loopback prints the banner without the warning', async () => {
    const running = await spawnIssuer({ LOG_LEVEL: 'info' });
    await running.stop();
    expect(running.output()).toContain('oidc-issuer listening on 127.0.0.1');
    expect(running.output()).not.toContain('PASSWORD-LESS');
  });
});
