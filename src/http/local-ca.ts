/**
 * `tls: auto`: a local certificate authority and a server certificate it issued, kept in a
 * folder and reused across starts. The CA is made once (people trust its file); the server
 * certificate is made again when it is about to expire, when it names other hosts than this
 * start needs, or when the CA itself was made again.
 *
 * Reading and checking what is on disk uses node:crypto; making certificates uses
 * @peculiar/x509 (pure JavaScript over WebCrypto, so the package needs no openssl binary),
 * loaded only when something has to be made.
 */
import { createPrivateKey, randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';

const DAY = 86_400_000;
/** The CA lasts long: every renewal means trusting a new file. */
const CA_LIFETIME = 10 * 365 * DAY;
/** 825 days is the longest that Apple platforms accept for a server certificate. */
const SERVER_LIFETIME = 800 * DAY;
/** A certificate this close to its end is made again, so a running issuer does not outlive it. */
const RENEW_BEFORE = 7 * DAY;
/** Clients whose clock lags a little still accept a certificate made just now. */
const BACKDATE = 60 * 60_000;

/** The files of a local CA folder. Private keys are written with mode 0600. */
export const LOCAL_CA_FILES = {
  caCert: 'ca.pem',
  caKey: 'ca-key.pem',
  cert: 'cert.pem',
  key: 'key.pem',
} as const;

/** A server certificate from the local CA, ready for `https.createServer`. */
export interface LocalCertificate {
  cert: string;
  key: string;
  /** The CA certificate file clients must trust. */
  caFile: string;
  /** The host names and IP addresses the server certificate names. */
  names: string[];
  /** What this call made: nothing (all reused), the server certificate, or the CA too. */
  made: 'nothing' | 'certificate' | 'ca';
}

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/**
 * The server certificate for `names` (DNS names and IP addresses) from the local CA in `dir`,
 * made or made again as needed (see the module comment). `now` is epoch ms.
 */
export async function localCertificate(
  dir: string,
  names: readonly string[],
  now: number,
): Promise<LocalCertificate> {
  const file = (name: keyof typeof LOCAL_CA_FILES) => join(dir, LOCAL_CA_FILES[name]);
  let ca = readPair(file('caCert'), file('caKey'));
  let made: LocalCertificate['made'] = 'nothing';
  if (!ca || !lastsPast(ca.cert, now)) {
    ca = await makeCa(now);
    write(dir, file('caKey'), ca.key, file('caCert'), ca.cert.toString());
    made = 'ca';
  }
  let server = readPair(file('cert'), file('key'));
  if (
    made === 'ca' ||
    !server ||
    !lastsPast(server.cert, now) ||
    !server.cert.verify(ca.cert.publicKey) ||
    !namesExactly(server.cert, names)
  ) {
    server = await makeServerCertificate(ca, names, now);
    write(dir, file('key'), server.key, file('cert'), server.cert.toString());
    if (made === 'nothing') made = 'certificate';
  }
  return {
    cert: server.cert.toString(),
    key: server.key,
    caFile: file('caCert'),
    names: [...names],
    made,
  };
}

interface Pair {
  cert: X509Certificate;
  /** PKCS#8 PEM */
  key: string;
}

/** The certificate and key in these files, or undefined when either is missing, unreadable or they do not match. */
function readPair(certFile: string, keyFile: string): Pair | undefined {
  if (!existsSync(certFile) || !existsSync(keyFile)) return undefined;
  try {
    const cert = new X509Certificate(readFileSync(certFile));
    const key = readFileSync(keyFile, 'utf8');
    return cert.checkPrivateKey(createPrivateKey(key)) ? { cert, key } : undefined;
  } catch {
    return undefined;
  }
}

function lastsPast(cert: X509Certificate, now: number): boolean {
  return Date.parse(cert.validFrom) <= now && Date.parse(cert.validTo) > now + RENEW_BEFORE;
}

/** Whether the certificate names all of `names` and nothing else. */
function namesExactly(cert: X509Certificate, names: readonly string[]): boolean {
  const entries = (cert.subjectAltName ?? '').split(', ').filter(Boolean);
  return (
    entries.length === names.length &&
    names.every((n) => (isIP(n) ? cert.checkIP(n) : cert.checkHost(n, { wildcards: false })))
  );
}

/** Writes the key (mode 0600) and then the certificate, each through a temporary file. */
function write(dir: string, keyFile: string, key: string, certFile: string, cert: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const put = (target: string, text: string, mode: number) => {
    const temp = `${target}.${process.pid}.tmp`;
    writeFileSync(temp, text, { mode });
    chmodSync(temp, mode);
    renameSync(temp, target);
  };
  put(keyFile, key, 0o600);
  put(certFile, cert, 0o644);
}

type X509 = typeof import('@peculiar/x509');
let library: Promise<X509> | undefined;

/** @peculiar/x509 with node's WebCrypto; its dependency injection needs a Reflect polyfill. */
function x509(): Promise<X509> {
  library ??= (async () => {
    await import('reflect-metadata');
    const lib = await import('@peculiar/x509');
    lib.cryptoProvider.set(webcrypto as unknown as Parameters<X509['cryptoProvider']['set']>[1]);
    return lib;
  })();
  return library;
}

/** A positive 128-bit serial number, as RFC 5280 asks (unique, at most 20 octets). */
const serialNumber = () => {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString('hex');
};

async function pkcs8Pem(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN PRIVATE KEY-----\n${lines.join('\n')}\n-----END PRIVATE KEY-----\n`;
}

const keyPair = () =>
  webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']) as Promise<webcrypto.CryptoKeyPair>;

async function makeCa(now: number): Promise<Pair> {
  const lib = await x509();
  const keys = await keyPair();
  const cert = await lib.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    // The random part tells this CA from one made on another machine in a trust store.
    name: `CN=oidc-issuer local CA ${randomBytes(4).toString('hex')}, O=oidc-issuer development`,
    notBefore: new Date(now - BACKDATE),
    notAfter: new Date(now + CA_LIFETIME),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new lib.BasicConstraintsExtension(true, 0, true),
      new lib.KeyUsagesExtension(lib.KeyUsageFlags.keyCertSign | lib.KeyUsageFlags.cRLSign, true),
      await lib.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: new X509Certificate(cert.toString('pem')), key: await pkcs8Pem(keys.privateKey) };
}

async function makeServerCertificate(
  ca: Pair,
  names: readonly string[],
  now: number,
): Promise<Pair> {
  const lib = await x509();
  const keys = await keyPair();
  const caKey = await webcrypto.subtle.importKey(
    'pkcs8',
    createPrivateKey(ca.key).export({ type: 'pkcs8', format: 'der' }),
    ALG,
    false,
    ['sign'],
  );
  const caCert = new lib.X509Certificate(ca.cert.raw);
  const notAfter = Math.min(now + SERVER_LIFETIME, Date.parse(ca.cert.validTo));
  const cert = await lib.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: `CN=${names[0] ?? 'localhost'}, O=oidc-issuer development`,
    issuer: caCert.subject,
    notBefore: new Date(now - BACKDATE),
    notAfter: new Date(notAfter),
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: ALG,
    extensions: [
      new lib.BasicConstraintsExtension(false, undefined, true),
      new lib.KeyUsagesExtension(lib.KeyUsageFlags.digitalSignature, true),
      new lib.ExtendedKeyUsageExtension([lib.ExtendedKeyUsage.serverAuth]),
      new lib.SubjectAlternativeNameExtension(
        names.map((value) => ({ type: isIP(value) ? 'ip' : 'dns', value })),
      ),
      await lib.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await lib.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  return { cert: new X509Certificate(cert.toString('pem')), key: await pkcs8Pem(keys.privateKey) };
}
