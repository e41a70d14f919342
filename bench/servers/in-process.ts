/**
 * Times the in-process API in a fresh Node process, as a test file meets it: the package
 * imported, then `createTestIssuer()` to ready (the first start of the process, then
 * `starts` more, each stopped again) and `login()` (`logins` times, alice through demo-web, on
 * one issuer). Prints `{ importMs, firstStartMs, startMs, firstLoginMs, loginMs, cpuMsPerStart,
 * cpuMsPerLogin }` as JSON: wall times, and the process's CPU (all threads) per call, which a
 * loaded machine moves much less.
 * Usage: node in-process.js <starts> <logins>
 * Only this row of the bench (pinned like the rest; add `--node 24` for Node 24): `npm run bench --
 * --quick --no-write --scenarios= --startup 0 --rotations 0 --workers 0 --no-signing`.
 */
const [starts = 5, logins = 20] = process.argv.slice(2).map(Number);
const since = performance.now();
const { createTestIssuer } = await import('../../src/index.js');
const importMs = performance.now() - since;

const timed = async <T>(run: () => Promise<T>): Promise<[T, number]> => {
  const t = performance.now();
  const value = await run();
  return [value, performance.now() - t];
};

const [first, firstStartMs] = await timed(() => createTestIssuer());
const [, firstLoginMs] = await timed(() => first.login({ username: 'alice' }));
const loginMs: number[] = [];
const cpuMs = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
};
let cpu = process.cpuUsage();
for (let i = 0; i < logins; i += 1) {
  const [tokens, ms] = await timed(() => first.login({ username: 'alice' }));
  if (!tokens.id_token || !tokens.access_token) throw new Error('login() returned no tokens');
  loginMs.push(ms);
}
const cpuMsPerLogin = cpuMs(cpu) / logins;
await first.stop();
const startMs: number[] = [];
cpu = process.cpuUsage();
for (let i = 0; i < starts; i += 1) {
  const [issuer, ms] = await timed(() => createTestIssuer());
  startMs.push(ms);
  await issuer.stop();
}
const cpuMsPerStart = cpuMs(cpu) / starts;
process.stdout.write(
  `${JSON.stringify({ importMs, firstStartMs, startMs, firstLoginMs, loginMs, cpuMsPerStart, cpuMsPerLogin })}\n`,
);
