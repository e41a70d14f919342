import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { connect } from 'node:net';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type IssuerProcess, spawnIssuer, waitFor } from '../support/issuer.js';
import { startRedis, type TestRedis, uniqueNamespace } from '../support/redis.js';
import { runCli } from './cli-run.js';

// `start --workers 2` on a real Redis: the processes are told apart by the worker id each
// request log line carries, found by the X-Request-Id the test sends.
const ADMIN = 'workers-test-admin-token-0123456789';
const SERVICE = { id: 'demo-service', secret: 'demo-service-secret' };
let redis: TestRedis;
let issuer: IssuerProcess;

beforeAll(async () => {
  redis = await startRedis();
  issuer = await spawnIssuer(
    { REDIS_URL: redis.url, REDIS_NAMESPACE: uniqueNamespace('workers'), ADMIN_TOKEN: ADMIN },
    ['--workers', '2'],
  );
  await waitFor(async () => readyWorkers().length === 2, 30_000, 'two workers ready').catch(
    (err: Error) => {
      // What the supervisor and workers printed is the only account of why one never got ready.
      throw new Error(`${err.message}; the issuer printed:\n${issuer.output().slice(-4000)}`);
    },
  );
}, 60_000);

afterAll(async () => {
  await issuer?.stop();
  await redis?.stop();
});

interface LogLine {
  msg: string;
  worker?: number;
  pid?: number;
  role?: string;
  reqId?: string;
  signal?: string;
}

const logLines = (): LogLine[] =>
  issuer
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);

/** The supervisor's `worker ready` lines: worker id and pid of each worker that served. */
const readyWorkers = () =>
  logLines().filter((l) => l.role === 'supervisor' && l.msg === 'worker ready');

interface Answer {
  status: number;
  body: string;
  /** The worker whose request log line carries this request's id. */
  worker: number;
}

