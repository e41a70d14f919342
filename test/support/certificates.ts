import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A self-signed EC P-256 certificate for `CN=<cn>`, made by openssl, with its private key (PEM). */
export function selfSignedCertificate(cn: string): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'cert-'));
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-subj',
      `/CN=${cn}`,
      '-days',
      '1',
    ],
    { stdio: 'ignore' },
  );
  return { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') };
}

/** The openssl fingerprint of a PEM certificate (`sha1`, `sha256`) as base64url, as in x5t. */
export function certificateThumbprint(cert: string, hash: 'sha1' | 'sha256'): string {
  const line = execFileSync('openssl', ['x509', '-noout', '-fingerprint', `-${hash}`], {
    input: cert,
  }).toString();
  return Buffer.from((line.split('=')[1] ?? '').trim().replace(/:/g, ''), 'hex').toString(
    'base64url',
  );
}

/** A throwaway certificate authority (EC P-256, one day) in a temp directory, made by openssl. */
export interface TestCertificateAuthority {
  /** The CA certificate (PEM file): what a client trusts. */
  readonly caFile: string;
  /**
   * A certificate signed by this CA for `cn`, valid for the names in `altNames` (`IP:127.0.0.1`,
   * `DNS:localhost`) and for both server and client authentication; PEM files.
   */
  issue(cn: string, altNames: string[]): { certFile: string; keyFile: string };
}

export function certificateAuthority(name: string): TestCertificateAuthority {
  const dir = mkdtempSync(join(tmpdir(), 'ca-'));
  const caFile = join(dir, 'ca.pem');
  const caKey = join(dir, 'ca.key');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  openssl(['req', '-x509', ...ec, '-keyout', caKey, '-out', caFile, '-subj', `/CN=${name}`]);
  let serial = 0;
  return {
    caFile,
    issue(cn, altNames) {
      serial += 1;
      const base = join(dir, `${serial}`);
      openssl([
        'req',
        '-x509',
        ...ec,
        '-CA',
        caFile,
        '-CAkey',
        caKey,
        '-keyout',
        `${base}.key`,
        '-out',
        `${base}.pem`,
        '-subj',
        `/CN=${cn}`,
        '-days',
        '1',
        '-addext',
        `subjectAltName=${altNames.join(',')}`,
        '-addext',
        'extendedKeyUsage=serverAuth,clientAuth',
        '-addext',
        'basicConstraints=critical,CA:FALSE',
      ]);
      return { certFile: `${base}.pem`, keyFile: `${base}.key` };
    },
  };
}
