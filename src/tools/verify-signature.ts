/** The signature check of `verifyToken`: which published keys may have signed, and whether one did. */
import { compactVerify, importJWK, type JWK } from 'jose';
import type { ProblemCode, Verdict, VerdictKey } from './verify.js';

/** Verifies `token` (signed with `alg`, header `kid`) against the keys published at `location`. */
export async function checkSignature(
  token: string,
  alg: string,
  kid: string | undefined,
  keys: JWK[],
  location: string,
  verdict: Verdict,
  problem: (code: ProblemCode, message: string) => void,
): Promise<void> {
  let candidates: JWK[];
  if (kid !== undefined) {
    candidates = keys.filter((k) => k.kid === kid);
    if (candidates.length === 0) {
      verdict.key = { kid, published: false };
      problem(
        'UNKNOWN_KID',
        `kid ${kid} is not published at ${location} (published: ${verdict.publishedKids.join(', ') || 'none'}); ` +
          'the key was removed, never published, or belongs to another issuer',
      );
      return;
    }
    if (candidates.length > 1)
      verdict.notes.push(`the JWKS publishes kid ${kid} ${candidates.length} times`);
  } else {
    candidates = keys.filter((k) => (k.alg === undefined || k.alg === alg) && k.use !== 'enc');
    verdict.notes.push('the token has no kid; every published key that fits its alg was tried');
    if (candidates.length === 0) {
      problem('NO_MATCHING_KEY', `no published key fits alg ${alg}`);
      return;
    }
  }
  let mismatch: JWK | undefined;
  for (const jwk of candidates) {
    if (jwk.alg !== undefined && jwk.alg !== alg) {
      mismatch = jwk;
      continue;
    }
    let key: Awaited<ReturnType<typeof importJWK>>;
    try {
      key = await importJWK({ ...jwk, ext: true }, alg);
    } catch {
      mismatch = jwk;
      continue;
    }
    try {
      await compactVerify(token.trim().replace(/^Bearer\s+/i, ''), key, { algorithms: [alg] });
      verdict.key = describeKey(jwk);
      return;
    } catch {
      // Try the next candidate; the failure is reported below if none verifies.
    }
  }
  const reported = candidates[0] as JWK;
  verdict.key = describeKey(reported);
  if (mismatch && candidates.length === 1) {
    problem(
      'ALG_MISMATCH',
      `the header says ${alg} but key ${mismatch.kid ?? '(no kid)'} is ${mismatch.alg ?? mismatch.kty}${mismatch.crv ? ` ${mismatch.crv}` : ''}`,
    );
    return;
  }
  problem(
    'BAD_SIGNATURE',
    kid !== undefined
      ? `the signature does not verify with the published key ${kid}: the token was altered or signed by another key with the same kid`
      : 'the signature does not verify with any published key',
  );
}

function describeKey(jwk: JWK): VerdictKey {
  return {
    ...(jwk.kid !== undefined ? { kid: jwk.kid } : {}),
    ...(jwk.kty !== undefined ? { kty: jwk.kty } : {}),
    ...(jwk.alg !== undefined ? { alg: jwk.alg } : {}),
    published: true,
  };
}
