/** `oidc-issuer jwk …`: generate signing keys and inspect JWKs, JWK sets and PEM keys. */
import { createPrivateKey, type JsonWebKey } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { Option } from 'commander';
import { DEFAULT_SIGNING_ALG, SIGNING_ALGS, type SigningAlg } from '../algorithms.js';
import { KEY_FILE_ENDINGS } from '../keystore/import-dir.js';
import { publicKeyPem, toPublicJwk } from '../keystore/jwks.js';
import { generateSigningKey } from '../keystore/material.js';
import { type InspectReport, inspectKeys } from '../tools/jwk-inspect.js';
import type { Finding } from '../tools/jwk-key-checks.js';
import { fetchKeyDocument, isHttpUrl, readText } from '../tools/key-source.js';
import { EXIT, ExitStatus, UsageError } from './exit.js';
import { printJson, println } from './io.js';

export function registerJwk(program: Command): void {
  const jwk = program
    .command('jwk')
    .description('generate signing keys; inspect JWKs, JWK sets and PEM keys');

  jwk
    .command('generate')
    .description('generate a signing key: private JWK, public JWK and the PEM pair')
    .addOption(
      new Option('--alg <alg>', 'algorithm')
        .choices([...SIGNING_ALGS])
        .default(DEFAULT_SIGNING_ALG),
    )
    .option(
      '--out-dir <dir>',
      'write <kid>.private.pem, <kid>.private.jwk (mode 0600), <kid>.public.pem, <kid>.public.jwk',
    )
    .option('--json', 'print {"kid", "alg", "privateJwk", "publicJwk", "privatePem", "publicPem"}')
    .addHelpText(
      'after',
      `\nTo have an issuer import the key at start, copy only <kid>.private.pem into its keys/ folder\n(it reads every ${KEY_FILE_ENDINGS.join(' ')} file there as a private key, so not the public ones).`,
    )
    .action(async (flags: { alg: SigningAlg; outDir?: string; json?: boolean }) => {
      const privateJwk = await generateSigningKey(flags.alg);
      const publicJwk = toPublicJwk(privateJwk);
      const privatePem = createPrivateKey({ key: privateJwk as JsonWebKey, format: 'jwk' })
        .export({ type: 'pkcs8', format: 'pem' })
        .toString();
      const publicPem = publicKeyPem(privateJwk);
      const kid = privateJwk.kid;
      if (flags.outDir) {
        const files: [string, string, number][] = [
          [`${kid}.private.pem`, privatePem, 0o600],
          [`${kid}.private.jwk`, `${JSON.stringify(privateJwk, null, 2)}\n`, 0o600],
          [`${kid}.public.pem`, publicPem, 0o644],
          [`${kid}.public.jwk`, `${JSON.stringify(publicJwk, null, 2)}\n`, 0o644],
        ];
        await writeKeyFiles(flags.outDir, files);
        if (flags.json)
          printJson({ kid, alg: flags.alg, files: files.map(([n]) => join(flags.outDir!, n)) });
        else
          println(
            `${flags.alg} key ${kid}`,
            ...files.map(([n]) => `  wrote ${join(flags.outDir!, n)}`),
          );
        return;
      }
      if (flags.json) {
        printJson({ kid, alg: flags.alg, privateJwk, publicJwk, privatePem, publicPem });
        return;
      }
      println(
        `kid  ${kid}`,
        `alg  ${flags.alg}`,
        '',
        'private JWK (keep it secret):',
        JSON.stringify(privateJwk, null, 2),
        '',
        'public JWK:',
        JSON.stringify(publicJwk, null, 2),
        '',
        'private key, PKCS#8 PEM (keep it secret):',
        privatePem.trimEnd(),
        '',
        'public key, SPKI PEM:',
        publicPem.trimEnd(),
      );
    });

  jwk
    .command('inspect')
    .description(
      'describe each key (kty, curve or modulus size, alg, use, kid, RFC 7638 thumbprint, private or not) and list problems',
    )
    .argument('<input>', 'a file, inline JSON, a JWKS or discovery URL, or - for stdin')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      '\nExit codes: 0 no errors (warnings allowed), 1 errors found, 2 unreadable input, 3 URL unreachable.',
    )
    .action(async (input: string, flags: { json?: boolean }) => {
      const report = await inspectKeys(await readInput(input));
      if (flags.json) printJson(report);
      else println(renderReport(report));
      if (report.errors > 0) throw new ExitStatus(EXIT.no);
    });
}

/**
 * Writes `[name, data, mode]` files into `dir` (created if missing), never overwriting one.
 * @throws UsageError `OUT_DIR_UNUSABLE` saying why `dir` cannot take them.
 */
async function writeKeyFiles(dir: string, files: [string, string, number][]): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    for (const [name, data, mode] of files) {
      await writeFile(join(dir, name), data, { mode, flag: 'wx' });
    }
  } catch (err) {
    const { code, path } = err as NodeJS.ErrnoException;
    const why =
      {
        EEXIST: path === dir ? 'it exists and is not a directory' : `${path} exists already`,
        ENOTDIR: 'a part of the path is not a directory',
        EACCES: 'permission denied',
        EPERM: 'permission denied',
        EROFS: 'read-only file system',
      }[code ?? ''] ?? (err as Error).message;
    throw new UsageError(`--out-dir ${dir}: ${why}`, 'OUT_DIR_UNUSABLE');
  }
}

/** Inline JSON, a URL (a discovery document is followed to its jwks_uri), stdin or a file. */
async function readInput(input: string): Promise<string | Record<string, unknown>> {
  if (input.trim().startsWith('{')) return input;
  if (isHttpUrl(input)) return fetchKeyDocument(input);
  return readText(input);
}

const MARK: Record<Finding['severity'], string> = {
  error: '✗ error',
  warning: '! warning',
  note: '· note',
};

/** The human-readable report of `jwk inspect`. */
export function renderReport(report: InspectReport): string {
  const title = {
    jwk: 'JWK',
    jwks: `JWK set with ${report.keys.length} key(s)`,
    pem: `PEM with ${report.keys.length} key(s)`,
  }[report.kind];
  const lines = [title];
  for (const k of report.keys) {
    const shape = [k.kty, k.crv, k.bits ? `${k.bits} bits` : undefined].filter(Boolean).join(' ');
    lines.push(
      '',
      `[${k.index}] ${shape || '(unknown key)'}${k.private ? '  PRIVATE' : '  public'}`,
      `    kid         ${k.kid ?? '(none)'}`,
      `    alg         ${k.alg ?? '(none)'}`,
      `    use         ${k.use ?? '(none)'}`,
      `    thumbprint  ${k.thumbprint ?? '(n/a)'}`,
      ...k.findings.map((f) => `    ${MARK[f.severity]} ${f.code}: ${f.message}`),
    );
  }
  if (report.findings.length > 0) {
    lines.push(
      '',
      'set:',
      ...report.findings.map((f) => `    ${MARK[f.severity]} ${f.code}: ${f.message}`),
    );
  }
  lines.push('', `${report.errors} error(s), ${report.warnings} warning(s)`);
  return lines.join('\n');
}
