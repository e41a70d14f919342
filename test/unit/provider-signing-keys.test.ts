import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { compactVerify, importJWK } from 'jose';
import Provider from 'oidc-provider';
import { describe, expect, it } from 'vitest';
import {
  ALGORITHMS,
  PRIVATE_JWK_MEMBERS,
  PUBLIC_JWK_MEMBERS,
  publicMembers,
  SIGNING_ALGS,
} from '../../src/algorithms.js';
import { generateSigningKey } from '../../src/keystore/material.js';
import { EXTERNAL_SIGNING, signingKeys } from '../../src/provider/signing-keys.js';

const b64u = (value: string | Uint8Array) => Buffer.from(value).toString('base64url');

describe('signing keys for oidc-provider (node:crypto signatures)', () => {
  it.each(SIGNING_ALGS)(
    '%s: a JWS it signs verifies with the published key, as jose reads it',
    async (alg) => {
      const jwk = await generateSigningKey(alg);
      const [key] = signingKeys([jwk]);
      const published = publicMembers(jwk);
      for (const member of ['kty', ...PUBLIC_JWK_MEMBERS[ALGORITHMS[alg].kty]]) {
        expect(key?.[member as 'kty'], member).toBe(published[member as 'kty']);
      }
      expect({ kid: key?.kid, alg: key?.alg, use: key?.use }).toEqual({
        kid: jwk.kid,
        alg,
        use: 'sig',
      });

      const header = b64u(JSON.stringify({ alg, kid: jwk.kid }));
      const payload = b64u(JSON.stringify({ sub: 'alice' }));
      const signature = await key!.sign(Buffer.from(`${header}.${payload}`));
      const verified = await compactVerify(
        `${header}.${payload}.${b64u(signature)}`,
        await importJWK(published, alg),
      );
      expect(JSON.parse(Buffer.from(verified.payload).toString())).toEqual({ sub: 'alice' });
      // A signature over other bytes must not verify (the key really signs what it is given).
      const other = b64u(JSON.stringify({ sub: 'mallory' }));
      await expect(
        compactVerify(`${header}.${other}.${b64u(signature)}`, await importJWK(published, alg)),
      ).rejects.toThrow(/signature verification failed/);
    },
  );

  it('publishes no private member through oidc-provider', async () => {
    const keys = await Promise.all(SIGNING_ALGS.map((alg) => generateSigningKey(alg)));
    const provider = new Provider('http://localhost:1', {
      jwks: { keys: signingKeys(keys) },
      features: { externalSigningSupport: EXTERNAL_SIGNING, devInteractions: { enabled: false } },
    });
    const server = createServer(provider.callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const res = await fetch(`http://127.0.0.1:${port}/jwks`);
    server.close();
    const body = (await res.json()) as { keys: Record<string, unknown>[] };
    expect(body.keys.map((k) => k.kid)).toEqual(keys.map((k) => k.kid));
    for (const k of body.keys)
      for (const member of PRIVATE_JWK_MEMBERS) expect(k).not.toHaveProperty(member);
  });
});
