import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type IssuerProcess, spawnIssuer, waitFor } from '../support/issuer.js';
import { runCli } from './cli-run.js';

let dir: string;
let file: string;
let server: IssuerProcess;

/** The config file: the demo at the top, and a demo issuer at each path (ES256 at /google). */
function writeIssuers(paths: string[]): void {
  const entries = paths.flatMap((path) => [
    `  - path: ${path}`,
    '    extends: demo',
    ...(path === '/google' ? ['    keys:', '      algorithms: [ES256]'] : []),
  ]);
  const lines = ['extends: demo', 'keys:', `  dir: ${join(dir, 'keys')}`, 'issuers:', ...entries];
  writeFileSync(file, `${lines.join('\n')}\n`);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'several-issuers-'));
  file = join(dir, 'issuer.yaml');
  writeIssuers(['/azure', '/google']);
  server = await spawnIssuer({ OIDC_CONFIG: file });
});
afterAll(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const servedKids = async (path: string) =>
  ((await (await fetch(`${server.url}${path}/jwks`)).json()) as { keys: { kid: string }[] }).keys
    .map((k) => k.kid)
    .sort();

describe('several issuers in one process (file mode)', () => {
  it('keeps a key ring file per issuer, and the CLI picks one with --issuer', async () => {
    const rings = readdirSync(join(dir, 'keys')).filter((n) => /^keyring-.*\.json$/.test(n));
    expect(rings).toHaveLength(3);
    for (const path of ['', '/azure', '/google']) {
      const res = await runCli(['keys', 'list', '--json', '--issuer', `${server.url}${path}`], {
        env: { OIDC_CONFIG: file, ISSUER: server.url },
      });
      expect(res.code, res.stderr).toBe(0);
      const listed = (JSON.parse(res.stdout) as { keys: { kid: string; state: string }[] }).keys;
      expect(listed.map((k) => k.kid).sort()).toEqual(await servedKids(path));
    }
    const [top, azure] = [await servedKids(''), await servedKids('/azure')];
    expect(top.filter((kid) => azure.includes(kid))).toEqual([]);
  });

  it('labels /metrics by issuer', async () => {
    await fetch(`${server.url}/azure/.well-known/openid-configuration`);
    await fetch(`${server.url}/.well-known/openid-configuration`);
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toMatch(
      /oidc_issuer_http_requests_total\{[^}]*issuer="\/azure"[^}]*endpoint="discovery"/,
    );
    expect(text).toMatch(
      /oidc_issuer_http_requests_total\{[^}]*issuer="\/"[^}]*endpoint="discovery"/,
    );
    expect(text).toMatch(
      /oidc_issuer_signing_key_age_seconds\{[^}]*issuer="\/google"[^}]*alg="ES256"/,
    );
  });

  it('prints every issuer in the start banner', () => {
    expect(server.output()).toContain(`${server.url}/azure`);
    expect(server.output()).toContain(`${server.url}/google`);
  });

  it('adds and removes issuers when the config file changes, without a restart', async () => {
    const discovery = (path: string) =>
      fetch(`${server.url}${path}/.well-known/openid-configuration`).then((r) => r.status);
    expect(await discovery('/okta')).toBe(404);
    writeIssuers(['/azure', '/okta']);
    await waitFor(async () => (await discovery('/okta')) === 200, 5000, '/okta served');
    expect(await discovery('/google')).toBe(404);
    expect(await discovery('/azure')).toBe(200);
    const ready = (await (await fetch(`${server.url}/readyz`)).json()) as {
      issuers: Record<string, string>;
    };
    expect(ready.issuers).toEqual({ '/azure': 'ready', '/okta': 'ready' });
  });
});
