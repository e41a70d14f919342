import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, customFetch, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../src/config/env.js';
import { parseConfig } from '../../src/config/load.js';
import { reconfigure } from '../../src/config/reload.js';
import { ConfigError } from '../../src/errors.js';
import { LOCAL_CA_FILES, localCertificate } from '../../src/http/local-ca.js';
import { createTestIssuer } from '../../src/index.js';
import type { RunningIssuer } from '../../src/issuer.js';
import { Browser, rpSignIn, WEB, WEB_CALLBACK } from '../support/flows.js';
import { CLI, startTestIssuer } from '../support/issuer.js';
import { freePort } from '../support/ports.js';
import { trustingFetch } from '../support/tls.js';
import { runCli } from './cli-run.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'oidc-issuer-tls-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const caDir = (keysDir: string) => join(keysDir, 'tls');
const read = (keysDir: string, file: keyof typeof LOCAL_CA_FILES) =>
  readFileSync(join(caDir(keysDir), LOCAL_CA_FILES[file]), 'utf8');

describe('tls: auto', () => {
  let keysDir: string;
  let issuer: RunningIssuer;
  let secureFetch: typeof fetch;
  beforeAll(async () => {
    keysDir = join(dir, 'auto-keys');
    issuer = await startTestIssuer({ tls: 'auto', keys: { dir: keysDir } });
    secureFetch = trustingFetch(read(keysDir, 'caCert'));
  });
  afterAll(() => issuer?.close());

  it('makes a local CA and a certificate under the keys folder, private keys 0600', () => {
    expect(issuer.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(issuer.localCa).toMatchObject({
      caFile: join(caDir(keysDir), 'ca.pem'),
      made: 'ca',
      names: ['localhost', '127.0.0.1', '::1'],
    });
    for (const key of ['ca-key.pem', 'key.pem']) {
      expect(statSync(join(caDir(keysDir), key)).mode & 0o777).toBe(0o600);
    }
    expect(statSync(caDir(keysDir)).mode & 0o077).toBe(0);
    // The server certificate is issued by the CA, for the loopback names (checked by openssl).
    const text = execFileSync('openssl', ['x509', '-noout', '-text'], {
      input: read(keysDir, 'cert'),
    }).toString();
    expect(text).toMatch(/DNS:localhost, IP Address:127\.0\.0\.1, IP Address:0:0:0:0:0:0:0:1/);
    expect(text).toContain('TLS Web Server Authentication');
    const verified = execFileSync(
      'openssl',
      ['verify', '-CAfile', join(caDir(keysDir), 'ca.pem'), join(caDir(keysDir), 'cert.pem')],
      { encoding: 'utf8' },
    );
    expect(verified).toMatch(/OK/);
  });

  it('serves discovery over https to a client that trusts the CA, and only to it', async () => {
    const doc = (await (
      await secureFetch(`${issuer.url}/.well-known/openid-configuration`)
    ).json()) as Record<string, string>;
    expect(doc.issuer).toBe(issuer.url);
    for (const field of ['authorization_endpoint', 'token_endpoint', 'jwks_uri']) {
      expect(doc[field]).toMatch(new RegExp(`^${issuer.url}/`));
    }
    // The global fetch does not trust the local CA: the connection is refused, not served.
    await expect(fetch(`${issuer.url}/jwks`)).rejects.toThrow();
  });

  it('runs the code flow with openid-client, which requires https, and the JWKS over https', async () => {
    // openid-client refuses a plain-http issuer unless told otherwise: the https one it takes.
    const plain = await startTestIssuer();
    try {
      await expect(oidc.discovery(new URL(plain.url), WEB.id, WEB.secret)).rejects.toThrow(
        /only requests to HTTPS are allowed/,
      );
    } finally {
      await plain.close();
    }
    const config = await oidc.discovery(new URL(issuer.url), WEB.id, WEB.secret, undefined, {
      [oidc.customFetch]: secureFetch,
    });
    const tokens = await rpSignIn(config, new Browser(secureFetch));
    const claims = tokens.claims();
    expect(claims?.iss).toBe(issuer.url);
    expect(claims?.sub).toBe('alice');
    const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, 'alice');
    expect(userinfo.sub).toBe('alice');
    // A resource server checks the ID token against the JWKS, fetched over https.
    const jwks = createRemoteJWKSet(new URL(`${issuer.url}/jwks`), {
      [customFetch]: secureFetch,
    });
    const { payload } = await jwtVerify(tokens.id_token ?? '', jwks, {
      issuer: issuer.url,
      audience: WEB.id,
    });
    expect(payload.sub).toBe('alice');
  });

  it('sets its cookies secure', async () => {
    const config = await oidc.discovery(new URL(issuer.url), WEB.id, WEB.secret, undefined, {
      [oidc.customFetch]: secureFetch,
    });
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: WEB_CALLBACK,
      scope: 'openid',
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    const res = await secureFetch(url, { redirect: 'manual' });
    expect(res.status).toBe(303);
    const cookies = res.headers.getSetCookie();
    expect(cookies.some((c) => c.startsWith('_interaction='))).toBe(true);
    for (const cookie of cookies) expect(cookie).toMatch(/;\s*secure/i);
  });

  it('reuses the CA and the certificate on the next start', async () => {
    const before = { ca: read(keysDir, 'caCert'), cert: read(keysDir, 'cert') };
    const again = await startTestIssuer({ tls: 'auto', keys: { dir: keysDir } });
    try {
      expect(again.localCa?.made).toBe('nothing');
      expect(read(keysDir, 'caCert')).toBe(before.ca);
      expect(read(keysDir, 'cert')).toBe(before.cert);
      const res = await secureFetch(`${again.url}/jwks`);
      expect(res.status).toBe(200);
    } finally {
      await again.close();
    }
  });

  it('makes a new certificate from the same CA when the issuer names another host', async () => {
    const before = { ca: read(keysDir, 'caCert'), cert: read(keysDir, 'cert') };
    const port = await freePort();
    const other = await startTestIssuer({
      tls: 'auto',
      keys: { dir: keysDir },
      port,
      issuer: `https://idp.example.test:${port}`,
      allowedHosts: ['idp.example.test', 'localhost'],
    });
    try {
      expect(other.localCa).toMatchObject({
        made: 'certificate',
        names: ['localhost', '127.0.0.1', '::1', 'idp.example.test'],
      });
      expect(read(keysDir, 'caCert')).toBe(before.ca);
      expect(read(keysDir, 'cert')).not.toBe(before.cert);
      // Still trusted with the CA file people already trust.
      const res = await secureFetch(`https://localhost:${port}/jwks`);
      expect(res.status).toBe(200);
    } finally {
      await other.close();
    }
  });
});

