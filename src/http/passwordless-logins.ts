import type { Logger } from 'pino';
import { isLoopback } from '../config/hosts.js';
import type { IssuerConfig } from '../config/schema.js';

type LoginExposure = Pick<IssuerConfig, 'host' | 'login' | 'users'>;

/**
 * The login paths that sign someone in without a password, as `config` serves them: the user
 * picker (one click per configured user), "any user" (any name), headless `login_hint`.
 */
function passwordlessLogins(config: LoginExposure): string[] {
  const { login, users } = config;
  const paths: string[] = [];
  if (login.userPicker && users.length > 0) paths.push('login.userPicker');
  if (login.anyUser) paths.push('login.anyUser');
  if (login.headless && (users.length > 0 || login.anyUser)) paths.push('login.headless');
  return paths;
}

/**
 * The warning for password-less logins served on an address other machines can reach, or
 * undefined (loopback bind, or no such path). Said in the log and in the start banner.
 */
export function passwordlessExposure(config: LoginExposure): string | undefined {
  const paths = passwordlessLogins(config);
  if (paths.length === 0 || isLoopback(config.host)) return undefined;
  return `PASSWORD-LESS SIGN-IN IS SERVED ON A NON-LOOPBACK ADDRESS (${config.host}): with ${paths.join(', ')} on, anyone who can reach this port signs in without a password${config.users.length > 0 ? ', as any configured user' : ''}. Turn ${paths.length > 1 ? 'them' : 'it'} off or listen on 127.0.0.1 (HOST) for anything shared.`;
}

/** Logs {@link passwordlessExposure} at warn level when there is one. */
export function warnAboutPasswordlessExposure(config: LoginExposure, logger: Logger): void {
  const warning = passwordlessExposure(config);
  if (warning) logger.warn({ host: config.host, paths: passwordlessLogins(config) }, warning);
}
