/**
 * A client with `skipConsent` gets what it asks for without a consent interaction: the sign-in
 * goes authorize → login → resume → callback, and its grant holds the requested OpenID scopes,
 * claims and API scopes (provider/skip-consent.ts).
 */
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_API_AUDIENCE, demoConfig } from '../../src/config/demo.js';
import type { RunningIssuer } from '../../src/issuer.js';
import {
  authUrl,
  Browser,
  basic,
  callbackParams,
  pkcePair,
  redeem,
  WEB_CALLBACK,
  webAuthParams,
} from '../support/flows.js';
import { startTestIssuer } from '../support/issuer.js';

const APP = {
  id: 'first-party',
  secret: 'first-party-secret',
  redirectUris: [WEB_CALLBACK],
  scopes: ['openid', 'profile', 'email', 'api:read'],
  resources: [DEMO_API_AUDIENCE],
  skipConsent: true,
};

let issuer: RunningIssuer;

beforeAll(async () => {
  issuer = await startTestIssuer({
    login: { headless: true, userPicker: true, anyUser: false, confirmLogout: true },
    clients: [...(demoConfig().clients ?? []), APP],
  });
});
afterAll(async () => {
  await issuer?.close();
});

/** A browser that notes the path of every request it sends. */
function recordingBrowser(): { browser: Browser; paths: string[] } {
  const paths: string[] = [];
  const browser = new Browser((input, init) => {
    paths.push(new URL(String(input)).pathname);
    return fetch(input, init);
  });
  return { browser, paths };
}

async function signIn(browser: Browser, scope: string) {
  const { verifier, challenge } = pkcePair();
  const params = webAuthParams(challenge, {
    client_id: APP.id,
    scope,
    resource: DEMO_API_AUDIENCE,
    login_hint: 'alice',
  });
  const callback = await browser.follow(authUrl(issuer.url, params), {}, WEB_CALLBACK);
  const code = callbackParams(callback).get('code') ?? '';
  const tokens = await redeem(issuer.url, code, verifier, WEB_CALLBACK, basic(APP.id, APP.secret));
  expect(tokens.status, JSON.stringify(tokens.body)).toBe(200);
  return {
    id: decodeJwt(String(tokens.body.id_token)),
    access: decodeJwt(String(tokens.body.access_token)),
  };
}

describe('a client that skips consent', () => {
  it('signs in without a consent interaction and gets the scopes, claims and API scopes it asked for', async () => {
    const { browser, paths } = recordingBrowser();
    const first = await signIn(browser, 'openid email api:read');
    expect(paths.filter((p) => p.startsWith('/interaction/'))).toHaveLength(1);
    expect(paths.filter((p) => p.startsWith('/auth'))).toHaveLength(2);
    expect(first.id).toMatchObject({ sub: 'alice', email: expect.any(String) });
    expect(first.id.name).toBeUndefined();
    expect(first.access).toMatchObject({ aud: DEMO_API_AUDIENCE, scope: 'api:read' });

    // Signed in already: a request for more is granted at once, with no interaction at all.
    paths.length = 0;
    const more = await signIn(browser, 'openid email profile api:read');
    expect(paths.filter((p) => p.startsWith('/interaction/'))).toEqual([]);
    expect(more.id).toMatchObject({ sub: 'alice', name: expect.any(String) });
  });

  it('a client that asks for consent still meets the consent step', async () => {
    const { browser, paths } = recordingBrowser();
    const { challenge } = pkcePair();
    const params = webAuthParams(challenge, { login_hint: 'alice' });
    const callback = await browser.follow(authUrl(issuer.url, params), {}, WEB_CALLBACK);
    expect(callbackParams(callback).get('code')).toBeTruthy();
    // login, then consent (granted by the headless login): two interactions.
    expect(paths.filter((p) => p.startsWith('/interaction/'))).toHaveLength(2);
  });
});
