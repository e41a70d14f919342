/**
 * The raw signing ceiling: node:crypto signatures per second on one core (the harness pins this
 * process) for a JWT-sized input, for each alg given on the command line. Prints JSON.
 */
import { generateKeyPairSync, sign } from 'node:crypto';

const DURATION_MS = Number(process.env.SIGN_DURATION_MS ?? 2000);
const input = Buffer.alloc(400, 'a');
const out: Record<string, number> = {};
for (const alg of process.argv.slice(2)) {
  const { privateKey } =
    alg === 'ES256'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : generateKeyPairSync('rsa', { modulusLength: 2048 });
  const key =
    alg === 'ES256' ? { key: privateKey, dsaEncoding: 'ieee-p1363' as const } : privateKey;
  for (let i = 0; i < 200; i += 1) sign('sha256', input, key);
  let count = 0;
  const started = performance.now();
  while (performance.now() - started < DURATION_MS) {
    for (let i = 0; i < 50; i += 1) sign('sha256', input, key);
    count += 50;
  }
  out[alg] = count / ((performance.now() - started) / 1000);
}
process.stdout.write(`${JSON.stringify(out)}\n`);
