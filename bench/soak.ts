/**
 * `npm run soak`: a few minutes of mixed traffic (code flows, client_credentials, refresh,
 * JWKS) across three issuer processes sharing one redis-server, with a key rotation every few
 * seconds and one Redis restart without persistence in the middle. It checks:
 *   - zero verification failures: every token issued is verified at once against the JWKS of a
 *     random instance (refetching once on an unknown kid, as verifiers do), and every unexpired
 *     token is verified again every few seconds until it expires;
 *   - the published kids never shrink below what was published before the restart;
 *   - errors only inside the outage window (Redis stopped → all instances ready again + grace);
 *   - bounded memory: each process's RSS growth after warm-up stays under a bound.
 * Prints a summary (and JSON with --json) and exits non-zero when a check fails.
 *
 *   npm run soak -- --duration 180 --rotate-every 5 --concurrency 4
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  type JSONWebKeySet,
  jwtVerify,
} from 'jose';
import { demoConfig } from '../src/config/demo.js';
import { Browser } from '../test/support/browser.js';
import { type IssuerProcess, spawnIssuer } from '../test/support/issuer.js';
import { freePort } from '../test/support/ports.js';
import { startRedis } from '../test/support/redis.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '180' },
    'rotate-every': { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '4' },
    'rss-bound-mb': { type: 'string', default: '64' },
    json: { type: 'boolean', default: false },
  },
});
const DURATION_MS = Number(args.duration) * 1000;
const ROTATE_MS = Number(args['rotate-every']) * 1000;
const CONCURRENCY = Number(args.concurrency);
const RSS_BOUND = Number(args['rss-bound-mb']) * 1024 * 1024;
const WARMUP_MS = Math.min(30_000, DURATION_MS / 5);
const GRACE_MS = 5_000;
const ADMIN = 'soak-admin-token-0123456789abcdef';
const CALLBACK = 'http://localhost:3001/callback';
const TOKEN_TTL_S = 60;

type Op = 'code' | 'client_credentials' | 'refresh' | 'jwks';
interface ErrorEvent {
  at: number;
  op: Op | 'rotate' | 'reverify';
  detail: string;
}

const stats = {
  ops: { code: 0, client_credentials: 0, refresh: 0, jwks: 0 } as Record<Op, number>,
  tokensVerified: 0,
  reverifications: 0,
  verificationFailures: [] as string[],
  rotations: 0,
  rotationConflicts: 0,
  errors: [] as ErrorEvent[],
  expectedRefreshLoss: 0,
  kidsShrunk: [] as string[],
};

async function main() {
  const redis = await startRedis();
  const configFile = writeConfig();
  const ports = [await freePort(), await freePort(), await freePort()];
  const issuer = `http://127.0.0.1:${ports[0]}`;
  const instances = await Promise.all(
    ports.map((port) =>
      spawnIssuer({
        PORT: String(port),
        ISSUER: issuer,
        OIDC_CONFIG: configFile,
        REDIS_URL: redis.url,
        REDIS_NAMESPACE: 'soak',
        ADMIN_TOKEN: ADMIN,
        KEYSTORE_SECRET: 'soak-keystore-secret-0123456789',
        LOG_LEVEL: 'warn',
      }),
    ),
  );
  const bases = ports.map((p) => `http://127.0.0.1:${p}`);
  await waitAllReady(bases, 20_000);
  const pick = () => bases[Math.floor(Math.random() * bases.length)]!;

  const started = Date.now();
  const deadline = started + DURATION_MS;
  let outage: { from: number; to?: number } | undefined;
  const inOutage = (at: number) =>
    outage !== undefined &&
    at >= outage.from &&
    at <= (outage.to ?? Number.POSITIVE_INFINITY) + GRACE_MS;
  const fail = (op: ErrorEvent['op'], detail: string) =>
    stats.errors.push({ at: Date.now(), op, detail: detail.slice(0, 300) });

  // Issued tokens, re-verified until they expire.
  const live: { token: string; exp: number }[] = [];
  const refreshTokens: { token: string; obtainedAt: number }[] = [];
  const jwksCache = new Map<string, JSONWebKeySet>();

  async function fetchJwks(base: string): Promise<JSONWebKeySet> {
    const res = await fetch(`${base}/jwks`);
    if (res.status !== 200) throw new Error(`jwks ${res.status}`);
    const set = (await res.json()) as JSONWebKeySet;
    jwksCache.set(base, set);
    return set;
  }

  /** Verifies as a relying party would: cached JWKS, one refetch on an unknown kid. */
  async function verify(token: string, base: string): Promise<boolean> {
    const kid = String(decodeProtectedHeader(token).kid);
    let set = jwksCache.get(base);
    if (!set?.keys.some((k) => k.kid === kid)) {
      try {
        set = await fetchJwks(base);
      } catch {
        // The JWKS endpoint never 5xxs once loaded; a transport failure is not a verdict.
        return true;
      }
    }
    try {
      await jwtVerify(token, createLocalJWKSet(set), { issuer });
      return true;
    } catch (err) {
      stats.verificationFailures.push(
        `${new Date().toISOString()} kid ${kid} via ${base}: ${(err as Error).message}`,
      );
      return false;
    }
  }

  async function accept(token: string) {
    stats.tokensVerified += 1;
    await verify(token, pick());
    live.push({ token, exp: Number(decodeJwt(token).exp) * 1000 });
  }

  async function tokenCall(base: string, form: Record<string, string>, auth: string) {
    const res = await fetch(`${base}/token`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form),
    });
    return {
      status: res.status,
      body: (await res.json().catch(() => ({}))) as Record<string, string>,
    };
  }

  const webAuth = `Basic ${Buffer.from('demo-web:demo-web-secret').toString('base64')}`;
  const serviceAuth = `Basic ${Buffer.from('demo-service:demo-service-secret').toString('base64')}`;

  const ops: Record<Op, () => Promise<void>> = {
    async code() {
      const base = pick();
      const verifier = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString(
        'base64url',
      );
      const challenge = Buffer.from(
        await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)),
      ).toString('base64url');
      const url = `${base}/auth?${new URLSearchParams({
        client_id: 'demo-web',
        response_type: 'code',
        redirect_uri: CALLBACK,
        scope: 'openid profile offline_access',
        code_challenge: challenge,
        code_challenge_method: 'S256',
        login_hint: Math.random() < 0.5 ? 'alice' : 'bob',
      })}`;
      const done = await new Browser().follow(url, {}, CALLBACK);
      const code = done.status === 0 ? new URL(done.url).searchParams.get('code') : null;
      if (!code) throw new Error(`authorize ended with ${done.status}`);
      const { status, body } = await tokenCall(
        pick(),
        { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: CALLBACK },
        webAuth,
      );
      if (status !== 200) throw new Error(`code redemption ${status} ${body.error}`);
      await accept(body.id_token!);
      if (body.refresh_token)
        refreshTokens.push({ token: body.refresh_token, obtainedAt: Date.now() });
      if (refreshTokens.length > 200) refreshTokens.shift();
    },
    async client_credentials() {
      const { status, body } = await tokenCall(
        pick(),
        { grant_type: 'client_credentials', scope: 'api:read' },
        serviceAuth,
      );
      if (status !== 200) throw new Error(`client_credentials ${status} ${body.error}`);
      await accept(body.access_token!);
    },
    async refresh() {
      const entry = refreshTokens.pop();
      if (!entry) return ops.code();
      const { status, body } = await tokenCall(
        pick(),
        { grant_type: 'refresh_token', refresh_token: entry.token },
        webAuth,
      );
      if (
        status === 400 &&
        body.error === 'invalid_grant' &&
        outage &&
        entry.obtainedAt < (outage.to ?? Date.now())
      ) {
        // Refresh tokens lived in the Redis that restarted empty: losing them is expected.
        stats.expectedRefreshLoss += 1;
        return;
      }
      if (status !== 200) throw new Error(`refresh ${status} ${body.error}`);
      await accept(body.id_token!);
      if (body.refresh_token)
        refreshTokens.push({ token: body.refresh_token, obtainedAt: Date.now() });
    },
    async jwks() {
      const base = pick();
      const res = await fetch(`${base}/jwks`);
      const etag = res.headers.get('etag');
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`jwks ${res.status}`);
      const again = await fetch(`${base}/jwks`, { headers: { 'if-none-match': etag ?? '' } });
      await again.arrayBuffer();
      if (again.status !== 304 && again.status !== 200)
        throw new Error(`jwks revalidation ${again.status}`);
    },
  };
  const mix: Op[] = ['code', 'code', 'client_credentials', 'client_credentials', 'refresh', 'jwks'];

  const worker = async () => {
    while (Date.now() < deadline) {
      const op = mix[Math.floor(Math.random() * mix.length)]!;
      try {
        await ops[op]();
        stats.ops[op] += 1;
      } catch (err) {
        fail(op, (err as Error).message);
      }
      await sleep(5);
    }
  };

  const rotator = async () => {
    while (Date.now() < deadline) {
      await sleep(ROTATE_MS);
      const targets = Math.random() < 0.3 ? bases : [pick()];
      const answers = await Promise.all(
        targets.map((b) =>
          fetch(`${b}/admin/keys/rotate`, {
            method: 'POST',
            headers: { authorization: `Bearer ${ADMIN}` },
          })
            .then(async (r) => {
              await r.arrayBuffer();
              return r.status;
            })
            .catch(() => 0),
        ),
      );
      if (answers.some((s) => s === 200)) stats.rotations += 1;
      stats.rotationConflicts += answers.filter((s) => s === 409).length;
      for (const s of answers) if (s !== 200 && s !== 409) fail('rotate', `rotate answered ${s}`);
    }
  };

  const reverifier = async () => {
    while (Date.now() < deadline + 1000) {
      await sleep(3000);
      const now = Date.now();
      for (let i = live.length - 1; i >= 0; i -= 1)
        if (live[i]!.exp - 2000 < now) live.splice(i, 1);
      for (const base of bases) {
        try {
          await fetchJwks(base);
        } catch (err) {
          fail('reverify', `jwks from ${base}: ${(err as Error).message}`);
          continue;
        }
        for (const { token, exp } of live) {
          // An expired token failing is the verifier doing its job, not a lost key.
          if (exp <= Date.now() + 1000) continue;
          stats.reverifications += 1;
          await verify(token, base);
        }
      }
    }
  };

  const memory: Record<number, { warm?: number; max: number; end: number }> = {};
  const sampler = async () => {
    while (Date.now() < deadline) {
      for (const p of instances) {
        const rss = rssOf(p);
        const m = memory[p.port] ?? { max: 0, end: 0 };
        memory[p.port] = m;
        if (Date.now() - started >= WARMUP_MS && m.warm === undefined) m.warm = rss;
        m.max = Math.max(m.max, rss);
        m.end = rss;
      }
      await sleep(2000);
    }
  };

  const restarter = async () => {
    await sleep(DURATION_MS / 2);
    const before = await unionKids(bases);
    outage = { from: Date.now() };
    await redis.stop();
    await sleep(3000);
    await redis.start();
    await waitAllReady(bases, 30_000);
    outage.to = Date.now();
    const after = await unionKids(bases);
    const lost = [...before].filter((k) => !after.has(k));
    // A key past its removal time may legitimately leave; with 2 min retention none may here.
    stats.kidsShrunk.push(...lost);
  };

  await Promise.all([
    ...Array.from({ length: CONCURRENCY }, worker),
    rotator(),
    reverifier(),
    sampler(),
    restarter(),
  ]);

  const errorsOutside = stats.errors.filter((e) => !inOutage(e.at));
  const growth = Object.fromEntries(
    Object.entries(memory).map(([port, m]) => [port, m.end - (m.warm ?? m.end)]),
  );
  const checks = {
    zeroVerificationFailures: stats.verificationFailures.length === 0,
    kidsNeverShrank: stats.kidsShrunk.length === 0,
    errorsOnlyInOutage: errorsOutside.length === 0,
    boundedMemory: Object.values(growth).every((g) => g < RSS_BOUND),
  };
  const summary = {
    durationS: DURATION_MS / 1000,
    rotateEveryS: ROTATE_MS / 1000,
    concurrency: CONCURRENCY,
    ops: stats.ops,
    tokensVerified: stats.tokensVerified,
    reverifications: stats.reverifications,
    verificationFailures: stats.verificationFailures.slice(0, 20),
    rotations: stats.rotations,
    rotationConflicts: stats.rotationConflicts,
    outage: outage && { ms: (outage.to ?? Date.now()) - outage.from },
    errorsInOutage: stats.errors.length - errorsOutside.length,
    errorsOutside: errorsOutside
      .slice(0, 20)
      .map((e) => ({ ...e, at: new Date(e.at).toISOString() })),
    expectedRefreshLoss: stats.expectedRefreshLoss,
    kidsShrunk: stats.kidsShrunk,
    publishedKidsAtEnd: (await unionKids(bases)).size,
    rssMb: Object.fromEntries(
      Object.entries(memory).map(([port, m]) => [
        port,
        { warm: mb(m.warm ?? 0), max: mb(m.max), end: mb(m.end) },
      ]),
    ),
    checks,
  };
  await Promise.all(instances.map((i) => i.stop()));
  await redis.stop();
  if (args.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  else printSummary(summary);
  process.exit(Object.values(checks).every(Boolean) ? 0 : 1);
}

