/**
 * The opt-in password grant (`grantTypes: [password]`), for test automation without a browser:
 * a configured user's username and password get the tokens a login gets (a JWT access token for
 * the client's API, an ID token, a refresh token), through openid-client's generic grant call,
 * verified with jose against the JWKS. Wrong passwords, "any user" names, other clients, wider
 * scopes are refused; config refuses it without users and with demo credentials on a
 * non-loopback address; the banner carries RFC 9700's warning.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { banner } from '../../src/cli/start.js';
import { DEMO_API_AUDIENCE, demoConfig } from '../../src/config/demo.js';
import { validateConfig } from '../../src/config/load.js';
import type { RawConfig } from '../../src/config/schema.js';
import type { RunningIssuer } from '../../src/issuer.js';
import { problemsOf } from '../support/config.js';
import { basic, rpClient, tokenRequest } from '../support/flows.js';
import { startTestIssuer } from '../support/issuer.js';
import { runCli } from './cli-run.js';

type RawClient = NonNullable<RawConfig['clients']>[number];

const CI: RawClient = {
  id: 'ci-runner',
  secret: 'ci-runner-secret',
  grantTypes: ['password', 'refresh_token'],
  scopes: ['openid', 'profile', 'email', 'offline_access', 'api:read'],
  resources: [DEMO_API_AUDIENCE],
};

let issuer: RunningIssuer;
let jwks: ReturnType<typeof createRemoteJWKSet>;

beforeAll(async () => {
  const demo = demoConfig();
  // The demo config (its users, and "any user" on) plus a client with the password grant.
  issuer = await startTestIssuer({ clients: [...(demo.clients ?? []), CI] });
  jwks = createRemoteJWKSet(new URL(`${issuer.url}/jwks`));
});
afterAll(async () => {
  await issuer?.close();
});

async function passwordGrant(
  parameters: Record<string, string>,
  clientId = CI.id,
  secret = CI.secret,
): Promise<{ tokens?: oidc.TokenEndpointResponse; error?: string; description?: string }> {
  const rp = await rpClient(issuer.url, clientId, secret);
  try {
    return { tokens: await oidc.genericGrantRequest(rp, 'password', parameters) };
  } catch (err) {
    if (err instanceof oidc.ResponseBodyError)
      return {
        error: err.error,
        ...(err.error_description ? { description: err.error_description } : {}),
      };
    throw err;
  }
}

describe('the password grant', () => {
  it('is advertised in discovery when a client has it', async () => {
    const metadata = (await (
      await fetch(`${issuer.url}/.well-known/openid-configuration`)
    ).json()) as { grant_types_supported: string[] };
    expect(metadata.grant_types_supported).toContain('password');
  });

  it("gives a configured user's username and password the tokens a login gets", async () => {
    const { tokens, error, description } = await passwordGrant({
      username: 'alice',
      password: 'alice',
      scope: 'openid profile api:read',
    });
    expect(error, description).toBeUndefined();
    const access = await jwtVerify(tokens!.access_token, jwks, {
      issuer: issuer.url,
      audience: DEMO_API_AUDIENCE,
      typ: 'at+jwt',
    });
    expect(access.payload).toMatchObject({ sub: 'alice', client_id: CI.id, scope: 'api:read' });
    const id = await jwtVerify(String(tokens!.id_token), jwks, {
      issuer: issuer.url,
      audience: CI.id,
    });
    expect(id.payload).toMatchObject({ sub: 'alice', name: 'Alice Example' });
    expect(id.payload.email).toBeUndefined();

    // The access token works at userinfo, as after a login.
    const me = await fetch(`${issuer.url}/me`, {
      headers: { authorization: `Bearer ${tokens!.access_token}` },
    });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ sub: 'alice', name: 'Alice Example' });

    // The refresh token works.
    const rp = await rpClient(issuer.url, CI.id, CI.secret);
    const refreshed = await oidc.refreshTokenGrant(rp, String(tokens!.refresh_token));
    const again = await jwtVerify(refreshed.access_token, jwks, {
      issuer: issuer.url,
      audience: DEMO_API_AUDIENCE,
    });
    expect(again.payload.sub).toBe('alice');
  });

  it('refuses a wrong password, an unknown user and an "any user" name: invalid_grant', async () => {
    for (const [username, password] of [
      ['alice', 'wrong'],
      ['alice', 'ALICE'],
      ['nobody', 'nobody'],
      // login.anyUser is on in the demo: such a name signs in on the page, never here.
      ['zed', 'zed'],
    ] as const) {
      const got = await passwordGrant({ username, password });
      expect(got.error, `${username}/${password}`).toBe('invalid_grant');
      expect(got.description).toBe('wrong username or password');
    }
  });

  it('refuses scopes the client may not ask for, other targets, missing fields', async () => {
    expect(
      (await passwordGrant({ username: 'alice', password: 'alice', scope: 'openid api:write' }))
        .error,
    ).toBe('invalid_scope');
    expect(
      (
        await passwordGrant({
          username: 'alice',
          password: 'alice',
          resource: 'https://elsewhere.test',
        })
      ).error,
    ).toBe('invalid_target');
    const missing = await tokenRequest(
      issuer.url,
      { grant_type: 'password', username: 'alice' },
      basic(CI.id, String(CI.secret)),
    );
    expect(missing.body.error).toBe('invalid_request');
  });

  it('refuses a client without the grant: unauthorized_client', async () => {
    const got = await passwordGrant(
      { username: 'alice', password: 'alice' },
      'demo-web',
      'demo-web-secret',
    );
    expect(got.error).toBe('unauthorized_client');
  });

  it('is not supported by an issuer where no client has it', async () => {
    const plain = await startTestIssuer();
    try {
      const answer = await tokenRequest(
        plain.url,
        { grant_type: 'password', username: 'alice', password: 'alice' },
        basic('demo-web', 'demo-web-secret'),
      );
      expect(answer.body.error).toBe('unsupported_grant_type');
    } finally {
      await plain.close();
    }
  });
});

describe('password grant config', () => {
  it('says RFC 9700 forbids it, in the banner', () => {
    const config = validateConfig({ ...demoConfig(), clients: [CI] }, { demo: true });
    const text = banner(config, 3000, 'memory').replace(/\s+/g, ' ');
    expect(text).toContain('THE PASSWORD GRANT IS ON for ci-runner');
    expect(text).toContain('RFC 9700');
  });

  it('needs configured users', () => {
    expect(problemsOf({ clients: [{ ...CI, resources: [], scopes: ['openid'] }] })).toEqual([
      'clients[0].grantTypes: the password grant signs in configured users only, and users is empty (login.anyUser names never get it)',
    ]);
  });

  it('is refused at start while demo credentials are served on a non-loopback address', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'password-grant-'));
    const file = join(dir, 'issuer.yaml');
    writeFileSync(
      file,
      [
        'extends: demo',
        'clients:',
        '  - id: ci-runner',
        '    secret: ci-runner-secret',
        '    grantTypes: [password]',
        '    scopes: [openid]',
      ].join('\n'),
    );
    const run = await runCli(['start', '--config', file], {
      env: { HOST: '0.0.0.0', PORT: '0' },
      timeoutMs: 15_000,
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      'clients[4].grantTypes: the password grant is refused while demo credentials are served on a non-loopback address (host 0.0.0.0)',
    );
    // On loopback, or with the demo's credentials replaced, the same client is accepted.
    const check = await runCli(['config', 'check', '--config', file], {
      env: { HOST: '127.0.0.1' },
    });
    expect(check.code, check.stderr).toBe(0);
  });
});
