import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { DEMO_API_AUDIENCE, demoConfig } from '../../src/config/demo.js';
import { ENV, loadConfig } from '../../src/config/load.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { Browser } from '../support/browser.js';
import { type IssuerProcess, spawnIssuer, startTestIssuer } from '../support/issuer.js';
import { freePort } from '../support/ports.js';
import { startRedis, type TestRedis } from '../support/redis.js';

/**
 * There is no Docker engine where the suite runs, so this checks docker-compose.yml and the
 * Dockerfile against what the issuer actually reads and serves, and runs their health-check
 * commands and the replicas' environment for real.
 */
const root = (file: string) => readFileSync(join(PACKAGE_ROOT, file), 'utf8');

interface Service {
  image?: string;
  build?: { context: string; target?: string };
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  networks?: { default?: { aliases?: string[] } };
  profiles?: string[];
}

/** Compose's `${VAR:-default}` interpolation, with no variables set (what `docker compose up` sees). */
const interpolate = (value: string) =>
  value.replace(/\$\{(\w+)(?::-([^}]*))?\}/g, (_, name: string, fallback?: string) => {
    const set = process.env[`COMPOSE_TEST_${name}`];
    return set ?? fallback ?? '';
  });

const compose = parseYaml(root('docker-compose.yml'), { merge: true }) as {
  services: Record<string, Service>;
};
const services = compose.services;
const envOf = (s: Service): Record<string, string> =>
  Object.fromEntries(
    Object.entries(s.environment ?? {}).map(([k, v]) => [k, interpolate(String(v))]),
  );
const replicas = Object.entries(services).filter(([, s]) => s.build?.target === 'runtime');
/** `[address:]host:container` of a service's first published port, interpolated. */
const portMapping = (s: Service) => {
  const parts = interpolate(s.ports?.[0] ?? '').split(':');
  const [host, container] = parts.slice(-2).map(Number);
  return { address: parts.length > 2 ? parts[0] : undefined, host, container };
};

/** Dockerfile stages: name → instructions (continuation lines joined, comments dropped). */
function dockerStages(text: string): Map<string, string[]> {
  const stages = new Map<string, string[]>();
  let current: string[] = [];
  const lines = text
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  for (const line of lines) {
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) {
      current = [line];
      stages.set(from[2] ?? `stage${stages.size}`, current);
    } else current.push(line);
  }
  return stages;
}
const dockerfile = root('Dockerfile');
const stages = dockerStages(dockerfile);
const lastStage = [...stages.keys()].at(-1) ?? '';
const runtime = stages.get('runtime') ?? [];
const instruction = (stage: string[], name: string) =>
  stage.filter((l) => l.toUpperCase().startsWith(`${name} `)).map((l) => l.slice(name.length + 1));
const execForm = (text: string): string[] => JSON.parse(text.replace(/^CMD\s+/i, ''));

function run(argv: string[], env: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const [cmd = '', ...args] = argv;
    const child = execFile(cmd === 'node' ? process.execPath : cmd, args, {
      env: { ...process.env, ...env },
      timeout: 10_000,
    });
    child.on('exit', (code) => resolve(code ?? -1));
  });
}

