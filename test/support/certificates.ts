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
