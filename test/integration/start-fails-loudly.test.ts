import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli-run.js';

const SECRET = 'the-secret-that-sealed-the-ring';
const OTHER = 'another-secret-of-enough-length';
// The ring file is per issuer URL: the same for the keys commands and the server on port 0.
const ISSUER = 'http://localhost:3999';
let cwd: string;
beforeAll(async () => {
  cwd = mkdtempSync(join(tmpdir(), 'oidc-issuer-loud-'));
  // A sealed ring in this folder, as a server started with SECRET leaves it.
  const made = await runCli(['keys', 'rotate', '--now'], {
    cwd,
    env: { KEYSTORE_SECRET: SECRET, ISSUER },
  });
  expect(made.code, made.stderr).toBe(0);
});
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

const start = (env: Record<string, string>) =>
  runCli(['start'], { cwd, env: { PORT: '0', ISSUER, ...env }, timeoutMs: 15_000 });

/** The one `oidc-issuer: …` line a command printed, ignoring oidc-provider's runtime notice. */
const failureLine = (stderr: string) => {
  const lines = stderr.split('\n').filter((l) => l.startsWith('oidc-issuer: '));
  expect(lines).toHaveLength(1);
  return lines[0]!;
};

describe('a start that cannot succeed by waiting stops at once, with exit code 2', () => {
  it('a ring sealed with another secret: the CLI’s one line, before any banner', async () => {
    const res = await start({ KEYSTORE_SECRET: OTHER });
    expect(res.code).toBe(2);
    const line = failureLine(res.stderr);
    expect(line).toMatch(
      /^oidc-issuer: the stored key ring cannot be decrypted .*\(KEYRING_SECRET_MISMATCH\)$/,
    );
    expect(res.stderr).not.toContain('listening on');
    expect(res.stderr).not.toContain(OTHER);
    const cli = await runCli(['keys', 'list'], { cwd, env: { KEYSTORE_SECRET: OTHER, ISSUER } });
    expect(cli.code).toBe(2);
    expect(failureLine(cli.stderr)).toBe(line);
  });

  it('a sealed ring and no secret', async () => {
    const res = await start({});
    expect(res.code).toBe(2);
    expect(failureLine(res.stderr)).toMatch(
      /encrypted but no key ring secret .*\(KEYRING_SECRET_REQUIRED\)$/,
    );
    expect(res.stderr).not.toContain('listening on');
  });

  it('a ring file that is not a key ring', async () => {
    const files = readdirSync(join(cwd, 'keys')).filter((n) => n.startsWith('keyring-'));
    expect(files).toHaveLength(1);
    const file = files[0]!;
    writeFileSync(join(cwd, 'keys', file), 'not json');
    const res = await start({ KEYSTORE_SECRET: SECRET });
    expect(res.code).toBe(2);
    expect(failureLine(res.stderr)).toMatch(/not valid JSON \(KEYRING_CORRUPT\)$/);
  });
});