/** One request on a connection of its own (so the cluster may hand it to any worker). */
async function send(
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  const reqId = randomUUID();
  const { status, body } = await new Promise<{ status: number; body: string }>(
    (resolve, reject) => {
      const req = request(
        `http://127.0.0.1:${issuer.port}${path}`,
        {
          method: options.method ?? 'GET',
          agent: false,
          headers: { 'x-request-id': reqId, connection: 'close', ...options.headers },
        },
        (res) => {
          let text = '';
          res.on('data', (d) => {
            text += d;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on('error', reject);
      req.end(options.body);
    },
  );
  let worker: number | undefined;
  await waitFor(
    async () => {
      worker = logLines().find((l) => l.reqId === reqId && l.msg === 'request')?.worker;
      return worker !== undefined;
    },
    5000,
    `the request log line of ${reqId}`,
  );
  return { status, body, worker: worker! };
}

const tokenRequest = () =>
  send('/token', {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${SERVICE.id}:${SERVICE.secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials&resource=http%3A%2F%2Flocalhost%3A4000%2Fapi',
  });

/** Sends requests until `workers` each answered one (round-robin makes that quick). */
async function fromEach<T>(
  workers: number[],
  call: () => Promise<Answer>,
  check: (a: Answer) => Promise<T>,
): Promise<Map<number, T>> {
  const seen = new Map<number, T>();
  for (let i = 0; i < 20 && seen.size < workers.length; i++) {
    const answer = await call();
    if (workers.includes(answer.worker)) seen.set(answer.worker, await check(answer));
  }
  expect([...seen.keys()].sort()).toEqual([...workers].sort());
  return seen;
}

const jwksOf = (a: Answer) => JSON.parse(a.body) as { keys: { kid: string }[] };

describe('start --workers 2 on Redis', () => {
  it('runs two worker processes on one port; tokens from both verify against the JWKS', async () => {
    const ready = readyWorkers();
    expect(new Set(ready.map((w) => w.pid)).size).toBe(2);
    expect(issuer.output()).toContain('workers     2 processes');
    const jwks = createLocalJWKSet(jwksOf(await send('/jwks')) as never);
    await fromEach(
      ready.map((w) => w.worker!),
      tokenRequest,
      async (a) => {
        expect(a.status, a.body).toBe(200);
        const { access_token } = JSON.parse(a.body) as { access_token: string };
        const { payload } = await jwtVerify(access_token, jwks, { issuer: issuer.url });
        return payload.client_id;
      },
    );
  });

  it('a rotation through the admin API on one worker is in every worker’s JWKS', async () => {
    const before = jwksOf(await send('/jwks')).keys.map((k) => k.kid);
    const rotated = await send('/admin/keys/rotate', {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ now: true }),
    });
    expect(rotated.status, rotated.body).toBe(200);
    const workers = readyWorkers().map((w) => w.worker!);
    // The ring's change reaches each worker through Redis within a moment.
    await waitFor(
      async () => {
        const kids = await fromEach(
          workers,
          () => send('/jwks'),
          async (a) =>
            jwksOf(a)
              .keys.map((k) => k.kid)
              .sort()
              .join(),
        );
        const served = new Set(kids.values());
        return served.size === 1 && [...served][0] !== [...before].sort().join();
      },
      10_000,
      'the rotated JWKS on every worker',
    );
  });

  it('restarts a worker killed with SIGKILL while the port keeps answering', async () => {
    const [victim, survivor] = readyWorkers();
    process.kill(victim!.pid!, 'SIGKILL');
    await waitFor(
      async () => logLines().some((l) => l.msg === 'worker exited' && l.pid === victim!.pid),
      5000,
      'the supervisor to see the worker exit',
    );
    // Until the replacement serves, the survivor answers everything.
    for (let i = 0; i < 5; i++) {
      const a = await tokenRequest();
      expect(a.status, a.body).toBe(200);
    }
    await waitFor(async () => readyWorkers().length === 3, 30_000, 'the replacement worker');
    const restarted = logLines().find((l) => l.msg === 'worker restarted');
    expect(restarted).toMatchObject({ replaces: victim!.worker });
    const replacement = readyWorkers()[2]!;
    await fromEach([survivor!.worker!, replacement.worker!], tokenRequest, async (a) => {
      expect(a.status, a.body).toBe(200);
    });
  }, 60_000);

  it('SIGTERM finishes the request in flight, then every process exits 0 within the bound', async () => {
    // A token request whose body is still arriving when SIGTERM comes: in flight.
    const body = 'grant_type=client_credentials&resource=http%3A%2F%2Flocalhost%3A4000%2Fapi';
    const socket = connect(issuer.port, '127.0.0.1');
    await new Promise<void>((r) => socket.once('connect', () => r()));
    let response = '';
    socket.on('data', (d) => {
      response += d;
    });
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.write(
      [
        'POST /token HTTP/1.1',
        `Host: 127.0.0.1:${issuer.port}`,
        `Authorization: Basic ${Buffer.from(`${SERVICE.id}:${SERVICE.secret}`).toString('base64')}`,
        'Content-Type: application/x-www-form-urlencoded',
        `Content-Length: ${body.length}`,
        'Connection: close',
        '',
        body.slice(0, 10),
      ].join('\r\n'),
    );
    await new Promise((r) => setTimeout(r, 300));
    const pids = readyWorkers().map((w) => w.pid!);
    const exited = new Promise<number | null>((r) => issuer.child.once('exit', (code) => r(code)));
    const started = Date.now();
    issuer.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    // write, not end: a half-closed request is one the client gave up on (Node aborts it).
    socket.write(body.slice(10));
    await closed;
    expect(response).toMatch(/^HTTP\/1\.1 200 /);
    expect(response).toContain('"access_token"');
    expect(await exited).toBe(0);
    expect(Date.now() - started).toBeLessThan(15_000);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow(); // gone
    expect(logLines().some((l) => l.role === 'supervisor' && l.msg === 'shutting down')).toBe(true);
  }, 30_000);
});

describe('start --workers refuses what cannot work, once', () => {
  it('without Redis: more than one worker is refused, naming --workers and why', async () => {
    const res = await runCli(['start', '--workers', '2'], { env: { PORT: '0' } });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(
      /^oidc-issuer: --workers 2: more than one worker needs Redis .*memory inside one process/m,
    );
    const env = await runCli(['start'], { env: { PORT: '0', WORKERS: '2' } });
    expect(env.code).toBe(2);
    expect(env.stderr).toMatch(/^oidc-issuer: WORKERS 2: more than one worker needs Redis/m);
  });

  it('a count that is not one: exit 2 naming the flag', async () => {
    const res = await runCli(['start', '--workers', '0'], { env: { PORT: '0' } });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/^oidc-issuer: --workers: must be a whole number .* or auto/m);
  });

  it('a config error exits 2 once, before any worker is forked', async () => {
    const res = await runCli(['start', '--workers', '2'], {
      env: { REDIS_URL: redis.url, PORT: 'not-a-port' },
    });
    expect(res.code).toBe(2);
    expect(res.stderr.split('\n').filter((l) => l.startsWith('oidc-issuer: '))).toHaveLength(1);
    expect(res.stderr).toMatch(/invalid configuration: PORT/);
    expect(res.stdout).not.toContain('worker started');
  });

  it('a fault at start in a worker (a ring sealed with another secret): one message, its exit code', async () => {
    const env = {
      REDIS_URL: redis.url,
      REDIS_NAMESPACE: uniqueNamespace('sealed'),
      ISSUER: 'http://localhost:3998',
    };
    const made = await runCli(['keys', 'rotate', '--now'], {
      env: { ...env, KEYSTORE_SECRET: 'the-secret-that-sealed-the-ring' },
    });
    expect(made.code, made.stderr).toBe(0);
    const res = await runCli(['start', '--workers', '2'], {
      env: { ...env, PORT: '0', KEYSTORE_SECRET: 'another-secret-of-enough-length' },
      timeoutMs: 30_000,
    });
    expect(res.code).toBe(2);
    const failures = res.stderr.split('\n').filter((l) => l.includes('KEYRING_SECRET_MISMATCH'));
    expect(failures).toHaveLength(1);
    expect(res.stderr).toMatch(/worker 1 stopped before it served \(exit code 2\)/);
    expect(res.stdout.match(/"worker started"/g)).toHaveLength(1);
  }, 40_000);
});