describe('docker-compose.yml', () => {
  it('runs a pinned redis:7.x.y with noeviction and a ping health check', () => {
    const redis = services.redis;
    expect(redis?.image).toMatch(/^redis:7\.\d+\.\d+$/);
    expect(redis?.command?.join(' ')).toContain('--maxmemory-policy noeviction');
    expect(redis?.healthcheck?.test).toEqual(['CMD', 'redis-cli', 'ping']);
  });

  it('runs two issuer replicas that set only variables the issuer reads, accepted as they are', () => {
    expect(replicas.map(([name]) => name)).toEqual(['issuer', 'issuer-2']);
    const known = new Set<string>(Object.values(ENV));
    const configs = replicas.map(([name, s]) => {
      const env = envOf(s);
      for (const key of Object.keys(env)) expect(known, `${name}: ${key}`).toContain(key);
      const config = loadConfig({ env });
      expect(config.host).toBe('0.0.0.0');
      expect(config.port).toBe(Number(env.PORT));
      expect(config.issuer).toBe(env.ISSUER);
      expect(config.redis.url).toBe(env.REDIS_URL);
      expect(config.keys.secret).toBeDefined();
      expect(config.trustProxy).toBe(false);
      return config;
    });
    // Shared state needs the same issuer (hence Redis namespace), Redis and key secret.
    const [a, b] = configs;
    expect(b?.issuer).toBe(a?.issuer);
    expect(b?.redis).toEqual(a?.redis);
    expect(b?.keys.secret).toBe(a?.keys.secret);
  });

  it('wires ports, Redis and health checks consistently', () => {
    const expose = Number(instruction(runtime, 'EXPOSE')[0]);
    for (const [name, s] of replicas) {
      const env = envOf(s);
      const { container } = portMapping(s);
      expect(container, name).toBe(Number(env.PORT));
      expect(container, name).toBe(expose);
      const redisUrl = new URL(env.REDIS_URL ?? '');
      expect(services[redisUrl.hostname], `${name}: REDIS_URL host is a service`).toBeDefined();
      expect(redisUrl.port || '6379').toBe('6379');
      expect(s.depends_on?.[redisUrl.hostname]?.condition).toBe('service_healthy');
      const check = s.healthcheck?.test.join(' ') ?? '';
      expect(check).toContain(`http://127.0.0.1:${env.PORT}/readyz`);
    }
    const hostPorts = replicas.map(([, s]) => portMapping(s).host);
    expect(new Set(hostPorts).size).toBe(hostPorts.length);
  });

  it('publishes every port on 127.0.0.1 unless PUBLISH_ADDRESS says otherwise', () => {
    const published = Object.entries(services).filter(([, s]) => s.ports);
    expect(published.length).toBeGreaterThanOrEqual(5);
    for (const [name, s] of published) {
      expect(s.ports, name).toHaveLength(1);
      expect(portMapping(s).address, name).toBe('127.0.0.1');
    }
    process.env.COMPOSE_TEST_PUBLISH_ADDRESS = '0.0.0.0';
    try {
      for (const [name, s] of published) expect(portMapping(s).address, name).toBe('0.0.0.0');
    } finally {
      delete process.env.COMPOSE_TEST_PUBLISH_ADDRESS;
    }
  });

  it('gives browser and containers one issuer URL: a shared hostname on the same port', () => {
    const [, first] = replicas[0] ?? [];
    const issuer = new URL(envOf(first ?? {}).ISSUER ?? '');
    expect(issuer.hostname).toMatch(/\.localtest\.me$/);
    // The browser reaches the published port; containers reach the alias on the container port.
    expect(Number(issuer.port)).toBe(portMapping(first ?? {}).host);
    expect(Number(issuer.port)).toBe(portMapping(first ?? {}).container);
    for (const [name, s] of replicas) {
      expect(s.networks?.default?.aliases, name).toContain(issuer.hostname);
      // Containers use the alias even when ISSUER is overridden to localhost.
      const allowed = loadConfig({ env: { ...envOf(s), ISSUER: 'http://localhost:3000' } });
      expect(allowed.allowedHosts, name).toEqual(
        expect.arrayContaining([issuer.hostname, 'localhost', '127.0.0.1']),
      );
    }
    for (const name of ['rp-web', 'api', 'spa']) {
      expect(envOf(services[name] ?? {}).ISSUER, name).toBe(issuer.href.replace(/\/$/, ''));
    }
  });

  it('runs the examples at the URLs the demo config registers', () => {
    const demo = demoConfig();
    const client = (id: string) => demo.clients?.find((c) => c.id === id);
    const rp = envOf(services['rp-web'] ?? {});
    const spa = envOf(services.spa ?? {});
    const api = envOf(services.api ?? {});
    expect(client('demo-web')?.redirectUris).toContain(`${rp.BASE_URL}/callback`);
    expect(client('demo-spa')?.redirectUris).toContain(`${spa.BASE_URL}/callback`);
    expect(client('demo-spa')?.postLogoutRedirectUris).toContain(`${spa.BASE_URL}/`);
    expect(client('demo-spa')?.corsOrigins).toContain(spa.BASE_URL);
    expect(api.CORS_ORIGINS?.split(',')).toContain(spa.BASE_URL);
    expect(api.AUDIENCE).toBe(DEMO_API_AUDIENCE);
    // No resource indicator: the issuer picks demo-spa's default resource, the API.
    expect(spa.RESOURCE).toBeUndefined();
    expect(spa.API_URL).toBe(`http://localhost:${api.PORT}`);
    for (const name of ['rp-web', 'api', 'spa']) {
      const s = services[name] ?? {};
      const env = envOf(s);
      expect(s.profiles).toEqual(['examples']);
      expect(s.build?.target).toBe('examples');
      expect(portMapping(s)).toMatchObject({ host: Number(env.PORT), container: Number(env.PORT) });
      expect(s.command?.[1]).toBe(`examples/${name}/server.js`);
      expect(() => root(s.command?.[1] ?? '')).not.toThrow();
    }
  });
});

