/**
 * What config says about the resource owner password credentials grant (`grantTypes:
 * [password]`, RFC 6749 §4.3): which clients have it, the start-time rules, and the warning the
 * banner and the log give. The grant itself is provider/password-grant.ts.
 */
import type { Logger } from 'pino';
import { isLoopback } from './hosts.js';
import type { IssuerConfig } from './schema.js';

type PasswordConfig = Pick<IssuerConfig, 'clients' | 'users' | 'host' | 'demo'>;

/** The ids of the clients allowed the password grant. */
function passwordGrantClients(config: Pick<IssuerConfig, 'clients'>): string[] {
  return config.clients.filter((c) => c.grantTypes.includes('password')).map((c) => c.id);
}

/**
 * Problems, each naming the field: the grant signs in configured users only, so it needs some;
 * and it is refused while demo credentials are served on an address other machines can reach,
 * where anyone could trade the published demo passwords for tokens without a browser.
 */
export function passwordGrantProblems(config: PasswordConfig): string[] {
  const problems: string[] = [];
  config.clients.forEach((c, i) => {
    if (!c.grantTypes.includes('password')) return;
    if (config.users.length === 0) {
      problems.push(
        `clients[${i}].grantTypes: the password grant signs in configured users only, and users is empty (login.anyUser names never get it)`,
      );
    }
    if (config.demo && !isLoopback(config.host)) {
      problems.push(
        `clients[${i}].grantTypes: the password grant is refused while demo credentials are served on a non-loopback address (host ${config.host}): anyone who can reach it could get tokens with the published demo passwords. Listen on 127.0.0.1 (HOST) or replace the demo users and clients`,
      );
    }
  });
  return problems;
}

/** The banner's and the log's warning when a client has the password grant, else undefined. */
export function passwordGrantWarning(config: Pick<IssuerConfig, 'clients'>): string | undefined {
  const ids = passwordGrantClients(config);
  if (ids.length === 0) return undefined;
  return `THE PASSWORD GRANT IS ON for ${ids.join(', ')}: the OAuth 2.0 Security BCP (RFC 9700 §2.4) says it MUST NOT be used — the client sees the user's password, and no MFA or consent can take place. Use it for test automation only, never for an app.`;
}

/** Logs {@link passwordGrantWarning} at warn level when there is one. */
export function warnAboutPasswordGrant(
  config: Pick<IssuerConfig, 'clients'>,
  logger: Logger,
): void {
  const warning = passwordGrantWarning(config);
  if (warning) logger.warn({ clients: passwordGrantClients(config) }, warning);
}
