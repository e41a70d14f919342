#!/usr/bin/env node
/**
 * `npm test`'s pretest step: the suite runs real redis-server, redis-cli, openssl, curl and
 * Chromium processes. Any that are missing are installed with apt-get when this runs as root or with
 * password-less sudo (Debian/Ubuntu); otherwise it exits 1 at once and prints the exact command,
 * so a fresh machine fails in one second with the fix instead of in twenty test files.
 *
 * Chromium is looked for at CHROMIUM_PATH, else /usr/bin/chromium (as the browser tests do).
 * Plain Node with no dependencies: it runs before anything is built.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

const chromium = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** What the suite runs, how to tell it is there, and the Debian package that brings it. */
const requirements = [
  { name: 'redis-server', present: () => onPath('redis-server'), aptPackage: 'redis-server' },
  { name: 'redis-cli', present: () => onPath('redis-cli'), aptPackage: 'redis-tools' },
  { name: 'openssl', present: () => onPath('openssl'), aptPackage: 'openssl' },
  { name: 'curl', present: () => onPath('curl'), aptPackage: 'curl' },
  { name: chromium, present: () => isExecutable(chromium), aptPackage: 'chromium' },
];

function onPath(command) {
  return (
    spawnSync('/bin/sh', ['-c', 'command -v "$1"', 'sh', command], { stdio: 'ignore' }).status === 0
  );
}

function isExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function missingRequirements() {
  return requirements.filter((r) => !r.present());
}

/** '' as root, 'sudo' when sudo works without a password, else undefined (cannot install). */
function privilegePrefix() {
  if (process.getuid?.() === 0) return '';
  if (onPath('sudo') && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0)
    return 'sudo';
  return undefined;
}

const missing = missingRequirements();
if (missing.length === 0) process.exit(0);

const packages = [...new Set(missing.map((r) => r.aptPackage))].join(' ');
const names = missing.map((r) => r.name).join(', ');
const prefix = privilegePrefix();
if (prefix === undefined || !onPath('apt-get')) {
  const sudo = process.getuid?.() === 0 ? '' : 'sudo ';
  console.error(`npm test needs ${names}, which this machine lacks. Install with:`);
  console.error(`  ${sudo}apt-get update && ${sudo}apt-get install -y ${packages}`);
  console.error(
    '(elsewhere: install Redis, OpenSSL and Chromium; CHROMIUM_PATH names the browser)',
  );
  process.exit(1);
}

console.error(`npm test needs ${names}; installing ${packages} with apt-get`);
const asRoot = prefix ? `${prefix} ` : '';
const install = spawnSync(
  '/bin/sh',
  [
    '-c',
    `${asRoot}apt-get update -qq && ${asRoot}env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${packages}`,
  ],
  { stdio: 'inherit' },
);
const stillMissing = missingRequirements();
if (install.status !== 0 || stillMissing.length > 0) {
  const left = stillMissing.map((r) => r.name).join(', ') || 'nothing';
  console.error(`installing failed (apt-get exit ${install.status}); still missing: ${left}`);
  process.exit(1);
}
