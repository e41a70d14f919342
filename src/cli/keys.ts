/** `oidc-issuer keys …`: list, rotate, revoke, import and export keys of the configured ring. */
import type { Command } from 'commander';
import { Option } from 'commander';
import { SIGNING_ALGS, type SigningAlg } from '../algorithms.js';
import { hostedIssuerAt } from '../config/issuers.js';
import { loadConfig } from '../config/load.js';
import type { IssuerConfig } from '../config/schema.js';
import { KeyError } from '../errors.js';
import {
  type KeyRingSummary,
  publicJwks,
  publicKeyPem,
  summarizeRing,
  summaryJson,
  toPublicJwk,
} from '../keystore/jwks.js';
import { parsePrivateKeys } from '../keystore/material.js';
import { readText } from '../tools/key-source.js';
import { UsageError } from './exit.js';
import { isoSeconds, printJson, println, table } from './io.js';
import { type OpenRing, openKeyRing } from './ring.js';

interface StoreOptions {
  config?: string;
  issuer?: string;
  json?: boolean;
}

/**
 * Loads the config like `start` does: `--config` or OIDC_CONFIG, env vars, `--issuer`. An
 * `--issuer` that is the URL of one of the config's `issuers:` picks that one (its users,
 * clients, key policy and ring); any other sets the top-level issuer URL.
 */
export function configFrom(opts: { config?: string; issuer?: string }): IssuerConfig {
  if (!opts.issuer) return loadConfig({ file: opts.config });
  const hosted = hostedIssuerAt(loadConfig({ file: opts.config }), opts.issuer);
  return hosted ?? loadConfig({ file: opts.config, overrides: { issuer: opts.issuer } });
}

const storeOptions = (cmd: Command) =>
  cmd
    .option(
      '-c, --config <file>',
      'YAML or JSON config file (or OIDC_CONFIG); the same as the server',
    )
    .option(
      '--issuer <url>',
      'issuer URL (or ISSUER): selects the ring (Redis namespace or file); the URL of an entry of issuers: picks that issuer',
    );

async function withRing<T>(
  opts: StoreOptions,
  run: (ring: OpenRing, config: IssuerConfig) => Promise<T>,
): Promise<T> {
  const config = configFrom(opts);
  const ring = await openKeyRing(config);
  try {
    return await run(ring, config);
  } finally {
    await ring.close();
  }
}

