/** `oidc-issuer token …`: mint, verify and decode JWTs. */
import type { Command } from 'commander';
import { Option } from 'commander';
import { SIGNING_ALGS, type SigningAlg } from '../algorithms.js';
import { parseDuration } from '../config/duration.js';
import { decodeJwt, timeClaims } from '../tools/decode.js';
import { type MintRequest, mintToken, parseMintRequest } from '../tools/mint.js';
import { type Verdict, verifyToken } from '../tools/verify.js';
import { EXIT, ExitStatus, UsageError } from './exit.js';
import { argOrStdin, jsonObjectArg, printJson, println } from './io.js';
import { configFrom } from './keys.js';
import { openKeyRing } from './ring.js';

interface MintFlags {
  type: 'access' | 'id';
  sub?: string;
  aud?: string[];
  clientId?: string;
  scope?: string;
  claims?: string;
  expiresIn?: string;
  alg?: SigningAlg;
  nonce?: string;
  config?: string;
  issuer?: string;
  json?: boolean;
}

interface VerifyFlags {
  issuer?: string;
  jwks?: string;
  aud?: string[];
  typ?: string;
  clockTolerance: string;
  json?: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerToken(program: Command): void {
  const token = program.command('token').description('mint, verify and decode JWTs');

  token
    .command('mint')
    .description(
      'sign a token with the ACTIVE key of the configured key ring (no server needed) and print it',
    )
    .addOption(
      new Option('--type <type>', 'access token (RFC 9068 at+jwt) or ID token')
        .choices(['access', 'id'])
        .default('access'),
    )
    .option(
      '--sub <sub>',
      'subject (required for ID tokens; access tokens default to the client id)',
    )
    .option(
      '--aud <aud>',
      'audience; repeat for several (access default: the only resource server; ID: the client id)',
      collect,
    )
    .option('--client-id <id>', 'client_id claim (access) or audience (ID)')
    .option('--scope <scope>', 'space-separated scope claim (access tokens)')
    .option(
      '--claims <json>',
      'extra claims: inline JSON, @file.json or - for stdin; they win over computed claims',
    )
    .option('--expires-in <duration>', 'lifetime: 300, 5m, 1h; negative (-5m) for an expired token')
    .addOption(
      new Option('--alg <alg>', 'signing algorithm (default as for real tokens)').choices([
        ...SIGNING_ALGS,
      ]),
    )
    .option('--nonce <nonce>', 'nonce claim (ID tokens)')
    .option(
      '-c, --config <file>',
      'YAML or JSON config file (or OIDC_CONFIG); the same as the server',
    )
    .option('--issuer <url>', 'issuer URL (or ISSUER): the iss claim, and the Redis namespace')
    .option('--json', 'print {"header", "claims", "token"} instead of the bare token')
    .addHelpText(
      'after',
      `\nExamples:
  oidc-issuer token mint --sub alice --scope api:read
  oidc-issuer token mint --type id --sub alice --client-id demo-web
  oidc-issuer token mint --sub alice --claims '{"groups":["admins"]}' --expires-in -5m`,
    )
    .action(async (flags: MintFlags) => {
      const request: MintRequest = parseMintRequest({
        type: flags.type,
        ...(flags.sub !== undefined ? { sub: flags.sub } : {}),
        ...(flags.aud ? { aud: flags.aud.length === 1 ? flags.aud[0] : flags.aud } : {}),
        ...(flags.clientId !== undefined ? { clientId: flags.clientId } : {}),
        ...(flags.scope !== undefined ? { scope: flags.scope } : {}),
        ...(flags.claims !== undefined
          ? { claims: await jsonObjectArg(flags.claims, '--claims') }
          : {}),
        ...(flags.expiresIn !== undefined ? { expiresIn: flags.expiresIn } : {}),
        ...(flags.alg !== undefined ? { alg: flags.alg } : {}),
        ...(flags.nonce !== undefined ? { nonce: flags.nonce } : {}),
      });
      const config = configFrom(flags);
      const ring = await openKeyRing(config);
      let minted: Awaited<ReturnType<typeof mintToken>>;
      try {
        // Only when the store holds no ring yet: create it as a starting server would.
        const stored = (await ring.store.load()) ?? (await ring.rotation.sync());
        minted = await mintToken({ config, ring: () => stored }, request);
      } finally {
        await ring.close();
      }
      if (flags.json) printJson(minted);
      else println(minted.token);
    });

  token
    .command('verify')
    .description(
      'verify a JWT as an API would (discovery, JWKS, kid, signature, iss, aud, exp/nbf) and explain the verdict',
    )
    .argument('<jwt>', 'the token, or - to read it from stdin')
    .option('--issuer <url>', 'the issuer you trust (default: the token’s own iss)')
    .option('--jwks <url|file>', 'take the keys from this JWKS URL or file instead of discovery')
    .option('--aud <aud>', 'expected audience; repeat to accept any of several', collect)
    .option('--typ <typ>', 'expected typ header, e.g. at+jwt')
    .option('--clock-tolerance <duration>', 'leeway for exp/nbf/iat', '15s')
    .option('--json', 'print the verdict as JSON')
    .addHelpText(
      'after',
      '\nExit codes: 0 valid, 1 invalid, 2 usage or input error, 3 discovery/JWKS unreachable.',
    )
    .action(async (jwtArg: string, flags: VerifyFlags) => {
      const tolerance = parseDuration(flags.clockTolerance);
      if (tolerance === undefined) {
        throw new UsageError(
          `--clock-tolerance must be a duration such as 15s or 1m (got ${flags.clockTolerance})`,
          'DURATION_INVALID',
        );
      }
      const jwt = await argOrStdin(jwtArg, 'the token');
      // Input that is no JWT at all is an input error (exit 2), as for `token decode`.
      decodeJwt(jwt);
      const verdict = await verifyToken(jwt, {
        clockToleranceMs: tolerance,
        ...(flags.issuer ? { issuer: flags.issuer } : {}),
        ...(flags.jwks ? { jwks: flags.jwks } : {}),
        ...(flags.aud ? { audience: flags.aud } : {}),
        ...(flags.typ ? { typ: flags.typ } : {}),
      });
      if (flags.json) printJson(verdict);
      else println(renderVerdict(verdict));
      if (!verdict.valid) throw new ExitStatus(EXIT.no);
    });

  token
    .command('decode')
    .description(
      'print the header and claims of a JWT without verifying anything (times also as ISO dates)',
    )
    .argument('<jwt>', 'the token, or - to read it from stdin')
    .option('--json', 'print {"header", "claims", "times"} as JSON')
    .action(async (jwtArg: string, flags: { json?: boolean }) => {
      const decoded = decodeJwt(await argOrStdin(jwtArg, 'the token'));
      const times = timeClaims(decoded.claims, Date.now());
      if (flags.json) {
        printJson({
          header: decoded.header,
          claims: decoded.claims,
          times: Object.fromEntries(times.map((t) => [t.claim, t.iso])),
        });
        return;
      }
      println(
        'header (not verified):',
        indent(JSON.stringify(decoded.header, null, 2)),
        '',
        'claims (not verified):',
        indent(JSON.stringify(decoded.claims, null, 2)),
      );
      if (times.length > 0) {
        const width = Math.max(...times.map((t) => t.claim.length));
        println(
          '',
          'times:',
          ...times.map((t) => `  ${t.claim.padEnd(width)}  ${t.iso}  (${t.relative})`),
        );
      }
    });
}

/** The human-readable verdict of `token verify`. */
function renderVerdict(v: Verdict): string {
  const lines: string[] = [v.valid ? 'VALID' : 'INVALID'];
  for (const p of v.problems) lines.push(`  ✗ ${p.code}: ${p.message}`);
  if (v.issuer) {
    lines.push(
      '',
      `issuer   ${v.issuer.value} (${v.issuer.from === 'option' ? 'given with --issuer' : 'from the token, not pinned'})`,
    );
  }
  if (v.discoveryUrl) lines.push(`discovery ${v.discoveryUrl}`);
  if (v.jwksUri) lines.push(`jwks     ${v.jwksUri} (${v.publishedKids.length} keys)`);
  if (v.key) {
    const what = [v.key.kty, v.key.alg].filter(Boolean).join(' ');
    lines.push(
      `key      ${v.key.kid ?? '(no kid)'}${what ? ` ${what}` : ''}: ${v.key.published ? 'published' : 'NOT published'}`,
    );
  }
  if (v.header) lines.push('', 'header:', indent(JSON.stringify(v.header, null, 2)));
  if (v.claims) lines.push('', 'claims:', indent(JSON.stringify(v.claims, null, 2)));
  if (v.times.length > 0) {
    const width = Math.max(...v.times.map((t) => t.claim.length));
    lines.push(
      '',
      'times:',
      ...v.times.map((t) => `  ${t.claim.padEnd(width)}  ${t.iso}  (${t.relative})`),
    );
  }
  if (v.notes.length > 0) lines.push('', 'notes:', ...v.notes.map((n) => `  - ${n}`));
  return lines.join('\n');
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}
