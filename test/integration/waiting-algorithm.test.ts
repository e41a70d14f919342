import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import type { RawConfig } from '../../src/config/schema.js';
import { type RunningIssuer, startIssuer } from '../../src/issuer.js';
import { createLogger } from '../../src/log.js';
import { basic } from '../support/flows.js';
import { waitFor } from '../support/issuer.js';

const dir = mkdtempSync(join(tmpdir(), 'oidc-issuer-waiting-'));
const API = 'http://localhost:4000/es-api';
const start = (raw: RawConfig) =>
  startIssuer(validateConfig({ ...raw, port: 0, host: '127.0.0.1', logLevel: 'silent' }), {
    issuerFromPort: true,
    logger: createLogger('silent'),
  });

let issuer: RunningIssuer;
beforeAll(async () => {
  // A ring in use with RS256 only; ES256 is then added to the config, as a user would.
  const first = await start({ keys: { dir, algorithms: ['RS256'] } });
  await first.close();
  issuer = await start({
    keys: { dir, algorithms: ['RS256', 'ES256'] },
    resourceServers: [{ audience: API, signingAlg: 'ES256', scopes: ['read'] }],
    clients: [
      {
        id: 'es-web',
        secret: 'es-web-secret',
        redirectUris: ['http://localhost:3001/callback'],
        scopes: ['openid'],
        idTokenSigningAlg: 'ES256',
      },
      {
        id: 'rs-web',
        secret: 'rs-web-secret',
        redirectUris: ['http://localhost:3001/callback'],
        scopes: ['openid'],
      },
      {
        id: 'es-service',
        secret: 'es-service-secret',
        grantTypes: ['client_credentials'],
        resources: [API],
        scopes: ['read'],
      },
    ],
  });
});
afterAll(async () => {
  await issuer?.close();
  rmSync(dir, { recursive: true, force: true });
});

const authorize = (clientId: string) =>
  fetch(
    `${issuer.url}/auth?${new URLSearchParams({
      client_id: clientId,
      response_type: 'code',
      scope: 'openid',
      redirect_uri: 'http://localhost:3001/callback',
      state: 's1',
      code_challenge: 'x'.repeat(43),
      code_challenge_method: 'S256',
    })}`,
    { redirect: 'manual' },
  );
const token = (client: string, secret: string, body: Record<string, string>) =>
  fetch(`${issuer.url}/token`, {
    method: 'POST',
    headers: {
      authorization: basic(client, secret),
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams(body),
  });
const serviceToken = () =>
  token('es-service', 'es-service-secret', { grant_type: 'client_credentials', resource: API });

/** What every answer must say: the algorithm, from when it signs, and how to sign now. */
const explainsWaiting = (text: string) => {
  expect(text).toContain('ES256 cannot sign yet');
  expect(text).toMatch(/signs from \d{4}-\d\d-\d\dT[\d:.]+Z/);
  expect(text).toContain('oidc-issuer keys rotate --now --alg ES256');
  expect(text).not.toContain('invalid_client_metadata');
};

describe('an algorithm added to a ring in use, before it may sign', () => {
  it('the authorization endpoint says temporarily_unavailable, naming ES256', async () => {
    const res = await authorize('es-web');
    const page = await res.text();
    expect(res.status).toBe(503);
    expect(page).toContain('temporarily_unavailable');
    explainsWaiting(page.replaceAll('&#96;', '`'));
    // A client on RS256 is not affected.
    const rs = await authorize('rs-web');
    expect(rs.status).toBe(303);
    expect(rs.headers.get('location')).toMatch(/\/interaction\//);
  });

  it('the token endpoint says temporarily_unavailable for the client and for the resource server', async () => {
    const forResource = await serviceToken();
    expect(forResource.status).toBe(503);
    const body = (await forResource.json()) as { error: string; error_description: string };
    expect(body.error).toBe('temporarily_unavailable');
    explainsWaiting(body.error_description);
    expect(body.error_description).toContain(API);

    const forClient = await token('es-web', 'es-web-secret', {
      grant_type: 'authorization_code',
      code: 'nope',
      redirect_uri: 'http://localhost:3001/callback',
      code_verifier: 'y'.repeat(43),
    });
    expect(forClient.status).toBe(503);
    const clientBody = (await forClient.json()) as { error: string; error_description: string };
    expect(clientBody.error).toBe('temporarily_unavailable');
    explainsWaiting(clientBody.error_description);
  });

  it('/readyz names it and stays ready', async () => {
    const res = await fetch(`${issuer.url}/readyz`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      checks: { algorithms: string };
      waiting: { alg: string; signsFrom: string; message: string }[];
    };
    expect(body.checks.algorithms).toBe('waiting');
    expect(body.waiting).toHaveLength(1);
    expect(body.waiting[0]!.alg).toBe('ES256');
    explainsWaiting(body.waiting[0]!.message);
  });

  it('after keys rotate --now ES256 signs, and the same requests succeed', async () => {
    await issuer.keyRing.rotate('ES256', { early: true });
    await waitFor(async () => (await serviceToken()).status === 200, 3000, 'ES256 tokens');
    const body = (await (await serviceToken()).json()) as { access_token: string };
    expect(decodeProtectedHeader(body.access_token).alg).toBe('ES256');
    expect((await authorize('es-web')).status).toBe(303);
    const ready = (await (await fetch(`${issuer.url}/readyz`)).json()) as {
      checks: { algorithms: string };
      waiting?: unknown;
    };
    expect(ready.checks.algorithms).toBe('ok');
    expect(ready.waiting).toBeUndefined();
  });
});
