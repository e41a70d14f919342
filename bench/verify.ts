/** Checks sample tokens with jose against the target's published JWKS before a run counts. */
import { createRemoteJWKSet, jwtVerify } from 'jose';

export interface TokenExpectations {
  issuer: string;
  jwksUri: string;
  audience: string;
  alg: string;
  /** `at+jwt` for RFC 9068 access tokens; unchecked when undefined. */
  typ?: string;
}

const sets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

/**
 * Verifies every token (signature, alg, issuer, audience, typ, expiry) and resolves to how many
 * passed; throws with the first failure.
 */
export async function verifyTokens(tokens: string[], expect: TokenExpectations): Promise<number> {
  if (tokens.length === 0) throw new Error('no sample token to verify');
  let jwks = sets.get(expect.jwksUri);
  if (!jwks) {
    jwks = createRemoteJWKSet(new URL(expect.jwksUri), { cooldownDuration: 0 });
    sets.set(expect.jwksUri, jwks);
  }
  for (const token of tokens) {
    try {
      await jwtVerify(token, jwks, {
        issuer: expect.issuer,
        audience: expect.audience,
        algorithms: [expect.alg],
        ...(expect.typ ? { typ: expect.typ } : {}),
      });
    } catch (err) {
      throw new Error(
        `a sample token from ${expect.issuer} failed verification: ${(err as Error).message}`,
      );
    }
  }
  return tokens.length;
}

/** Pulls `access_token` (or `id_token`) out of token endpoint response bodies. */
export function tokensFrom(bodies: string[], field: 'access_token' | 'id_token'): string[] {
  return bodies.map((b) => {
    const token = (JSON.parse(b) as Record<string, unknown>)[field];
    if (typeof token !== 'string') throw new Error(`no ${field} in ${b.slice(0, 200)}`);
    return token;
  });
}
