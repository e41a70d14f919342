import type { JWK } from 'jose';
import { discover, loadJwks } from '../tools/key-source.js';
import type { MintedToken, MintRequest } from '../tools/mint.js';
import { type IssuerAccess, ProbeError } from './options.js';

/**
 * A running issuer reached over HTTP: its discovery document and JWKS, and its admin API
 * (`POST /admin/tokens`, `POST /admin/keys/rotate`) with the admin bearer token. What
 * `oidc-issuer probe` uses, so the API under test keeps trusting the issuer it is set up for.
 */
export function issuerOverHttp(issuer: string, adminToken: string, timeoutMs = 5000): IssuerAccess {
  const admin = async (path: string, body: unknown): Promise<Record<string, unknown>> => {
    const url = new URL(path, `${issuer.replace(/\/+$/, '')}/`).toString();
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (e) {
      const err = e as Error;
      const reason = err.cause instanceof Error ? err.cause.message : err.message;
      throw new ProbeError(
        'PROBE_ISSUER_UNREACHABLE',
        `cannot reach the issuer at ${url}: ${reason}`,
      );
    }
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text);
    } catch {
      // described below by status
    }
    if (res.ok) return json;
    const said = typeof json.error_description === 'string' ? `: ${json.error_description}` : '';
    if (res.status === 404 && json.error === 'not_found') {
      throw new ProbeError(
        'PROBE_ADMIN_OFF',
        `the issuer at ${issuer} has no admin API${said}; the probe needs it to mint tokens`,
      );
    }
    if (res.status === 401) {
      throw new ProbeError(
        'PROBE_ADMIN_REFUSED',
        `the issuer refused the admin token (ADMIN_TOKEN / --admin-token): give the one the issuer was started with`,
      );
    }
    if (res.status === 400) {
      throw new ProbeError('PROBE_OPTIONS_INVALID', `the issuer refused the request${said}`);
    }
    throw new ProbeError(
      res.status >= 500 ? 'PROBE_ISSUER_UNREACHABLE' : 'PROBE_ISSUER_REFUSED',
      `${url} answered ${res.status}${said}`,
    );
  };

  return {
    issuer,
    async jwks(): Promise<JWK[]> {
      const meta = await discover(issuer, { timeoutMs });
      if (typeof meta.jwks_uri !== 'string') {
        throw new ProbeError('PROBE_ISSUER_UNREACHABLE', `${meta.url} names no jwks_uri`);
      }
      return (await loadJwks(meta.jwks_uri, { timeoutMs })).keys;
    },
    mint: async (request: MintRequest) =>
      (await admin('admin/tokens', request)) as unknown as MintedToken,
    async rotateNow(alg: string) {
      await admin('admin/keys/rotate', { alg, now: true });
    },
  };
}
