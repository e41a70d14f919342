/** Host names as the config writes them: the loopback names and `allowedHosts` patterns. */

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
