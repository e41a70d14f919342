/**
 * What the HTTPS listener (listener.ts) serves. `tls: { cert, key }` serves PEM files, checked
 * at start; `tls: auto` serves a certificate from a local CA kept under the keys folder (see
 * local-ca.ts). Without `tls` the listener is plain HTTP.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { ENV } from '../config/env.js';
import { LOOPBACK_HOSTS } from '../config/hosts.js';
import type { IssuerConfig } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import { type LocalCertificate, localCertificate } from './local-ca.js';

/** What an HTTPS listener serves. */
export interface ListenerTls {
  /** PEM: the server certificate (and any chain after it). */
  cert: string;
  /** PEM private key of the certificate. */
  key: string;
  /** With `tls: auto`: the local CA that issued `cert`. */
  localCa?: Omit<LocalCertificate, 'cert' | 'key'>;
  /** Things worth a warning, e.g. a certificate that does not name the issuer's host. */
  warnings: string[];
}

/** The folder under `keys.dir` that holds the local CA of `tls: auto`. */
const LOCAL_CA_DIR = 'tls';

/**
 * What the listener serves for `config.tls`, or undefined for plain HTTP. `now` (epoch ms)
 * decides expiry.
 * @throws ConfigError naming `tls.cert` / `tls.key` (and TLS_CERT_FILE / TLS_KEY_FILE) when a file cannot
 *   be read or parsed, the key is not the certificate's, or the certificate is not valid now.
 */
export async function listenerTls(
  config: IssuerConfig,
  now: number,
): Promise<ListenerTls | undefined> {
  if (!config.tls) return undefined;
  const host = new URL(config.issuer).hostname.replace(/^\[(.*)\]$/, '$1');
  if (config.tls === 'auto') {
    const names = [...new Set([...LOOPBACK_HOSTS, host, ...listenNames(config.host)])];
    const local = await localCertificate(join(resolve(config.keys.dir), LOCAL_CA_DIR), names, now);
    const { cert, key, ...localCa } = local;
    return { cert, key, localCa, warnings: [] };
  }
  const files = config.tls;
  const problems: string[] = [];
  const cert = loaded('cert', files.cert, problems, (text) => new X509Certificate(text));
  const key = loaded('key', files.key, problems, (text) => createPrivateKey(text));
  if (cert && key) problems.push(...validity(cert.value, key.value, files, now));
  if (!cert || !key || problems.length > 0) throw new ConfigError(problems);
  const named = isIP(host) ? cert.value.checkIP(host) : cert.value.checkHost(host);
  return {
    cert: cert.text,
    key: key.text,
    warnings: named
      ? []
      : [
          `the certificate in tls.cert (${files.cert}) does not name ${host}, the issuer's host: clients will refuse the connection`,
        ],
  };
}

const FIELD = {
  cert: { path: 'tls.cert', env: ENV.tlsCertFile, what: 'a PEM certificate' },
  key: { path: 'tls.key', env: ENV.tlsKeyFile, what: 'an unencrypted PEM private key' },
} as const;

const label = (field: keyof typeof FIELD) => `${FIELD[field].path} (${FIELD[field].env})`;

/** The file's text and what `parse` makes of it, or undefined with the problem added. */
function loaded<T>(
  field: keyof typeof FIELD,
  file: string,
  problems: string[],
  parse: (text: string) => T,
): { text: string; value: T } | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    problems.push(`${label(field)}: cannot read ${file} (${(err as Error).message})`);
    return undefined;
  }
  try {
    return { text, value: parse(text) };
  } catch {
    problems.push(`${label(field)}: ${file} does not hold ${FIELD[field].what}`);
    return undefined;
  }
}

/** Whether the key is the certificate's and the certificate is valid at `now`. */
function validity(
  cert: X509Certificate,
  key: KeyObject,
  files: { cert: string; key: string },
  now: number,
): string[] {
  const problems: string[] = [];
  if (!cert.checkPrivateKey(key)) {
    problems.push(
      `${label('key')}: ${files.key} is not the private key of the certificate in ${files.cert}`,
    );
  }
  if (Date.parse(cert.validTo) <= now) {
    problems.push(`${label('cert')}: the certificate in ${files.cert} expired on ${cert.validTo}`);
  } else if (Date.parse(cert.validFrom) > now) {
    problems.push(
      `${label('cert')}: the certificate in ${files.cert} is not valid before ${cert.validFrom}`,
    );
  }
  return problems;
}

/** The listen address, when it is one address (not every interface): it is reached by it. */
function listenNames(host: string): string[] {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return bare === '0.0.0.0' || bare === '::' ? [] : [bare];
}