describe('Dockerfile', () => {
  it('builds in stages and runs the built CLI as a non-root user', () => {
    expect(lastStage).toBe('runtime');
    expect(runtime[0]).toMatch(/^FROM \$\{NODE_IMAGE\}/);
    // A pinned Node 24 release, the one CI runs the suite on.
    const ciNode24 = /^NODE24_VERSION=(\S+)$/m.exec(root('.ci/run'))?.[1];
    expect(ciNode24).toMatch(/^24\.\d+\.\d+$/);
    expect(dockerfile).toMatch(new RegExp(`^ARG NODE_IMAGE=node:${ciNode24}-slim$`, 'm'));
    const pkg = JSON.parse(root('package.json')) as { scripts: { start: string } };
    const cmd = execForm(instruction(runtime, 'CMD').at(-1) ?? '[]');
    expect(cmd).toEqual(['node', 'dist/bundle/main.js', 'start']);
    expect(pkg.scripts.start).toBe(cmd.join(' '));
    expect(instruction(runtime, 'EXPOSE')).toEqual(['3000']);
    expect(instruction(runtime, 'USER')).toEqual(['node']);
    expect(instruction(runtime, 'ENV').join(' ')).toMatch(/\bHOST=0\.0\.0\.0\b/);
    expect(instruction(runtime, 'RUN').join(' ')).toContain('npm ci --omit=dev');
    expect(instruction(runtime, 'COPY')).toEqual(
      expect.arrayContaining(['--from=build /app/dist/bundle ./dist/bundle', 'views ./views']),
    );
    expect(instruction(stages.get('build') ?? [], 'RUN')).toEqual(['npx rolldown -c']);
  });

  it('sends the build only what it copies (.dockerignore is an allow-list)', () => {
    const ignore = root('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    expect(ignore[0]).toBe('*');
    const allowed = ignore
      .filter((l) => l.startsWith('!'))
      .map((l) => l.slice(1).replace(/\/$/, ''));
    for (const secret of ['keys', '.env', 'node_modules', 'dist']) {
      expect(allowed).not.toContain(secret);
    }
    const copied = [...stages.values()]
      .flatMap((s) => instruction(s, 'COPY'))
      .filter((c) => !c.startsWith('--from'))
      .flatMap((c) => c.split(/\s+/).slice(0, -1));
    for (const source of copied) expect(allowed, source).toContain(source.replace(/\/$/, ''));
  });
});

describe('the compose replicas, run from their own environment', () => {
  let redis: TestRedis;
  const running: IssuerProcess[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    for (const [, s] of replicas) {
      const { PORT: _port, HOST: _host, ...env } = envOf(s);
      running.push(await spawnIssuer({ ...env, REDIS_URL: redis.url, LOG_LEVEL: 'warn' }));
    }
  });
  afterAll(async () => {
    await Promise.all(running.map((p) => p.stop()));
    await redis?.stop();
  });

  it('share one key ring and one token store, and pass both health checks', async () => {
    const [one, two] = running;
    if (!one || !two) throw new Error('replicas did not start');
    const issuerUrl = envOf(services.issuer ?? {}).ISSUER;
    const discovery = (await (
      await fetch(`http://127.0.0.1:${one.port}/.well-known/openid-configuration`)
    ).json()) as { issuer: string };
    expect(discovery.issuer).toBe(issuerUrl);
    // The names browsers and containers use are served; any other Host is refused.
    const withHost = (host: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request(
          { host: '127.0.0.1', port: one.port, path: '/.well-known/openid-configuration' },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.setHeader('host', host);
        req.on('error', reject);
        req.end();
      });
    expect(await withHost(new URL(issuerUrl ?? '').host)).toBe(200);
    expect(await withHost('localhost:3000')).toBe(200);
    expect(await withHost('evil.example:3000')).toBe(400);

    const [jwksOne, jwksTwo] = await Promise.all(
      running.map(
        async (p) =>
          (await (await fetch(`http://127.0.0.1:${p.port}/jwks`)).json()) as JSONWebKeySet,
      ),
    );
    if (!jwksOne) throw new Error('no JWKS');
    expect(jwksOne.keys.length).toBeGreaterThan(0);
    expect(jwksTwo).toEqual(jwksOne);

    // A code issued through replica one's login pages is redeemed at replica two: sessions,
    // interactions and codes live in the shared Redis.
    const callback = 'http://localhost:3001/callback';
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const authorize = new URL(`http://127.0.0.1:${one.port}/auth`);
    authorize.search = new URLSearchParams({
      client_id: 'demo-web',
      response_type: 'code',
      redirect_uri: callback,
      scope: 'openid',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    }).toString();
    const browser = new Browser();
    const login = await browser.follow(authorize.href, {}, callback);
    expect(login.status, login.body).toBe(200);
    const consent = await browser.submit(login, /\/login$/, { action: 'pick' }, callback, 0);
    const done = await browser.submit(consent, /\/confirm$/, {}, callback);
    const code = new URL(done.url).searchParams.get('code');
    expect(code).toBeTruthy();
    const token = await fetch(`http://127.0.0.1:${two.port}/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from('demo-web:demo-web-secret').toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: code ?? '',
        redirect_uri: callback,
        code_verifier: verifier,
      }),
    });
    expect(token.status).toBe(200);
    const { id_token } = (await token.json()) as { id_token: string };
    const { payload } = await jwtVerify(id_token, createLocalJWKSet(jwksOne), {
      issuer: issuerUrl,
      audience: 'demo-web',
    });
    expect(payload.sub).toBe('alice');

    // The image's HEALTHCHECK (liveness) and compose's (readiness), run as Docker would.
    const imageCheck = execForm(
      (instruction(runtime, 'HEALTHCHECK').at(-1) ?? '').replace(/^.*?CMD\s+/, ''),
    );
    expect(imageCheck.join(' ')).toContain('/healthz');
    const composeCheck = (services.issuer?.healthcheck?.test ?? []).slice(1);
    const containerPort = String(portMapping(services.issuer ?? {}).container);
    const against = (port: number) =>
      composeCheck.map((a) => a.replace(containerPort, String(port)));
    expect(await run(imageCheck, { PORT: String(one.port) })).toBe(0);
    expect(await run(against(one.port), {})).toBe(0);
    await redis.stop();
    expect(await run(against(one.port), {})).toBe(1);
    expect(await run(imageCheck, { PORT: String(one.port) })).toBe(0);
    await one.stop();
    expect(await run(imageCheck, { PORT: String(one.port) })).toBe(1);
  });
});

describe('docker run -p 8080:3000 (docs/docker.md)', () => {
  it('advertises the container port unless ISSUER is set, and the published port with it', async () => {
    // A port forward stands for Docker's: the outside port reaches the container's PORT.
    const inside = await freePort();
    const outside = await freePort();
    const forward = createServer((client) => {
      const upstream = connect(inside, '127.0.0.1');
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((r) => forward.listen(outside, '127.0.0.1', r));
    try {
      for (const [issuerEnv, advertised] of [
        ['', `http://localhost:${inside}`], // no ISSUER, as the image runs by default
        [`http://localhost:${outside}`, `http://localhost:${outside}`],
      ]) {
        const running = await spawnIssuer({ PORT: String(inside), ISSUER: issuerEnv! });
        try {
          const res = await fetch(`http://127.0.0.1:${outside}/.well-known/openid-configuration`);
          expect(((await res.json()) as { issuer: string }).issuer).toBe(advertised);
        } finally {
          await running.stop();
        }
      }
    } finally {
      forward.close();
    }
  }, 60_000);

  it('names every environment variable the issuer reads', () => {
    const doc = root('docs/docker.md');
    for (const name of Object.values(ENV)) expect(doc, name).toContain(`\`${name}\``);
  });
});

