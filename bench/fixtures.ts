/** Clients, API and config files shared by every benchmark target, so all serve the same work. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEMO_API_AUDIENCE, demoConfig } from '../src/config/demo.js';
import type { RawConfig } from '../src/config/schema.js';

/** The demo config's machine client (client_credentials, client_secret_basic). */
export const SERVICE_CLIENT = { id: 'demo-service', secret: 'demo-service-secret' } as const;

/** The demo config's API: access tokens for it are RFC 9068 JWTs. */
export const DEMO_API = { audience: DEMO_API_AUDIENCE, scopes: ['api:read', 'api:write'] } as const;

/**
 * A confidential code-flow client that skips consent (the demo's demo-web asks for it), so the
 * code-flow benchmark needs no form posts: authorize → login page (headless) → consent page
 * (skipped) → callback → token.
 */
export const BENCH_CLIENT = {
  id: 'bench-web',
  secret: 'bench-web-secret',
  redirectUri: 'http://localhost:3001/callback',
} as const;

/** Bearer token for `/admin/*` in the rotation benchmark. */
export const ADMIN_TOKEN = 'bench-admin-token-0123456789';

export type BenchAlg = 'RS256' | 'ES256';

export interface IssuerConfigOptions {
  alg: BenchAlg;
  /** Folder for the key ring file (memory store); the benchmark never writes under the repo's keys/. */
  keysDir: string;
  /** Short key durations so admin rotations are possible every second. */
  fastRotation?: boolean;
}

/**
 * Writes our issuer's config file: the demo config plus the bench-web client, headless login,
 * `keys.algorithms: [alg]`. Returns its path.
 */
export function writeIssuerConfig(dir: string, name: string, options: IssuerConfigOptions): string {
  const demo = demoConfig();
  const config: RawConfig = {
    ...demo,
    login: { userPicker: true, anyUser: false, headless: true },
    keys: {
      algorithms: [options.alg],
      dir: options.keysDir,
      ...(options.fastRotation ? { prePublication: '1s', rotationPeriod: '1h' } : {}),
    },
    clients: [
      ...(demo.clients ?? []),
      {
        id: BENCH_CLIENT.id,
        secret: BENCH_CLIENT.secret,
        redirectUris: [BENCH_CLIENT.redirectUri],
        grantTypes: ['authorization_code'],
        scopes: ['openid', 'profile', 'email'],
        skipConsent: true,
      },
    ],
  };
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}
