/** `oidc-issuer probe <url>`: does an API verify this issuer's tokens right? (src/probe/) */
import type { Command } from 'commander';
import { Option } from 'commander';
import { parseDuration } from '../config/duration.js';
import { issuerOverHttp } from '../probe/issuer-admin.js';
import { parseHeaderLines, parseStatusSet } from '../probe/options.js';
import { expectedText, fixesOf, gotText, oneLine, summaryLine } from '../probe/report.js';
import { type ProbeReport, runProbe } from '../probe/run.js';
import { readText } from '../tools/key-source.js';
import { EXIT, ExitStatus, UsageError } from './exit.js';
import { jsonObjectArg, printJson, println, table } from './io.js';
import { configFrom } from './keys.js';

interface ProbeFlags {
  method: string;
  header?: string[];
  body?: string;
  issuer?: string;
  config?: string;
  type: 'access' | 'id';
  aud?: string[];
  scope?: string;
  sub?: string;
  clientId?: string;
  claims?: string;
  acceptStatus: string;
  refuseStatus: string;
  rotate?: boolean;
  rotationWait: string;
  timeout: string;
  json?: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerProbe(program: Command): void {
  program
    .command('probe')
    .description(
      "check that an API verifies this issuer's tokens right: one request per case (valid, expired, wrong aud, alg none, forged signatures, …)",
    )
    .argument('<url>', 'the API endpoint to call, e.g. http://localhost:4000/api/whoami')
    .option('-X, --method <method>', 'HTTP method', 'GET')
    .option('-H, --header <header>', "extra request header 'Name: value'; repeatable", collect)
    .option('--body <text>', 'request body: text, or @file')
    .option(
      '--issuer <url>',
      'the running issuer the API trusts (default: ISSUER / the config’s issuer)',
    )
    .option('-c, --config <file>', 'YAML or JSON config file (or OIDC_CONFIG)')
    .addOption(
      new Option('--type <type>', 'the token the API expects')
        .choices(['access', 'id'])
        .default('access'),
    )
    .option(
      '--aud <aud>',
      'audience the API expects; repeat for several (default: the only resource server)',
      collect,
    )
    .option('--scope <scope>', 'scope the endpoint requires (adds the missing-scope case: 403)')
    .option('--sub <sub>', 'subject of the tokens')
    .option('--client-id <id>', 'client_id of access tokens; the audience of ID tokens')
    .option('--claims <json>', 'extra claims of a valid token: JSON, @file.json or -')
    .option('--accept-status <statuses>', 'what counts as accepted', '2xx')
    .option('--refuse-status <statuses>', 'what counts as refused', '401,403')
    .option(
      '--rotate',
      "also run the rotation drill: rotates the issuer's REAL key ring twice, at once (keys rotate --now)",
    )
    .option(
      '--rotation-wait <duration>',
      'how long the API may take to pick up a new key (its JWKS refetch cooldown)',
      '65s',
    )
    .option('--timeout <duration>', 'per request to the API', '5s')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      `\nThe issuer must run with ADMIN_TOKEN set (the probe mints through POST /admin/tokens); give
the probe the same ADMIN_TOKEN in its environment.

Examples:
  ADMIN_TOKEN=… oidc-issuer probe http://localhost:4000/api/whoami --scope api:read
  ADMIN_TOKEN=… oidc-issuer probe http://localhost:4000/api/items -X POST --body '{}' \\
      -H 'content-type: application/json' --scope api:write --rotate

Exit codes: 0 every case behaved as expected, 1 a finding (some case did not), 2 usage error,
3 the issuer or the API cannot be reached. Cases and fixes: docs/probe.md.`,
    )
    .action(async (url: string, flags: ProbeFlags) => {
      if (!/^https?:\/\//i.test(url) || !URL.canParse(url)) {
        throw new UsageError(`the API URL must be an http(s) URL (got ${url})`);
      }
      const config = configFrom(flags);
      const adminToken = config.admin.token;
      if (!adminToken) {
        throw new UsageError(
          'the probe mints tokens through the issuer’s admin API: set ADMIN_TOKEN to the admin token the issuer runs with',
        );
      }
      const report = await runProbe(issuerOverHttp(config.issuer, adminToken), {
        target: {
          url,
          method: flags.method.toUpperCase(),
          headers: parseHeaderLines(flags.header ?? []),
          ...(flags.body !== undefined ? { body: await bodyArg(flags.body) } : {}),
        },
        token: {
          type: flags.type,
          ...(flags.aud ? { aud: flags.aud.length === 1 ? flags.aud[0] : flags.aud } : {}),
          ...(flags.scope !== undefined ? { scope: flags.scope } : {}),
          ...(flags.sub !== undefined ? { sub: flags.sub } : {}),
          ...(flags.clientId !== undefined ? { clientId: flags.clientId } : {}),
          ...(flags.claims !== undefined
            ? { claims: await jsonObjectArg(flags.claims, '--claims') }
            : {}),
        },
        acceptStatus: parseStatusSet(flags.acceptStatus),
        refuseStatus: parseStatusSet(flags.refuseStatus),
        rotate: flags.rotate === true,
        rotationWaitMs: durationFlag(flags.rotationWait, '--rotation-wait'),
        timeoutMs: durationFlag(flags.timeout, '--timeout'),
        onNotice: (message) => process.stderr.write(`oidc-issuer probe: ${message}\n`),
      });
      if (flags.json) printJson(report);
      else println(renderReport(report));
      if (!report.ok) throw new ExitStatus(EXIT.no);
    });
}

/** The text report: the table (case, expected, got, verdict), the summary, then each finding. */
export function renderReport(report: ProbeReport): string {
  const rows = report.cases.map((r) => [
    r.id,
    expectedText(r),
    gotText(r),
    r.verdict === 'fail' ? 'FAIL' : r.verdict,
    r.note ?? '',
  ]);
  const out = [
    `probe ${report.target.method} ${report.target.url} with tokens from ${report.issuer}`,
    '',
    table(['CASE', 'EXPECTED', 'GOT', 'VERDICT', 'NOTE'], rows),
    '',
    summaryLine(report),
  ];
  for (const r of report.cases.filter((c) => c.verdict === 'fail')) {
    out.push('', `✗ ${r.id}: ${r.title} — ${r.note ?? 'unexpected answer'}`);
    if (r.consequence) out.push(`  consequence: ${r.consequence}`);
    if (r.response?.wwwAuthenticate) out.push(`  WWW-Authenticate: ${r.response.wwwAuthenticate}`);
    if (r.response?.body) out.push(`  body: ${oneLine(r.response.body)}`);
    const fixes = fixesOf(r);
    if (fixes.length > 0)
      out.push('  usual fix:', ...fixes.map(([lib, fix]) => `    ${lib}: ${fix}`));
    out.push(`  more: docs/probe.md#${r.id}`);
  }
  return out.join('\n');
}

async function bodyArg(value: string): Promise<string> {
  return value.startsWith('@') ? readText(value.slice(1)) : value;
}

function durationFlag(value: string, flag: string): number {
  const ms = parseDuration(value);
  if (!ms) {
    throw new UsageError(`${flag} must be a duration such as 5s or 1m (got ${value})`);
  }
  return ms;
}
