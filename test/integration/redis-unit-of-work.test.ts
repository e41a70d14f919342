/**
 * Each request is one unit of work with Redis (store/request-scope.ts), checked on a real
 * redis-server with MONITOR: a whole authorization-code flow costs at most 8 round trips for a
 * client that skips consent and 12 with the consent step (it cost 26 with one command per
 * adapter call), and a write Redis refuses at the end of a request answers 503 with nothing of
 * the request written, after which the same step succeeds.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoConfig } from '../../src/config/demo.js';
import type { RunningIssuer } from '../../src/issuer.js';
import { keyNames } from '../../src/store/keys.js';
import {
  authUrl,
  Browser,
  basic,
  callbackParams,
  type Page,
  pkcePair,
  redeem,
  submitPassword,
  WEB_CALLBACK,
  webAuthParams,
} from '../support/flows.js';
import { startTestIssuer } from '../support/issuer.js';
import { startRedis, type TestRedis, uniqueNamespace } from '../support/redis.js';

const FIRST_PARTY = {
  id: 'first-party',
  secret: 'first-party-secret',
  redirectUris: [WEB_CALLBACK],
  scopes: ['openid', 'profile', 'email'],
  skipConsent: true,
};

let redis: TestRedis;
let raw: Redis;
let issuer: RunningIssuer;
const namespace = uniqueNamespace('unit');
const names = keyNames(namespace);

beforeAll(async () => {
  redis = await startRedis();
  raw = new Redis(redis.port, redis.host);
  issuer = await startTestIssuer({
    redis: { url: redis.url, namespace },
    login: { headless: true, userPicker: true, anyUser: false, confirmLogout: true },
    clients: [...(demoConfig().clients ?? []), FIRST_PARTY],
  });
}, 30_000);
afterAll(async () => {
  await issuer?.close();
  raw?.disconnect();
  await redis?.stop();
});

interface Sent {
  command: string;
  args: string[];
}

/** Every command the issuer sends while `work` runs, as MONITOR on the server reports it. */
async function commandsDuring(work: () => Promise<void>): Promise<Sent[]> {
  const monitor = await raw.monitor();
  const seen: Sent[] = [];
  const marks = new Set<string>();
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    const [command = '', ...rest] = args.map(String);
    if (command.toLowerCase() === 'echo') marks.add(rest[0] ?? '');
    // Commands a script runs are no round trips of their own.
    else if (source !== 'lua') seen.push({ command: command.toLowerCase(), args: rest });
  });
  // MONITOR starts asynchronously: an ECHO it reports marks where its report is complete.
  const mark = async () => {
    const m = `mark-${Math.random()}`;
    for (let i = 0; i < 200 && !marks.has(m); i += 1) {
      await raw.echo(m);
      await new Promise((r) => setTimeout(r, 5));
    }
    if (!marks.has(m)) throw new Error('MONITOR reported no marker');
  };
  await mark();
  seen.length = 0;
  await work();
  await mark();
  monitor.disconnect();
  // The key ring's periodic re-read is no part of a flow.
  return seen.filter((c) => c.command !== 'ping' && !c.args.some((a) => a === names.keyRing));
}

/**
 * authorize → login (headless) → [consent interaction, granted] → callback → token, as demo-web
 * (which asks for consent) or as a client that skips it.
 */
async function headlessFlow(client: 'demo-web' | 'first-party'): Promise<void> {
  const browser = new Browser();
  const { verifier, challenge } = pkcePair();
  const params = webAuthParams(challenge, { login_hint: 'alice', client_id: client });
  const callback = await browser.follow(authUrl(issuer.url, params), {}, WEB_CALLBACK);
  const code = callbackParams(callback).get('code') ?? '';
  const auth = client === 'demo-web' ? undefined : basic(FIRST_PARTY.id, FIRST_PARTY.secret);
  const tokens = await redeem(issuer.url, code, verifier, WEB_CALLBACK, auth);
  expect(tokens.status, JSON.stringify(tokens.body)).toBe(200);
}

