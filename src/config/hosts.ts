/** Host names as the config writes them: loopback names and addresses, `allowedHosts` patterns. */
import { isIPv4 } from 'node:net';

/** The loopback names every issuer accepts unless `allowedHosts` says otherwise. */
export const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '::1'] as const;

const NAME_SYNTAX = /^(?:[0-9a-f:.]+|[a-z0-9._-]+)$/;

/** `::1` and `[::1]` name the same host; everything compares lower-cased and unbracketed. */
export const bareHost = (name: string) => name.toLowerCase().replace(/^\[(.*)\]$/, '$1');

/**
 * Whether `entry` is a valid `allowedHosts` entry: a host name or IP address (no port), `*.`
 * followed by a domain (its subdomains, not the domain itself), or `*` (any host).
 */
export function isHostPattern(entry: string): boolean {
  if (entry === '*') return true;
  const name = bareHost(entry.startsWith('*.') ? entry.slice(2) : entry);
  return name !== '' && NAME_SYNTAX.test(name) && !name.startsWith('.') && !name.endsWith('.');
}

/**
 * True for an address only this machine can reach: `localhost`, an IPv4 literal in
 * `127.0.0.0/8`, `::1` (bracketed or not). A DNS name such as `127.example.com` is not one:
 * its answer can point anywhere.
 */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  return bare === 'localhost' || bare === '::1' || (isIPv4(bare) && bare.startsWith('127.'));
}
