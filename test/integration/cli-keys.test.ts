import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type IssuerProcess, spawnIssuer, waitFor } from '../support/issuer.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { runCli } from './cli-run.js';

const ADMIN = 'cli-keys-admin-token-0123';
let redis: TestRedis;
let server: IssuerProcess;
let dir: string;
let env: Record<string, string>;

interface ListedKey {
  kid: string;
  alg: string;
  state: string;
  origin: string;
}

beforeAll(async () => {
  redis = await startRedis();
  dir = mkdtempSync(join(tmpdir(), 'oidc-issuer-cli-keys-'));
  const config = join(dir, 'issuer.yaml');
  // A 1 s pre-publication lead so a planned rotation is allowed soon after start.
  writeFileSync(
    config,
    [
      `keys: { dir: ${JSON.stringify(join(dir, 'keys'))}, prePublication: 1s, rotationPeriod: 1h, retention: 2h, refreshInterval: 1h }`,
      'resourceServers: [{ audience: "https://api.test" }]',
    ].join('\n'),
  );
  server = await spawnIssuer({ REDIS_URL: redis.url, OIDC_CONFIG: config, ADMIN_TOKEN: ADMIN });
  // The CLI must see the same store and namespace as the server: same config and env.
  env = { REDIS_URL: redis.url, OIDC_CONFIG: config, ISSUER: server.url };
});
afterAll(async () => {
  await server?.stop();
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const list = async (): Promise<ListedKey[]> => {
  const res = await runCli(['keys', 'list', '--json'], { env });
  expect(res.code, res.stderr).toBe(0);
  return JSON.parse(res.stdout).keys;
};
const servedKids = async () =>
  ((await (await fetch(`${server.url}/jwks`)).json()) as { keys: { kid: string }[] }).keys.map(
    (k) => k.kid,
  );
/** The kid the running server signs with now, from a token it mints. */
const serverSigningKid = async () => {
  const res = await fetch(`${server.url}/admin/tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ sub: 'probe' }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { header: { kid: string } }).header.kid;
};

describe('oidc-issuer keys against Redis shared with a running issuer', () => {
  it('lists the ring the server created: table and --json', async () => {
    const keys = await list();
    expect(keys.map((k) => k.state)).toEqual(['active', 'next']);
    expect(keys.map((k) => k.kid)).toEqual(await servedKids());
    const table = await runCli(['keys', 'list'], { env });
    expect(table.stdout).toMatch(
      /KID\s+ALG\s+STATE\s+ORIGIN\s+CREATED\s+ACTIVATES\s+RETIRES\s+REMOVED/,
    );
    expect(table.stdout).toContain(`namespace iss-`);
    expect(table.stdout).toMatch(
      new RegExp(`${keys[0]!.kid}\\s+RS256\\s+active\\s+generated\\s+\\d{4}-`),
    );
  });

  it('prints the same JSON as the admin API, every time in ISO 8601', async () => {
    const cli = await runCli(['keys', 'list', '--json'], { env });
    const admin = await fetch(`${server.url}/admin/keys`, {
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    expect(admin.status).toBe(200);
    const fromAdmin = (await admin.json()) as Record<string, unknown> & {
      keys: Record<string, unknown>[];
    };
    expect(fromAdmin).toEqual(JSON.parse(cli.stdout));
    const iso = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
    expect(fromAdmin.updatedAt).toMatch(iso);
    for (const key of fromAdmin.keys) {
      for (const time of ['createdAt', 'activateAt', 'retireAt', 'removeAt']) {
        expect(key[time]).toMatch(iso);
      }
    }
  });

  it('rotate from the CLI reaches the running issuer within a second or two', async () => {
    const before = await list();
    const oldActive = before.find((k) => k.state === 'active')!.kid;
    const oldNext = before.find((k) => k.state === 'next')!.kid;
    // The next key must have been published for the 1 s lead.
    await new Promise((r) => setTimeout(r, 1100));
    const res = await runCli(['keys', 'rotate'], { env });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain(`rotated: ${oldNext} signs now; ${oldActive} is retiring`);
    const after = await list();
    expect(after.find((k) => k.kid === oldActive)?.state).toBe('retiring');
    expect(after.find((k) => k.kid === oldNext)?.state).toBe('active');
    const freshNext = after.find((k) => k.state === 'next')!.kid;

    const started = Date.now();
    await waitFor(
      async () => (await servedKids()).includes(freshNext),
      2000,
      'the new next key in /jwks',
    );
    await waitFor(
      async () => (await serverSigningKid()) === oldNext,
      2000,
      'the server signing with the promoted key',
    );
    const elapsed = Date.now() - started;
    expect(elapsed).toBeLessThan(2000);
    expect(await servedKids()).toEqual(after.map((k) => k.kid));
  });

  it('rotate --now reaches the running issuer, which signs with the promoted key', async () => {
    const before = await list();
    const waiting = before.find((k) => k.state === 'next')!.kid;
    // (With this fixture's 1 s lead the key may be old enough already; the file-store test
    // below rotates a key far younger than its 2 d lead.)
    const res = await runCli(['keys', 'rotate', '--now', '--json'], { env });
    expect(res.code, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout);
    expect(out.rotation).toMatchObject({ alg: 'RS256', activeKid: waiting });
    expect(out.keys.find((k: ListedKey) => k.kid === waiting).state).toBe('active');
    await waitFor(
      async () => (await serverSigningKid()) === waiting,
      2000,
      'the server signing with the promoted key',
    );
  });

  it('imports PKCS#1 and SEC1 PEMs as next keys, and --activate-now signs at once', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    writeFileSync(join(dir, 'rsa.pem'), rsa.export({ type: 'pkcs1', format: 'pem' }));
    const waiting = (await list()).find((k) => k.state === 'next')!.kid;
    const imported = await runCli(['keys', 'import', join(dir, 'rsa.pem'), '--json'], { env });
    expect(imported.code, imported.stderr).toBe(0);
    const output = JSON.parse(imported.stdout);
    const importedKey = output.keys.find((k: ListedKey) => k.origin === 'imported');
    expect(importedKey).toMatchObject({ alg: 'RS256', state: 'next' });
    // It takes the place of the waiting next key, and says so.
    expect(output.imported).toEqual([importedKey.kid]);
    expect(output.replaced).toEqual([waiting]);
    expect((await list()).map((k) => k.kid)).not.toContain(waiting);
    await waitFor(
      async () => (await servedKids()).includes(importedKey.kid),
      2000,
      'imported key published',
    );

    const again = await runCli(['keys', 'import', join(dir, 'rsa.pem')], { env });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('KID_EXISTS');

    const now = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const pem = now.export({ type: 'pkcs8', format: 'pem' }).toString();
    const active = await runCli(['keys', 'import', '-', '--activate-now'], { env, input: pem });
    expect(active.code, active.stderr).toBe(0);
    const kid = /imported (\S+) \(RS256, active\)/.exec(active.stdout)?.[1];
    expect(kid).toBeDefined();
    await waitFor(
      async () => (await serverSigningKid()) === kid,
      2000,
      'the server signing with the imported key',
    );

    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    writeFileSync(join(dir, 'ec.pem'), ec.export({ type: 'sec1', format: 'pem' }));
    const notInPolicy = await runCli(['keys', 'import', join(dir, 'ec.pem')], { env });
    expect(notInPolicy.code).toBe(2);
    expect(notInPolicy.stderr).toMatch(
      /^oidc-issuer: ES256 is not one of .*\(ALG_NOT_IN_POLICY\)\n$/,
    );

    writeFileSync(
      join(dir, 'public.pem'),
      createPublicKey(rsa).export({ type: 'spki', format: 'pem' }),
    );
    const pub = await runCli(['keys', 'import', join(dir, 'public.pem')], { env });
    expect(pub.code).toBe(2);
    expect(pub.stderr).toContain('KEY_NOT_PRIVATE');
    const missing = await runCli(['keys', 'import', join(dir, 'nope.pem')], { env });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot read');
  }, 90_000); // eight CLI runs, each a Node start and a Redis round trip; slow on a loaded machine

  it('exports a key as PEM and JWK, and jwks matches what the server serves', async () => {
    const keys = await list();
    const target = keys[0]!;
    const pem = await runCli(['keys', 'export', target.kid.slice(0, 10)], { env });
    expect(pem.code, pem.stderr).toBe(0);
    expect(pem.stdout).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    const jwk = JSON.parse((await runCli(['keys', 'export', target.kid, '--jwk'], { env })).stdout);
    expect(jwk.kid).toBe(target.kid);
    expect(createPublicKey(pem.stdout).export({ format: 'jwk' }).n).toBe(jwk.n);
    expect(jwk.d).toBeUndefined();
    const printed = JSON.parse((await runCli(['keys', 'jwks'], { env })).stdout);
    const served = await (await fetch(`${server.url}/jwks`)).json();
    expect(printed).toEqual(served);
    const unknown = await runCli(['keys', 'export', 'no-such-kid'], { env });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('KID_NOT_FOUND');
    // Kids are base64url: one may start with "-" and must not be read as an option.
    const dashed = await runCli(['keys', 'export', '-Ina9gslcO'], { env });
    expect(dashed.code).toBe(1);
    expect(dashed.stderr).toContain('KID_NOT_FOUND');
  });

  it('revokes by kid prefix: the key leaves the running issuer’s JWKS at once', async () => {
    const signing = await serverSigningKid();
    const res = await runCli(['keys', 'revoke', signing.slice(0, 12)], { env });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain(`revoked ${signing}`);
    await waitFor(
      async () => !(await servedKids()).includes(signing),
      2000,
      'revoked key unpublished',
    );
    expect(await serverSigningKid()).not.toBe(signing);
  });

  it('exits 3 when Redis is unreachable', async () => {
    const res = await runCli(['keys', 'list'], {
      env: { ...env, REDIS_URL: 'redis://127.0.0.1:1' },
    });
    expect(res.code).toBe(3);
    expect(res.stderr).toMatch(
      /^oidc-issuer: the store is unreachable: redis:\/\/127\.0\.0\.1:1: .+ \(STORE_UNAVAILABLE\)\n$/,
    );
  });
});

describe('oidc-issuer keys on the file store (no server)', () => {
  it("imports a file whose name starts with '-' (a key named by its base64url kid), not as an option", async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'oidc-issuer-cli-dash-'));
    try {
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      writeFileSync(
        join(cwd, '-dash-kid.pem'),
        privateKey.export({ type: 'pkcs8', format: 'pem' }),
      );
      const env = { KEYS_ALGORITHMS: 'ES256' };
      const imported = await runCli(['keys', 'import', '-dash-kid.pem', '--alg', 'ES256'], {
        cwd,
        env,
      });
      expect(imported.code, imported.stderr).toBe(0);
      expect(imported.stdout).toMatch(/imported \S+ \(ES256, next\)/);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('reports an empty ring, then creates one on rotate and refuses to rotate inside the (default 2 d) lead', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'oidc-issuer-cli-file-'));
    try {
      const empty = await runCli(['keys', 'list'], { cwd });
      expect(empty.code).toBe(0);
      expect(empty.stdout).toMatch(
        new RegExp(
          `the key ring in file ${join(cwd, 'keys')}/keyring-iss-[0-9a-f]{12}\\.json is empty`,
        ),
      );
      const rotate = await runCli(['keys', 'rotate'], { cwd });
      expect(rotate.code).toBe(1);
      expect(rotate.stderr).toMatch(/rotation is possible from \d{4}-.*\(ROTATION_TOO_EARLY\)/);
      expect(rotate.stderr).toContain('keys rotate --now');
      const listed = JSON.parse((await runCli(['keys', 'list', '--json'], { cwd })).stdout);
      expect(listed.keys.map((k: ListedKey) => k.state)).toEqual(['active', 'next']);
      const now = await runCli(['keys', 'rotate', '--now'], { cwd });
      expect(now.code, now.stderr).toBe(0);
      expect(now.stdout).toContain(`rotated early: ${listed.keys[1].kid} signs now`);
      expect(now.stdout).toMatch(
        /warning: \S+ had been published for (under 1s|\S+) when it started signing/,
      );
      const json = await runCli(['keys', 'rotate', '--now', '--json'], { cwd });
      expect(json.code, json.stderr).toBe(0);
      const { rotation, keys } = JSON.parse(json.stdout);
      expect(rotation).toMatchObject({ alg: 'RS256', early: true });
      expect(rotation.publishedFor).toBeLessThan(60_000);
      expect(rotation.warning).toContain('does not refetch on an unknown kid');
      expect(keys.find((k: ListedKey) => k.kid === rotation.activeKid).state).toBe('active');
      expect(keys.find((k: ListedKey) => k.kid === rotation.retiredKid).state).toBe('retiring');
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});
