import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { runCli } from './cli-run.js';

/**
 * The promise of docs/cli.md, held for every kind of mistake: one line on stderr,
 * `oidc-issuer: <what is wrong> (<CODE>)`, nothing on stdout, and the documented exit code.
 * The commands run on a file key ring in a temporary folder (no server, no Redis); each test
 * starts a few CLI processes, so the limit allows for a loaded machine.
 */
let cwd: string;
beforeAll(() => {
  cwd = mkdtempSync(join(tmpdir(), 'oidc-issuer-cli-errors-'));
});
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

const ONE_LINE_ERROR = /^oidc-issuer: [^\n]+ \(([A-Z][A-Z0-9_]+)\)\n$/;

async function expectError(args: string[], exit: number, code: string, text?: string) {
  const res = await runCli(args, { cwd });
  expect(res.stderr, `oidc-issuer ${args.join(' ')}`).toMatch(ONE_LINE_ERROR);
  expect(ONE_LINE_ERROR.exec(res.stderr)?.[1]).toBe(code);
  if (text !== undefined) expect(res.stderr).toContain(text);
  expect(res.stdout).toBe('');
  expect(res.code).toBe(exit);
  return res;
}

describe('usage errors: one line and where the help is, not the whole help', {
  timeout: 60_000,
}, () => {
  it.each([
    [['token', 'mint', '--bogus'], 'UNKNOWN_OPTION', "see 'oidc-issuer token mint --help'"],
    [['token', 'verify'], 'MISSING_ARGUMENT', "see 'oidc-issuer token verify --help'"],
    [['jwk', 'generate', '--alg', 'HS256'], 'INVALID_ARGUMENT', 'Allowed choices are RS256'],
    [['tokens'], 'UNKNOWN_COMMAND', "unknown command 'tokens' (Did you mean token?)"],
    [['keys', 'lst'], 'UNKNOWN_COMMAND', "see 'oidc-issuer keys --help'"],
    [['start', 'now'], 'EXCESS_ARGUMENTS', "see 'oidc-issuer start --help'"],
  ])('oidc-issuer %j', async (args, code, text) => {
    await expectError(args, 2, code, text);
  });
});

describe('input errors each have a code and exit 2', { timeout: 60_000 }, () => {
  it('bad --claims JSON', async () => {
    await expectError(['token', 'mint', '--claims', '{"a":'], 2, 'JSON_INVALID', '--claims');
  });

  it('an algorithm that is not in keys.algorithms, for mint and rotate', async () => {
    await expectError(
      ['token', 'mint', '--alg', 'ES256'],
      2,
      'ALG_NOT_IN_POLICY',
      'ES256 is not in keys.algorithms (RS256)',
    );
    await expectError(['keys', 'rotate', '--alg', 'EdDSA'], 2, 'ALG_NOT_IN_POLICY');
  });

  it('token verify of something that is no JWT, like token decode', async () => {
    for (const command of ['verify', 'decode']) {
      await expectError(['token', command, 'not-a-jwt'], 2, 'TOKEN_MALFORMED');
    }
  });

  it('an empty kid or kid prefix', async () => {
    await expectError(['keys', 'revoke', ''], 2, 'KID_EMPTY');
    await expectError(['keys', 'export', ' '], 2, 'KID_EMPTY');
  });

  it('jwk generate --out-dir that is a file, or under one: no stack trace', async () => {
    const file = join(cwd, 'a-file');
    writeFileSync(file, 'x');
    await expectError(
      ['jwk', 'generate', '--out-dir', '/etc/passwd'],
      2,
      'OUT_DIR_UNUSABLE',
      '--out-dir /etc/passwd: it exists and is not a directory',
    );
    await expectError(
      ['jwk', 'generate', '--out-dir', join(file, 'keys')],
      2,
      'OUT_DIR_UNUSABLE',
      'a part of the path is not a directory',
    );
  });

  it('an invalid configuration, on one line naming each field', async () => {
    writeFileSync(join(cwd, 'bad.json'), JSON.stringify({ port: 'eighty', typo: true }));
    const res = await expectError(
      ['keys', 'list', '--config', join(cwd, 'bad.json')],
      2,
      'CONFIG_INVALID',
    );
    expect(res.stderr).toMatch(/^oidc-issuer: invalid configuration: .*port: .*; .*typo: /);
  });

  it('an unreachable Redis exits 3 with its code', async () => {
    const res = await runCli(['keys', 'list'], { cwd, env: { REDIS_URL: 'redis://127.0.0.1:1' } });
    expect(res.stderr).toMatch(ONE_LINE_ERROR);
    expect(res.stderr).toContain('(STORE_UNAVAILABLE)');
    expect(res.code).toBe(3);
  });
});

describe('help and version', { timeout: 60_000 }, () => {
  it('plain oidc-issuer prints the help and exits 0; so does a command group alone', async () => {
    const plain = await runCli([], { cwd });
    expect(plain.code).toBe(0);
    expect(plain.stderr).toBe('');
    expect(plain.stdout).toMatch(/^Usage: oidc-issuer \[options\] \[command\]/);
    for (const command of ['start', 'keys', 'token', 'jwk'])
      expect(plain.stdout).toContain(command);
    const group = await runCli(['keys'], { cwd });
    expect(group.code).toBe(0);
    expect(group.stdout).toMatch(/^Usage: oidc-issuer keys/);
    expect(group.stdout).toContain('rotate');
  });

  it('--version prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8'));
    for (const flag of ['--version', '-V']) {
      const res = await runCli([flag], { cwd });
      expect(res).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
    }
  });
});

describe('keys import', { timeout: 60_000 }, () => {
  it('names the next key it took the place of', async () => {
    const created = await runCli(['keys', 'rotate'], { cwd }); // creates the ring (then refuses)
    expect(created.code, created.stderr).toBe(1);
    const before = JSON.parse((await runCli(['keys', 'list', '--json'], { cwd })).stdout);
    const next = before.keys.find((k: { state: string }) => k.state === 'next').kid;
    const pem = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    const res = await runCli(['keys', 'import', '-'], { cwd, input: pem });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^imported \S+ \(RS256, next\)\n/);
    expect(res.stdout).toContain(
      `replaced ${next} (RS256, was next): never signed, no longer published`,
    );
  });
});
