/**
 * How long an admin key rotation takes to show on three issuer instances sharing one Redis:
 * rotate through one instance (round robin), then poll every instance's JWKS for the freshly
 * minted `next` key and its token endpoint for a token signed by the newly active key.
 */
import { decodeProtectedHeader } from 'jose';
import { ADMIN_TOKEN, type BenchAlg } from './fixtures.js';
import { percentile } from './flow.js';
import { launchTarget, type RunningTarget, tokenRequest } from './targets.js';

export interface RotationResult {
  instances: number;
  rotations: number;
  /** POST /admin/keys/rotate answered (ms). */
  rotateCall: { p50: number; p99: number };
  /** From sending the rotation until every instance's JWKS lists the new `next` kid (ms). */
  jwksOnAll: { p50: number; p99: number; max: number };
  /** From sending the rotation until every instance signs with the newly active kid (ms). */
  signingOnAll: { p50: number; p99: number; max: number };
  /** Rotations refused as too early (the next key was not published for prePublication yet). */
  tooEarly: number;
}

interface RingSummary {
  keys: { kid: string; state: string; alg: string }[];
}

/**
 * Polls `check` until it holds, `pauseMs` apart; resolves to ms since `t0`. JWKS polls run back
 * to back (each costs the instance ~30 µs); token polls pause, so signing tokens for the poll
 * does not saturate the core the instances share and delay what is being measured.
 */
async function until(check: () => Promise<boolean>, t0: number, pauseMs = 0, timeoutMs = 10_000) {
  for (;;) {
    if (await check()) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) throw new Error('rotation did not show in time');
    if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
  }
}

export async function measureRotation(options: {
  redisUrl: string;
  workDir: string;
  cores: string | undefined;
  rotations: number;
  alg: BenchAlg;
  instances?: number;
  /** The Node binary the instances run on. */
  node?: string;
}): Promise<RotationResult> {
  const count = options.instances ?? 3;
  const namespace = `bench-rotation-${Date.now()}`;
  const nodes: RunningTarget[] = [];
  try {
    for (let i = 0; i < count; i += 1) {
      nodes.push(
        await launchTarget('ours-redis', options.alg, {
          workDir: options.workDir,
          cores: options.cores,
          redisUrl: options.redisUrl,
          redisNamespace: namespace,
          fastRotation: true,
          ...(options.node ? { node: options.node } : {}),
        }),
      );
    }
    const calls: number[] = [];
    const jwks: number[] = [];
    const signing: number[] = [];
    let tooEarly = 0;
    for (let r = 0; r < options.rotations; r += 1) {
      // prePublication is 1 s: the `next` key minted by the previous rotation must age first.
      await new Promise((res) => setTimeout(res, 1100));
      const via = nodes[r % count]!;
      const t0 = performance.now();
      const res = await fetch(`${via.url}/admin/keys/rotate`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ alg: options.alg }),
      });
      const body = await res.text();
      if (res.status !== 200) {
        if (/too early|published long enough/i.test(body)) {
          tooEarly += 1;
          r -= 1;
          continue;
        }
        throw new Error(`rotate answered ${res.status}: ${body}`);
      }
      calls.push(performance.now() - t0);
      const summary = JSON.parse(body) as RingSummary;
      const of = (state: string) =>
        summary.keys.find((k) => k.alg === options.alg && k.state === state)?.kid;
      const nextKid = of('next');
      const activeKid = of('active');
      if (!nextKid || !activeKid) throw new Error(`unexpected rotate answer: ${body}`);
      const seen = await Promise.all(
        nodes.map(async (node) => {
          const jwksMs = until(async () => {
            const text = await (await fetch(`${node.url}/jwks`)).text();
            return text.includes(nextKid);
          }, t0);
          const req = tokenRequest(node);
          const signMs = until(
            async () => {
              const answer = await fetch(`${node.url}${req.path}`, {
                method: 'POST',
                headers: req.headers,
                body: req.body,
              });
              const token = ((await answer.json()) as { access_token?: string }).access_token;
              return token !== undefined && decodeProtectedHeader(token).kid === activeKid;
            },
            t0,
            2,
          );
          return { jwks: await jwksMs, sign: await signMs };
        }),
      );
      jwks.push(Math.max(...seen.map((s) => s.jwks)));
      signing.push(Math.max(...seen.map((s) => s.sign)));
    }
    const stats = (v: number[]) => ({
      p50: percentile(v, 50),
      p99: percentile(v, 99),
      max: Math.max(...v),
    });
    return {
      instances: count,
      rotations: options.rotations,
      rotateCall: { p50: percentile(calls, 50), p99: percentile(calls, 99) },
      jwksOnAll: stats(jwks),
      signingOnAll: stats(signing),
      tooEarly,
    };
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
  }
}
