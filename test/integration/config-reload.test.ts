import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, basic, rpClient, rpSignIn, WEB_CALLBACK } from '../support/flows.js';
import { type IssuerProcess, spawnIssuer, waitFor } from '../support/issuer.js';

const dir = mkdtempSync(join(tmpdir(), 'oidc-issuer-reload-'));
const file = join(dir, 'issuer.yaml');

/** Writes the config as an editor does: a new file renamed over the old one. */
function writeConfig(users: string[], clients: string[], extra = ''): void {
  const all: Record<string, string> = {
    web: `{ id: web, secret: web-secret, redirectUris: ["${WEB_CALLBACK}"], skipConsent: true }`,
    svc: '{ id: svc, secret: svc-secret, grantTypes: [client_credentials], scopes: [read], resources: ["http://localhost:4000/api"] }',
  };
  const text = [
    `keys: { dir: ${JSON.stringify(join(dir, 'keys'))} }`,
    'resourceServers: [{ audience: "http://localhost:4000/api", scopes: [read] }]',
    `users: [${users.map((u) => `{ username: ${u}, password: ${u} }`).join(', ')}]`,
    `clients: [${clients.map((c) => all[c]).join(', ')}]`,
    extra,
  ].join('\n');
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

let server: IssuerProcess;
beforeAll(async () => {
  writeConfig(['alice'], ['web', 'svc']);
  server = await spawnIssuer({ OIDC_CONFIG: file });
});
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const signIn = async (username: string) =>
  rpSignIn(await rpClient(server.url, 'web', 'web-secret'), new Browser(), { username });
const serviceToken = () =>
  fetch(`${server.url}/token`, {
    method: 'POST',
    headers: {
      authorization: basic('svc', 'svc-secret'),
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'client_credentials' }),
  });
const logged = (text: string) => server.output().includes(text);

describe('the running issuer follows its config file', () => {
  let refreshToken: string | undefined;

  it('applies a valid change within a second: a new user signs in, a removed client is invalid_client', async () => {
    const before = await signIn('alice');
    refreshToken = before.refresh_token;
    expect(refreshToken).toBeDefined();
    expect((await serviceToken()).status).toBe(200);
    await expect(signIn('carol')).rejects.toThrow();

    const edited = Date.now();
    writeConfig(['alice', 'carol'], ['web']);
    await waitFor(async () => logged('config reloaded'), 5000, 'the reload in the log');
    const applied = Date.now() - edited;
    // The file watch, a 100 ms debounce, validation and a provider rebuild.
    expect(applied).toBeLessThan(1500);

    const carol = await signIn('carol');
    expect(carol.claims()?.sub).toBe('carol');
    const removed = await serviceToken();
    expect(removed.status).toBe(401);
    expect(((await removed.json()) as { error: string }).error).toBe('invalid_client');
  });

  it('keeps grants across the reload: a refresh token issued before it still works', async () => {
    const res = await fetch(`${server.url}/token`, {
      method: 'POST',
      headers: {
        authorization: basic('web', 'web-secret'),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken! }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
  });

  it('refuses a change with a typo, logging every problem, and keeps the config in force', async () => {
    writeConfig(['alice', 'carol'], ['web'], 'userz: []\nttl: { accessToken: soon }');
    await waitFor(async () => logged('config change not applied'), 5000, 'the refusal in the log');
    expect(server.output()).toContain('userz: unknown setting');
    expect(server.output()).toContain('ttl.accessToken');
    expect((await signIn('carol')).claims()?.sub).toBe('carol');
    expect((await serviceToken()).status).toBe(401);
  });

  it('reports a store or state change as needing a restart, and ignores it', async () => {
    // (PORT and ISSUER come from the environment here, which wins over the file.)
    writeConfig(['alice', 'carol', 'dave'], ['web'], 'redis: { namespace: elsewhere }');
    await waitFor(
      async () => logged('config change needs a restart to take effect: redis.namespace'),
      5000,
      'the restart notice',
    );
    await waitFor(async () => (await fetch(`${server.url}/healthz`)).ok, 2000, 'same port');
    const discovery = (await (
      await fetch(`${server.url}/.well-known/openid-configuration`)
    ).json()) as { issuer: string };
    expect(discovery.issuer).toBe(server.url);
    // The rest of that change is applied.
    await waitFor(
      async () => (await signIn('dave').catch(() => undefined)) !== undefined,
      3000,
      'dave signs in',
    );
  });
});