describe('the local CA over time', () => {
  const DAY = 86_400_000;
  const names = ['localhost', '127.0.0.1', '::1'];

  it('makes the certificate again near its end, and the CA (and certificate) at the CA’s end', async () => {
    const folder = join(dir, 'ageing');
    const file = (name: string) => readFileSync(join(folder, name), 'utf8');
    const now = Date.now();
    expect((await localCertificate(folder, names, now)).made).toBe('ca');
    const ca = file('ca.pem');
    const cert = file('cert.pem');
    expect((await localCertificate(folder, names, now + 30 * DAY)).made).toBe('nothing');
    expect(file('cert.pem')).toBe(cert);
    // The certificate lasts 800 days; within a week of its end it is made again, same CA.
    expect((await localCertificate(folder, names, now + 795 * DAY)).made).toBe('certificate');
    expect(file('ca.pem')).toBe(ca);
    expect(file('cert.pem')).not.toBe(cert);
    // The CA lasts ten years.
    expect((await localCertificate(folder, names, now + 3651 * DAY)).made).toBe('ca');
    expect(file('ca.pem')).not.toBe(ca);
  });

  it('makes the certificate again when its key file no longer matches it', async () => {
    const folder = join(dir, 'tampered');
    const now = Date.now();
    await localCertificate(folder, names, now);
    const other = await localCertificate(join(dir, 'tampered-other'), names, now);
    writeFileSync(join(folder, 'key.pem'), other.key);
    const again = await localCertificate(folder, names, now);
    expect(again.made).toBe('certificate');
    expect(again.key).toBe(readFileSync(join(folder, 'key.pem'), 'utf8'));
  });
});

/** `oidc-issuer start` as a child process, until its banner is out (or it exits). */
async function startCli(
  cwd: string,
  env: Record<string, string>,
): Promise<{ child: ChildProcess; banner: string }> {
  const clean: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.values(ENV)) delete clean[name];
  const child = spawn(process.execPath, [CLI, 'start'], {
    cwd,
    env: { ...clean, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let banner = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no banner within 15 s:\n${banner}`)), 15_000);
    child.stderr?.on('data', (d) => {
      banner += d;
      if (banner.includes('curl --cacert')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code}:\n${banner}`));
    });
  });
  return { child, banner };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