describe('issuer URLs behind Docker networking and reverse proxies (docs/docker.md)', () => {
  const discoveryWith = (port: number, headers: Record<string, string>) =>
    new Promise<{ issuer: string; token_endpoint: string }>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, path: '/.well-known/openid-configuration', headers },
        (res) => {
          let body = '';
          res.on('data', (d) => {
            body += d;
          });
          res.on('end', () => resolve(JSON.parse(body)));
        },
      );
      req.on('error', reject);
      req.end();
    });

  it('builds endpoint URLs from the (allowed) Host a client used unless it trusts X-Forwarded-*', async () => {
    const forwarded = { 'x-forwarded-host': 'id.example.test', 'x-forwarded-proto': 'https' };
    const direct = await startTestIssuer({
      issuer: 'https://id.example.test',
      allowedHosts: ['issuer'],
    });
    const proxied = await startTestIssuer({ issuer: 'https://id.example.test', trustProxy: true });
    try {
      const byServiceName = await discoveryWith(direct.port, { host: 'issuer:3000', ...forwarded });
      expect(byServiceName.issuer).toBe('https://id.example.test');
      expect(byServiceName.token_endpoint).toBe('http://issuer:3000/token');
      const behindProxy = await discoveryWith(proxied.port, { host: 'issuer:3000', ...forwarded });
      expect(behindProxy.token_endpoint).toBe('https://id.example.test/token');
    } finally {
      await Promise.all([direct.close(), proxied.close()]);
    }
  });
});
