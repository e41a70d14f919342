import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/paths.js';

/**
 * `npm test`'s pretest step (scripts/test-prerequisites.mjs), run as a process. A machine that
 * lacks a program is made real by a PATH holding only some of the programs; "cannot install" by
 * running it as `nobody` (when the tests run as root) with neither sudo nor apt-get on PATH.
 */
const SCRIPT = join(PACKAGE_ROOT, 'scripts', 'test-prerequisites.mjs');
const which = (cmd: string) =>
  execFileSync('/bin/sh', ['-c', `command -v ${cmd}`])
    .toString()
    .trim();

const bin = mkdtempSync(join(tmpdir(), 'oidc-issuer-prereq-'));
chmodSync(bin, 0o755);
for (const program of ['redis-cli', 'openssl', 'curl'])
  symlinkSync(which(program), join(bin, program));
afterAll(() => rmSync(bin, { recursive: true, force: true }));

const asRoot = process.getuid?.() === 0;
/** This very Node, somewhere `nobody` can run it (CI's Node 24 lives under /root). */
const node = asRoot ? join(bin, 'node') : process.execPath;
if (asRoot) copyFileSync(process.execPath, node);

function runUnprivileged(env: Record<string, string>) {
  const command = asRoot ? [which('runuser'), '-u', 'nobody', '--', node, SCRIPT] : [node, SCRIPT];
  const started = Date.now();
  const result = spawnSync(command[0]!, command.slice(1), {
    env: { ...env, HOME: tmpdir() },
    encoding: 'utf8',
    timeout: 15_000,
  });
  return { ...result, ms: Date.now() - started };
}

describe('npm test prerequisites', () => {
  it('passes silently when everything is installed', () => {
    const result = spawnSync(process.execPath, [SCRIPT], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('without redis-server and without root, fails at once printing the exact command', () => {
    const result = runUnprivileged({ PATH: bin });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('npm test needs redis-server, which this machine lacks');
    expect(result.stderr).toContain(
      'sudo apt-get update && sudo apt-get install -y redis-server\n',
    );
    expect(result.ms).toBeLessThan(5_000);
  });

  it('names the Debian package of every missing program, Chromium included', () => {
    const result = runUnprivileged({ PATH: bin, CHROMIUM_PATH: join(bin, 'no-chromium') });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`redis-server, ${join(bin, 'no-chromium')}`);
    expect(result.stderr).toContain('sudo apt-get install -y redis-server chromium\n');
  });
});
