import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { decodeProtectedHeader } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { demoConfig } from '../../src/config/demo.js';
import { validateConfig } from '../../src/config/load.js';
import type { RawConfig } from '../../src/config/schema.js';
import { startIssuer } from '../../src/issuer.js';
import { ringFilePath } from '../../src/keystore/configured.js';
import { createLogger } from '../../src/log.js';
import { basic, tokenRequest } from '../support/flows.js';

const dir = mkdtempSync(join(tmpdir(), 'oidc-issuer-per-issuer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Starts an issuer on a free port with its key ring file in `dir`; returns it and its log. */
async function start(raw: RawConfig) {
  const lines: string[] = [];
  const sink = new PassThrough();
  sink.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
  const config = validateConfig({ ...raw, port: 0, host: '127.0.0.1', keys: { ...raw.keys, dir } });
  const issuer = await startIssuer(config, { logger: createLogger('info', sink) });
  return { issuer, config, logs: () => lines.join('\n') };
}

const es256: RawConfig = {
  issuer: 'http://localhost:4100',
  keys: { algorithms: ['ES256'] },
  clients: [
    {
      id: 'es-app',
      secret: 'es-app-secret',
      grantTypes: ['client_credentials'],
      resources: ['http://localhost:4000/api'],
    },
  ],
  resourceServers: [{ audience: 'http://localhost:4000/api', signingAlg: 'ES256' }],
};

const tokenKid = async (url: string, client: string, secret: string) => {
  const { status, body } = await tokenRequest(
    url,
    { grant_type: 'client_credentials', resource: 'http://localhost:4000/api' },
    basic(client, secret),
  );
  expect(status, JSON.stringify(body)).toBe(200);
  return decodeProtectedHeader(String(body.access_token)) as { alg: string; kid: string };
};

describe('the key ring file belongs to an issuer', () => {
  it('a second config in the same folder gets its own ring and signs with ES256 at once', async () => {
    const demo = await start({ ...demoConfig(), issuer: 'http://localhost:4200' });
    const demoKids = demo.issuer.keyRing.current()!.keys.map((k) => k.kid);
    await demo.issuer.close();

    const es = await start(es256);
    try {
      expect(ringFilePath(es.config)).not.toBe(ringFilePath(demo.config));
      const ring = es.issuer.keyRing.current()!;
      expect(ring.keys.every((k) => k.alg === 'ES256')).toBe(true);
      expect(ring.keys.some((k) => demoKids.includes(k.kid))).toBe(false);
      const header = await tokenKid(
        `http://127.0.0.1:${es.issuer.port}`,
        'es-app',
        'es-app-secret',
      );
      expect(header.alg).toBe('ES256');
      expect(ring.keys.map((k) => k.kid)).toContain(header.kid);
    } finally {
      await es.issuer.close();
    }
    expect(readdirSync(dir).sort()).toEqual(
      [ringFilePath(demo.config), ringFilePath(es.config)]
        .map((p) => p.slice(dir.length + 1))
        .sort(),
    );

    // A restart of the demo reads its own ring again (and does not take the other ring file
    // for a key file to import).
    const again = await start({ ...demoConfig(), issuer: 'http://localhost:4200' });
    try {
      expect(again.issuer.keyRing.current()!.keys.map((k) => k.kid)).toEqual(demoKids);
    } finally {
      await again.issuer.close();
    }
  });

  it('leaves the shared keyring.json of an earlier version alone and says how to keep it', async () => {
    const es = await start(es256);
    await es.issuer.close();
    const path = ringFilePath(es.config);
    const legacy = join(dir, 'keyring.json');
    copyFileSync(path, legacy);
    rmSync(path);

    const next = await start(es256);
    try {
      expect(next.logs()).toContain(`${legacy} is the key ring of an earlier version`);
      expect(next.logs()).toContain(`mv ${legacy} ${path}`);
      const oldKids = [...readFileSync(legacy, 'utf8').matchAll(/"kid":"([^"]+)"/g)].map(
        (m) => m[1],
      );
      const kids = next.issuer.keyRing.current()!.keys.map((k) => k.kid);
      expect(kids.some((k) => oldKids.includes(k))).toBe(false);
    } finally {
      await next.issuer.close();
    }
  });
});