function writeConfig(): string {
  const demo = demoConfig();
  const config = {
    ...demo,
    login: { userPicker: true, anyUser: false, headless: true },
    clients: (demo.clients ?? []).map((c) =>
      c.id === 'demo-web' ? { ...c, skipConsent: true } : c,
    ),
    resourceServers: (demo.resourceServers ?? []).map((r) => ({
      ...r,
      accessTokenTtl: `${TOKEN_TTL_S}s`,
    })),
    ttl: {
      accessToken: `${TOKEN_TTL_S}s`,
      idToken: `${TOKEN_TTL_S}s`,
      clientCredentials: `${TOKEN_TTL_S}s`,
    },
    clockTolerance: '1s',
    keys: { rotationPeriod: '1h', prePublication: '2s', retention: '2m', refreshInterval: '1s' },
  };
  const file = join(mkdtempSync(join(tmpdir(), 'oidc-issuer-soak-')), 'config.json');
  writeFileSync(file, JSON.stringify(config));
  return file;
}

async function waitAllReady(bases: string[], ms: number) {
  const until = Date.now() + ms;
  for (const base of bases) {
    for (;;) {
      const ok = await fetch(`${base}/readyz`)
        .then(async (r) => {
          await r.arrayBuffer();
          return r.ok;
        })
        .catch(() => false);
      if (ok) break;
      if (Date.now() > until) throw new Error(`${base} not ready within ${ms} ms`);
      await sleep(100);
    }
  }
}

async function unionKids(bases: string[]): Promise<Set<string>> {
  const kids = new Set<string>();
  for (const base of bases) {
    const set = (await (await fetch(`${base}/jwks`)).json()) as JSONWebKeySet;
    for (const k of set.keys) kids.add(String(k.kid));
  }
  return kids;
}

function rssOf(p: IssuerProcess): number {
  try {
    const status = readFileSync(`/proc/${p.child.pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function printSummary(s: Record<string, unknown>) {
  process.stdout.write(`oidc-issuer soak\n${JSON.stringify(s, null, 2)}\n`);
}

await main();