export function registerKeys(program: Command): void {
  const keys = program
    .command('keys')
    .description(
      'manage the signing keys in the configured store (Redis with REDIS_URL, else the issuer’s keys/keyring-<namespace>.json); no running server needed',
    )
    .addHelpText(
      'after',
      '\nA change is announced to running instances at once (Redis) or picked up on their next re-read (file).',
    );

  storeOptions(keys.command('list'))
    .description('show every published key: kid, alg, state and lifecycle times')
    .option('--json', 'print JSON')
    .action((opts: StoreOptions) =>
      withRing(opts, async (ring) => {
        const stored = await ring.store.load();
        const summary = stored ? summarizeRing(stored, Date.now()) : undefined;
        if (opts.json) return printJson(summaryJson(summary));
        if (!summary) {
          println(
            `the key ring in ${ring.where} is empty: the issuer creates it when it first starts (or run \`oidc-issuer keys rotate\`)`,
          );
          return;
        }
        println(`key ring version ${summary.version} in ${ring.where}`, '', keyTable(summary));
      }),
    );

  storeOptions(keys.command('rotate'))
    .description(
      'planned rotation: the next key signs, the active key retires (still published), a new next key is published',
    )
    .addOption(
      new Option(
        '--alg <alg>',
        'which algorithm to rotate (default: the first configured)',
      ).choices([...SIGNING_ALGS]),
    )
    .option(
      '--now',
      'rotate even when the next key is younger than keys.prePublication (a drill, or an algorithm that cannot sign yet); says which verifiers may fail',
    )
    .option('--json', 'print JSON')
    .action((opts: StoreOptions & { alg?: SigningAlg; now?: boolean }) =>
      withRing(opts, async (ring, config) => {
        if (opts.alg && !config.keys.algorithms.includes(opts.alg)) {
          throw new UsageError(
            `--alg ${opts.alg} is not in keys.algorithms (${config.keys.algorithms.join(', ')})`,
            'ALG_NOT_IN_POLICY',
          );
        }
        // Creates the ring when the store has none, exactly as a starting instance would.
        await ring.rotation.sync();
        const summary = await ring.rotation.rotate(opts.alg, { early: opts.now === true });
        const { rotation } = summary;
        if (opts.json) return printJson({ ...summaryJson(summary), rotation });
        const retired = rotation.retiredKid
          ? `${rotation.retiredKid} is retiring (published until its tokens expired)`
          : `${rotation.alg} had no signing key before`;
        println(
          `rotated${rotation.early ? ' early' : ''}: ${rotation.activeKid} signs now; ${retired}`,
          ...(rotation.warning ? [`warning: ${rotation.warning}`] : []),
          '',
          keyTable(summary),
        );
      }),
    );

  storeOptions(keys.command('revoke'))
    .description(
      'emergency: unpublish <kid> at once (tokens it signed stop verifying); if it was signing, the next key signs at once',
    )
    .argument('<kid>', 'the key id (a unique prefix is enough)')
    // A kid is base64url and may start with "-": read it as the argument, not an option.
    .allowUnknownOption()
    .option('--json', 'print JSON')
    .action((kidArg: string, opts: StoreOptions) =>
      withRing(opts, async (ring) => {
        const stored = await ring.store.load();
        const kid = resolveKid(stored ? summarizeRing(stored, Date.now()) : undefined, kidArg);
        const summary = await ring.rotation.revoke(kid);
        if (opts.json) return printJson(summaryJson(summary));
        println(`revoked ${kid}: no longer published`, '', keyTable(summary));
      }),
    );

  storeOptions(keys.command('import'))
    .description(
      'add private keys (PEM: PKCS#8, PKCS#1, SEC1; or a JWK / JWK set) as the next key, or signing at once',
    )
    .argument('<file>', 'the key file, or - for stdin')
    // Key files are named by their kid, which is base64url and may start with "-".
    .allowUnknownOption()
    .option('--activate-now', 'sign with it at once (only for a key verifiers already know)')
    .addOption(
      new Option('--alg <alg>', 'algorithm for the key (RSA keys default to RS256)').choices([
        ...SIGNING_ALGS,
      ]),
    )
    .option('--json', 'print JSON')
    .action((file: string, opts: StoreOptions & { activateNow?: boolean; alg?: SigningAlg }) =>
      withRing(opts, async (ring) => {
        const parsed = await parsePrivateKeys(
          await readText(file),
          opts.alg ? { alg: opts.alg } : {},
        );
        const held = await ring.rotation.sync();
        const before = summarizeRing(held, Date.now());
        const summary = await ring.rotation.import(parsed, {
          activateNow: opts.activateNow === true,
        });
        const kids = parsed.map((k) => k.kid);
        // The waiting key an imported one takes the place of (it never signed).
        const replaced = before.keys.filter(
          (k) => !summary.keys.some((after) => after.kid === k.kid),
        );
        if (opts.json) {
          return printJson({
            imported: kids,
            replaced: replaced.map((k) => k.kid),
            ...summaryJson(summary),
          });
        }
        const states = summary.keys
          .filter((k) => kids.includes(k.kid))
          .map((k) => `${k.kid} (${k.alg}, ${k.state})`);
        println(
          `imported ${states.join(', ')}`,
          ...replaced.map(
            (k) =>
              `replaced ${k.kid} (${k.alg}, was ${k.state}): never signed, no longer published`,
          ),
          '',
          keyTable(summary),
        );
      }),
    );

  storeOptions(keys.command('jwks'))
    .description('print the public JWK set, as /jwks serves it')
    .action((opts: StoreOptions) =>
      withRing(opts, async (ring) => {
        printJson(publicJwks(await ring.store.load(), Date.now()));
      }),
    );

  storeOptions(keys.command('export'))
    .description('print the public key of <kid> as PEM (SPKI), or as a JWK with --jwk')
    .argument('<kid>', 'the key id (a unique prefix is enough)')
    // A kid is base64url and may start with "-": read it as the argument, not an option.
    .allowUnknownOption()
    .option('--jwk', 'print the public JWK instead of PEM')
    .action((kidArg: string, opts: StoreOptions & { jwk?: boolean }) =>
      withRing(opts, async (ring) => {
        const stored = await ring.store.load();
        const summary = stored ? summarizeRing(stored, Date.now()) : undefined;
        const kid = resolveKid(summary, kidArg);
        const key = summary!.keys.find((k) => k.kid === kid)!;
        if (opts.jwk) printJson(toPublicJwk(key.publicJwk));
        else process.stdout.write(publicKeyPem(key.publicJwk));
      }),
    );
}

function keyTable(summary: KeyRingSummary): string {
  return table(
    ['KID', 'ALG', 'STATE', 'ORIGIN', 'CREATED', 'ACTIVATES', 'RETIRES', 'REMOVED'],
    summary.keys.map((k) => [
      k.kid,
      k.alg,
      k.state,
      k.origin,
      isoSeconds(k.createdAt),
      isoSeconds(k.activateAt),
      isoSeconds(k.retireAt),
      isoSeconds(k.removeAt),
    ]),
  );
}

/**
 * The full kid for a kid or a unique prefix of one.
 * @throws UsageError `KID_EMPTY`, `KID_AMBIGUOUS`; KeyError `KID_NOT_FOUND`.
 */
function resolveKid(summary: KeyRingSummary | undefined, given: string): string {
  if (given.trim() === '') throw new UsageError('the kid is empty', 'KID_EMPTY');
  const kids = summary?.keys.map((k) => k.kid) ?? [];
  if (kids.includes(given)) return given;
  const matches = kids.filter((k) => k.startsWith(given));
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1)
    throw new UsageError(
      `kid prefix ${given} is ambiguous: ${matches.join(', ')}`,
      'KID_AMBIGUOUS',
    );
  throw new KeyError(
    'KID_NOT_FOUND',
    `no published key ${given} (published: ${kids.join(', ') || 'none'})`,
  );
}
