import { createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { createTestIssuer, type TestIssuer } from '../../src/index.js';

const API = 'http://localhost:4000/api';

/** The kids `issuer` publishes, read from its /jwks over HTTP. */
async function publishedKids(issuer: TestIssuer): Promise<string[]> {
  const { keys } = (await (await fetch(issuer.jwksUrl)).json()) as { keys: { kid: string }[] };
  return keys.map((k) => k.kid);
}

/** Mints a token on `issuer` and verifies it through its JWKS; resolves to the signing kid. */
async function mintAndVerify(issuer: TestIssuer): Promise<string> {
  const token = await issuer.mintToken({ sub: 'alice', scope: 'api:read' });
  const { protectedHeader } = await jwtVerify(token, createRemoteJWKSet(new URL(issuer.jwksUrl)), {
    issuer: issuer.url,
    audience: API,
  });
  return protectedHeader.kid!;
}

describe('test issuers started one after another (a beforeEach per test)', () => {
  it('each publishes keys of its own, and its tokens verify', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 10; i += 1) {
      const issuer = await createTestIssuer();
      try {
        const kids = await publishedKids(issuer);
        // The first ring: the active key and the next one, both RS256.
        expect(kids).toHaveLength(2);
        for (const kid of kids) {
          expect(seen.has(kid)).toBe(false);
          seen.add(kid);
        }
        expect(kids).toContain(await mintAndVerify(issuer));
      } finally {
        await issuer.stop();
      }
    }
    expect(seen.size).toBe(20);
  });

  it('publishes the next key by the time it is ready: a JWKS read then verifies after rotateKeys', async () => {
    const issuer = await createTestIssuer();
    try {
      // What a verifier caching the JWKS holds from the start (jose refetches on an unknown kid
      // only after a 30 s cooldown; some verifiers never do).
      const atStart = createLocalJWKSet(await issuer.jwks());
      await issuer.rotateKeys();
      const token = await issuer.mintToken({ sub: 'alice' });
      const { protectedHeader } = await jwtVerify(token, atStart, { issuer: issuer.url });
      expect(protectedHeader.kid).toBe(issuer.activeKid());
    } finally {
      await issuer.stop();
    }
  });

  it('two live issuers never share a key, and tokens of one do not verify on the other', async () => {
    const [a, b] = await Promise.all([createTestIssuer(), createTestIssuer()]);
    try {
      const [kidsA, kidsB] = await Promise.all([publishedKids(a), publishedKids(b)]);
      expect(kidsA.filter((kid) => kidsB.includes(kid))).toEqual([]);
      const token = await a.mintToken({ sub: 'alice' });
      await expect(
        jwtVerify(token, createRemoteJWKSet(new URL(b.jwksUrl)), { audience: API }),
      ).rejects.toThrow();
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('after rotations, later issuers still publish only keys no issuer published before', async () => {
    const seen = new Set<string>();
    const note = async (issuer: TestIssuer) => {
      for (const kid of await publishedKids(issuer)) seen.add(kid);
    };
    for (let i = 0; i < 3; i += 1) {
      const issuer = await createTestIssuer();
      try {
        const before = await publishedKids(issuer);
        for (const kid of before) expect(seen.has(kid)).toBe(false);
        await note(issuer);
        // A rotation prepares candidates beyond the one it publishes; those left over go back
        // to the process's stash at stop and must never show up as a key published already.
        await issuer.rotateKeys();
        const after = await publishedKids(issuer);
        for (const kid of after.filter((k) => !before.includes(k)))
          expect(seen.has(kid)).toBe(false);
        await note(issuer);
        const token = await issuer.mintToken({ sub: 'alice' });
        expect(decodeProtectedHeader(token).kid).toBe(issuer.activeKid());
        expect((await issuer.verify(token, { audience: API })).valid).toBe(true);
      } finally {
        await issuer.stop();
      }
    }
  });
});
