import { isLoopback } from '../config/hosts.js';
import type { IssuerConfig } from '../config/schema.js';

/**
 * Whether the web console (`/debugger`, `/tools`, `/keys` and any other developer page) is
 * served. `console.enabled` decides when set; otherwise it is on when the issuer listens on a
 * loopback address (nobody else can open it) and off on any other bind. The demo config sets
 * `console.enabled: true`.
 */
export function consoleEnabled(config: Pick<IssuerConfig, 'host' | 'console'>): boolean {
  return config.console.enabled ?? isLoopback(config.host);
}
