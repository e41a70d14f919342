/**
 * Times the in-process API in a fresh Node process, as a test file meets it: the package
 * imported, then a test suite's `beforeEach`/`afterEach` pattern — `1 + starts` tests one
 * after another, each `createTestIssuer()` to ready (timed), a short test body (one token
 * minted and verified through the JWKS) and `stop()` — the first start of the process timed
 * apart from the later ones; then `login()` (`logins` times, alice through demo-web, on one
 * more issuer). Prints `{ importMs, firstStartMs, startMs, firstLoginMs, loginMs,
 * cpuMsPerStart, cpuMsPerLogin }` as JSON: wall times, and the process's CPU (all threads) per
 * later test and per login, which a loaded machine moves much less. A test's CPU includes the
 * key generation its start caused, which the process does on the threadpool ahead of the next
 * start (`cpuMsPerStart` counts from the first later start until the stash is full again).
 * Usage: node in-process.js <starts> <logins>
 * Only this row of the bench (pinned like the rest; add `--node 24` for Node 24): `npm run bench --
 * --quick --no-write --scenarios= --startup 0 --rotations 0 --workers 0 --no-signing`.
 */
import { createRemoteJWKSet, jwtVerify } from 'jose';

const [starts = 5, logins = 20] = process.argv.slice(2).map(Number);
const since = performance.now();
const { createTestIssuer } = await import('../../src/index.js');
const importMs = performance.now() - since;

const timed = async <T>(run: () => Promise<T>): Promise<[T, number]> => {
  const t = performance.now();
  const value = await run();
  return [value, performance.now() - t];
};
const cpuMs = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
};

/** One test of a suite: a fresh issuer (timed), a token minted and verified, the issuer stopped. */
async function oneTest(): Promise<number> {
  const [issuer, ms] = await timed(() => createTestIssuer());
  const token = await issuer.mintToken({ sub: 'alice' });
  await jwtVerify(token, createRemoteJWKSet(new URL(issuer.jwksUrl)), { issuer: issuer.url });
  await issuer.stop();
  return ms;
}

/** Waits until this process's threadpool work (the stash's refill) is over, CPU seen idle. */
async function untilIdle(): Promise<void> {
  for (let i = 0; i < 100; i += 1) {
    const cpu = process.cpuUsage();
    await new Promise((r) => setTimeout(r, 50));
    if (cpuMs(cpu) < 5) return;
  }
}

const firstStartMs = await oneTest();
const startMs: number[] = [];
let cpu = process.cpuUsage();
for (let i = 0; i < starts; i += 1) startMs.push(await oneTest());
await untilIdle();
// The idle wait's own polling is a few ms of CPU in total; the refill is ~60–200 ms per test.
const cpuMsPerStart = cpuMs(cpu) / starts;

const [issuer] = await timed(() => createTestIssuer());
const [, firstLoginMs] = await timed(() => issuer.login({ username: 'alice' }));
const loginMs: number[] = [];
cpu = process.cpuUsage();
for (let i = 0; i < logins; i += 1) {
  const [tokens, ms] = await timed(() => issuer.login({ username: 'alice' }));
  if (!tokens.id_token || !tokens.access_token) throw new Error('login() returned no tokens');
  loginMs.push(ms);
}
const cpuMsPerLogin = cpuMs(cpu) / logins;
await issuer.stop();
process.stdout.write(
  `${JSON.stringify({ importMs, firstStartMs, startMs, firstLoginMs, loginMs, cpuMsPerStart, cpuMsPerLogin })}\n`,
);
