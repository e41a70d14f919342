import { isIPv4 } from 'node:net';
import type { IssuerConfig } from '../config/schema.js';

/**
 * True for an address only this machine can reach: `localhost`, an IPv4 literal in
 * `127.0.0.0/8`, `::1` (bracketed or not). A DNS name such as `127.example.com` is not one:
 * its answer can point anywhere.
 */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  return bare === 'localhost' || bare === '::1' || (isIPv4(bare) && bare.startsWith('127.'));
}

/**
 * Whether the web console (`/debugger`, `/tools`, `/keys` and any other developer page) is
 * served. `console.enabled` decides when set; otherwise it is on when the issuer listens on a
 * loopback address (nobody else can open it) and off on any other bind. The demo config sets
 * `console.enabled: true`.
 */
export function consoleEnabled(config: Pick<IssuerConfig, 'host' | 'console'>): boolean {
  return config.console.enabled ?? isLoopback(config.host);
}