describe('oidc-issuer start with TLS=auto', () => {
  it('defaults the issuer to https://localhost:<port> and prints how to trust the CA', async () => {
    const cwd = join(dir, 'cli');
    mkdirSync(cwd);
    const port = await freePort();
    const { child, banner } = await startCli(cwd, { TLS: 'auto', PORT: String(port) });
    try {
      const issuer = `https://localhost:${port}`;
      const caFile = join(cwd, 'keys', 'tls', 'ca.pem');
      expect(banner).toContain(`issuer      ${issuer}`);
      expect(banner).toContain(`local CA ${caFile} (new CA;`);
      const trust = /NODE_EXTRA_CA_CERTS=(\S+)/.exec(banner)?.[1];
      expect(trust).toBe(caFile);
      expect(banner).toContain(
        `curl --cacert ${caFile} ${issuer}/.well-known/openid-configuration`,
      );
      // The printed line works: a Node process given that variable trusts the issuer.
      const out = execFileSync(
        process.execPath,
        [
          '-e',
          `fetch(${JSON.stringify(`${issuer}/.well-known/openid-configuration`)}).then(r => r.json()).then(d => console.log(d.issuer))`,
        ],
        { env: { ...process.env, NODE_EXTRA_CA_CERTS: trust ?? '' }, encoding: 'utf8' },
      );
      expect(out.trim()).toBe(issuer);
      // And so does the printed curl line.
      const curl = execFileSync('curl', ['-sS', '--cacert', caFile, `${issuer}/healthz`], {
        encoding: 'utf8',
      });
      expect(curl).toMatch(/ok/i);
      // The demo's "try:" line carries the CA too, and works as printed.
      const tryLine = /try: curl (.*)$/m.exec(banner)?.[1] ?? '';
      expect(tryLine).toContain(`--cacert ${caFile} `);
      const token = JSON.parse(execFileSync('curl', tryLine.split(' '), { encoding: 'utf8' }));
      expect(token.access_token).toBeTruthy();
    } finally {
      await stop(child);
    }
    // The next start reuses them.
    const second = await startCli(cwd, { TLS: 'auto', PORT: String(port) });
    try {
      expect(second.banner).toContain('(reused;');
    } finally {
      await stop(second.child);
    }
  });
});

describe('tls: { cert, key }, and bad tls input stopping the start with exit code 2', () => {
  let good: { cert: string; key: string; ca: string };
  let otherKey: string;
  let expired: { cert: string; key: string };
  let cwd: string;
  beforeAll(async () => {
    cwd = join(dir, 'bad');
    const files = async (name: string, now: number) => {
      const made = await localCertificate(join(cwd, name), ['localhost'], now);
      const cert = join(cwd, `${name}-cert.pem`);
      const key = join(cwd, `${name}-key.pem`);
      writeFileSync(cert, made.cert);
      writeFileSync(key, made.key);
      return { cert, key, ca: made.caFile };
    };
    good = await files('good', Date.now());
    otherKey = (await files('other', Date.now())).key;
    expired = await files('expired', Date.now() - 1000 * 86_400_000);
  });

  const start = (env: Record<string, string>) =>
    runCli(['start'], { cwd, env: { PORT: '0', ...env }, timeoutMs: 15_000 });
  const failure = (stderr: string) => {
    const lines = stderr.split('\n').filter((l) => l.startsWith('oidc-issuer: '));
    expect(lines, stderr).toHaveLength(1);
    expect(stderr).not.toContain('listening on');
    return lines[0];
  };

  it('serves the certificate given, to clients that trust its CA', async () => {
    const issuer = await startTestIssuer({ tls: { cert: good.cert, key: good.key } });
    try {
      expect(issuer.url).toMatch(/^https:/);
      expect(issuer.localCa).toBeUndefined();
      const url = `https://localhost:${issuer.port}/jwks`;
      const res = await trustingFetch(readFileSync(good.ca, 'utf8'))(url);
      expect(res.status).toBe(200);
      await expect(fetch(url)).rejects.toThrow();
    } finally {
      await issuer.close();
    }
  });

  it('a certificate file that does not exist', async () => {
    const missing = join(cwd, 'missing.pem');
    const res = await start({ TLS_CERT_FILE: missing, TLS_KEY_FILE: good.key });
    expect(res.code).toBe(2);
    expect(failure(res.stderr)).toContain(`tls.cert (TLS_CERT_FILE): cannot read ${missing}`);
  });

  it('a key file that cannot be read (a folder)', async () => {
    const res = await start({ TLS_CERT_FILE: good.cert, TLS_KEY_FILE: cwd });
    expect(res.code).toBe(2);
    expect(failure(res.stderr)).toContain(`tls.key (TLS_KEY_FILE): cannot read ${cwd}`);
  });

  it('a file that holds no certificate', async () => {
    const res = await start({ TLS_CERT_FILE: good.key, TLS_KEY_FILE: good.key });
    expect(res.code).toBe(2);
    expect(failure(res.stderr)).toContain(
      `tls.cert (TLS_CERT_FILE): ${good.key} does not hold a PEM certificate`,
    );
  });

  it('a key that is not the certificate’s', async () => {
    const res = await start({ TLS_CERT_FILE: good.cert, TLS_KEY_FILE: otherKey });
    expect(res.code).toBe(2);
    expect(failure(res.stderr)).toContain(
      `tls.key (TLS_KEY_FILE): ${otherKey} is not the private key of the certificate in ${good.cert}`,
    );
  });

  it('an expired certificate', async () => {
    const res = await start({ TLS_CERT_FILE: expired.cert, TLS_KEY_FILE: expired.key });
    expect(res.code).toBe(2);
    expect(failure(res.stderr)).toMatch(
      new RegExp(`tls\\.cert \\(TLS_CERT_FILE\\): the certificate in ${expired.cert} expired on `),
    );
  });

  it('files named in a config file are read from its folder, and named by their field', async () => {
    const config = join(cwd, 'tls.yaml');
    writeFileSync(config, 'tls:\n  cert: certs/server.pem\n  key: certs/server-key.pem\n');
    const res = await start({ OIDC_CONFIG: config });
    expect(res.code).toBe(2);
    expect(failure(res.stderr)).toContain(
      `tls.cert (TLS_CERT_FILE): cannot read ${join(cwd, 'certs', 'server.pem')}`,
    );
  });

  it('TLS other than auto, and an http issuer with tls', async () => {
    const bad = await start({ TLS: 'yes' });
    expect(bad.code).toBe(2);
    expect(failure(bad.stderr)).toContain('TLS (sets tls): must be "auto" or { cert, key }');
    const http = await start({ TLS: 'auto', ISSUER: 'http://localhost:3999' });
    expect(http.code).toBe(2);
    expect(failure(http.stderr)).toContain(
      'ISSUER (sets issuer): http://localhost:3999 is not an https:// URL, but tls is set',
    );
  });
});