const outOfMemory = (on: boolean) => raw.config('SET', 'maxmemory', on ? '1' : '0');

/** The record's stored JSON, or null. */
const stored = (model: string, id: string) => raw.get(names.model(model, id));

const uidOf = (page: Page) => /\/interaction\/([^/?#"]+)/.exec(page.url)?.[1] ?? '';

describe('a request is one unit of work with Redis', () => {
  it.each([
    ['first-party', 8],
    ['demo-web', 12],
  ] as const)(
    'a whole code flow as %s takes at most %i round trips, each a script call',
    async (client, most) => {
      await headlessFlow(client); // scripts loaded, keys in place
      const flows = 3;
      const sent = await commandsDuring(async () => {
        for (let i = 0; i < flows; i += 1) await headlessFlow(client);
      });
      const byCommand = JSON.stringify(sent.map((c) => c.command));
      expect(sent.length / flows, byCommand).toBeLessThanOrEqual(most);
      expect(new Set(sent.map((c) => c.command)), byCommand).toEqual(new Set(['evalsha']));
    },
  );

  it('a write Redis refuses at the end of an interaction page answers 503 and writes nothing; the same step then succeeds', async () => {
    const browser = new Browser();
    const { challenge } = pkcePair();
    const login = await browser.follow(
      authUrl(issuer.url, webAuthParams(challenge)),
      {},
      WEB_CALLBACK,
    );
    expect(login.status).toBe(200);
    const uid = uidOf(login);
    const before = await stored('Interaction', uid);
    expect(before).not.toBeNull();

    await outOfMemory(true);
    let refused: Page;
    try {
      refused = await submitPassword(browser, login, 'alice');
    } finally {
      await outOfMemory(false);
    }
    expect(refused.status).toBe(503);
    expect(refused.headers.get('content-type')).toContain('text/html');
    expect(refused.body).toContain('Temporarily unavailable');
    expect(refused.headers.get('location')).toBeNull();
    expect(await stored('Interaction', uid)).toBe(before);

    const consent = await submitPassword(browser, login, 'alice');
    expect(consent.status).toBe(200);
    expect(consent.body).toContain('Allow access');
  });

  it("a write Redis refuses at the end of oidc-provider's resume answers 503 with no cookie and writes nothing; the same request then succeeds", async () => {
    const browser = new Browser();
    const { challenge } = pkcePair();
    const login = await browser.follow(
      authUrl(issuer.url, webAuthParams(challenge)),
      {},
      WEB_CALLBACK,
    );
    const uid = uidOf(login);
    // Stopped before the resume: the login's result is stored, the resume comes next.
    const posted = await browser.submit(
      login,
      /\/login$/,
      { username: 'alice', password: 'alice' },
      `${issuer.url}/auth/`,
      -1,
    );
    expect(posted.status).toBe(0);
    const resume = posted.url;
    const interaction = await stored('Interaction', uid);
    expect(interaction).toContain('"result"');
    const sessionsBefore = await raw.keys(`${names.modelPrefix('Session')}*`);

    await outOfMemory(true);
    let refused: Page;
    try {
      refused = await browser.request(resume);
    } finally {
      await outOfMemory(false);
    }
    expect(refused.status).toBe(503);
    expect(refused.headers.getSetCookie()).toEqual([]);
    expect(refused.headers.get('location')).toBeNull();
    // The resume would destroy the interaction and store a session and a new interaction.
    expect(await stored('Interaction', uid)).toBe(interaction);
    expect(await raw.keys(`${names.modelPrefix('Session')}*`)).toEqual(sessionsBefore);

    const consent = await browser.follow(resume, {}, WEB_CALLBACK);
    expect(consent.status).toBe(200);
    expect(consent.body).toContain('Allow access');
    const done = await browser.submit(consent, /\/confirm$/, {}, WEB_CALLBACK);
    expect(callbackParams(done).get('code')).toBeTruthy();
  });
});
