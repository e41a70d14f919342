/** TLS to Redis: the files of `redis.tls`, and telling a refused certificate from an outage. */
import { readFileSync } from 'node:fs';
import { type ConnectionOptions, connect } from 'node:tls';
import { ENV } from '../config/env.js';
import type { HostPort } from '../config/redis-url.js';
import { ConfigError } from '../errors.js';

/** `redis.tls` in the config: PEM files (paths), each optional. */
export interface RedisTlsFiles {
  /** CA certificate(s) trusted for the server's certificate instead of the system's (REDIS_CA_FILE). */
  caFile?: string | undefined;
  /** Client certificate, for a Redis that authenticates clients (REDIS_CERT_FILE). */
  certFile?: string | undefined;
  /** The client certificate's key (REDIS_KEY_FILE). */
  keyFile?: string | undefined;
}

/**
 * The `tls` connection options for `files`. The server's certificate is always verified (against
 * `caFile` when given, else the system's CAs) and must name the host in the URL.
 * @throws ConfigError naming the setting whose file cannot be read.
 */
export function redisTlsOptions(files: RedisTlsFiles = {}): ConnectionOptions {
  const read = (file: string | undefined, field: string, env: string) => {
    if (file === undefined) return undefined;
    try {
      return readFileSync(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      throw new ConfigError([
        `redis.tls.${field} (${env}): cannot read ${JSON.stringify(file)} (${code})`,
      ]);
    }
  };
  const ca = read(files.caFile, 'caFile', ENV.redisCaFile);
  const cert = read(files.certFile, 'certFile', ENV.redisCertFile);
  const key = read(files.keyFile, 'keyFile', ENV.redisKeyFile);
  return {
    rejectUnauthorized: true,
    ...(ca ? { ca } : {}),
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
  };
}

/** True when any TLS file is configured. */
export function hasTlsFiles(files: RedisTlsFiles | undefined): boolean {
  return Boolean(files?.caFile || files?.certFile || files?.keyFile);
}

/** OpenSSL's verdicts on a peer certificate Node reports as `err.code`. */
const CERTIFICATE_REFUSALS =
  /^(ERR_TLS_CERT_ALTNAME_INVALID|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|CERT_\w+|HOSTNAME_MISMATCH)$/;

/**
 * The line to log when `err` is this client refusing the Redis server's certificate (a wrong
 * or missing CA, an expired certificate, a host name it does not cover), else undefined.
 * `whose` names the server when it is not the one the URL names (a Sentinel).
 */
export function certificateRefusal(err: unknown, whose?: string): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !CERTIFICATE_REFUSALS.test(code)) return undefined;
  // A data server may be one the Sentinels named; a Sentinel is always one the URL names.
  const host = whose
    ? `the host in ${ENV.redisUrl}`
    : `the host in ${ENV.redisUrl} (with Sentinel: the address the Sentinels give for the master)`;
  return (
    `redis TLS: ${whose ?? "the server's"} certificate was not accepted (${code}); check ` +
    `redis.tls.caFile (${ENV.redisCaFile}) and that the certificate covers ${host}`
  );
}

/**
 * Why the Sentinels refuse a TLS connection, when it is their certificates: one handshake with
 * each (in parallel, each bounded by `timeoutMs`) and the first refusal's line, else undefined.
 * Needed because ioredis reports a failed Sentinel connection only as "Connection is closed",
 * the certificate error dropped.
 */
export async function sentinelCertificateRefusal(
  sentinels: readonly HostPort[],
  options: ConnectionOptions,
  timeoutMs: number,
): Promise<string | undefined> {
  const verdicts = await Promise.all(
    sentinels.map(
      ({ host, port }) =>
        new Promise<string | undefined>((resolve) => {
          const socket = connect({ ...options, host, port });
          const done = (line: string | undefined) => {
            clearTimeout(timer);
            socket.destroy();
            resolve(line);
          };
          const timer = setTimeout(() => done(undefined), timeoutMs);
          socket.once('secureConnect', () => done(undefined));
          socket.once('error', (err) =>
            done(certificateRefusal(err, `Sentinel ${host}:${port}'s`)),
          );
        }),
    ),
  );
  return verdicts.find((line) => line !== undefined);
}