describe('createTestIssuer with tls', () => {
  it('serves https and its helpers sign in through the given fetch', async () => {
    const keysDir = join(dir, 'in-process');
    // The CA is made at start, so the fetch reads it when first used.
    let trusted: typeof fetch | undefined;
    const lazy: typeof fetch = (input, init) => {
      trusted ??= trustingFetch(readFileSync(join(keysDir, 'tls', 'ca.pem'), 'utf8'));
      return trusted(input, init);
    };
    const issuer = await createTestIssuer({ tls: 'auto', keys: { dir: keysDir }, fetch: lazy });
    try {
      expect(issuer.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(issuer.caFile).toBe(join(keysDir, 'tls', 'ca.pem'));
      const tokens = await issuer.login({ username: 'alice' });
      expect(tokens.idTokenClaims?.iss).toBe(issuer.url);
      const machine = await issuer.clientCredentials({ clientId: 'demo-service' });
      expect(machine.access_token).toBeTruthy();
    } finally {
      await issuer.stop();
    }
  });
});

describe('the tls setting', () => {
  const problems = (source: Parameters<typeof parseConfig>[0]) => {
    try {
      parseConfig(source);
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
    return [];
  };

  it('names the half of { cert, key } that is missing, and unknown settings in it', () => {
    expect(problems({ env: { TLS_CERT_FILE: 'a.pem' } })).toEqual([
      'tls.key: must name the private key of tls.cert (a PEM file)',
    ]);
    expect(
      problems({ text: 'tls:\n  cert: a.pem\n  kye: b.pem\n', path: 'x.yaml', env: {} }),
    ).toEqual([
      'tls.key: must name the private key of tls.cert (a PEM file)',
      'tls.kye: unknown setting',
    ]);
    expect(problems({ text: 'tls: 5\n', path: 'x.yaml', env: {} })).toEqual([
      'tls: must be "auto" or { cert, key } (both PEM file paths)',
    ]);
  });

  it('makes the default issuer https, and needs a restart to change', () => {
    expect(parseConfig({ env: { TLS: 'auto', PORT: '4443' } }).issuer).toBe(
      'https://localhost:4443',
    );
    expect(parseConfig({ env: { PORT: '4443' } }).issuer).toBe('http://localhost:4443');
    const running = parseConfig({ env: { PORT: '4443' } });
    const next = parseConfig({
      env: { PORT: '4443', TLS: 'auto', ISSUER: 'https://localhost:4443' },
    });
    const { restartNeeded, config } = reconfigure(running, next);
    expect(restartNeeded).toContain('tls');
    expect(config.tls).toBeUndefined();
  });
});
