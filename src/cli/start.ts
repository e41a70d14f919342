import type { Command } from 'commander';
import type { Logger } from 'pino';
import { demoCredentialsIn } from '../config/demo.js';
import { isLoopback } from '../config/hosts.js';
import { configFileOf, loadConfig } from '../config/load.js';
import { passwordGrantWarning } from '../config/password-grant-rules.js';
import type { IssuerConfig } from '../config/schema.js';
import { reloadOnChange } from '../config/watch.js';
import { passwordlessExposure } from '../http/passwordless-logins.js';
import type { RunningIssuer } from '../issuer.js';
import { createLogger, logSecretsOf, redactUrl } from '../log.js';
import {
  assertWorkersCanShare,
  DRAIN_BOUND_MS,
  drain,
  reportReady,
  superviseWorkers,
  workerCount,
  workerId,
} from './workers.js';

/** `oidc-issuer start`: run the server until SIGINT/SIGTERM. */
export function registerStart(program: Command): void {
  program
    .command('start')
    .description('start the issuer (the built-in demo config when no config file is given)')
    .option('-c, --config <file>', 'YAML or JSON config file (or OIDC_CONFIG)')
    .option('-p, --port <port>', 'port to listen on (or PORT)')
    .option('--host <address>', 'address to listen on (or HOST)')
    .option('--issuer <url>', 'issuer URL (or ISSUER)')
    .option(
      '-w, --workers <n|auto>',
      'worker processes serving the one port, auto = one per core; more than 1 needs Redis (or WORKERS; default 1)',
    )
    .action(
      async (opts: {
        config?: string;
        port?: string;
        host?: string;
        issuer?: string;
        workers?: string;
      }) => {
        const loadOptions = {
          file: opts.config,
          overrides: {
            ...(opts.port !== undefined ? { port: opts.port as unknown as number } : {}),
            ...(opts.host !== undefined ? { host: opts.host } : {}),
            ...(opts.issuer !== undefined ? { issuer: opts.issuer } : {}),
          },
          overrideNames: { port: '--port', host: '--host', issuer: '--issuer' },
        };
        const config = loadConfig(loadOptions);
        const worker = workerId();
        const workers = worker === undefined ? workerCount(opts.workers, process.env) : undefined;
        if (workers && workers.count > 1) {
          assertWorkersCanShare(config, workers);
          const logger = createLogger(config.logLevel, undefined, logSecretsOf(config)).child({
            role: 'supervisor',
          });
          superviseWorkers({
            count: workers.count,
            logger,
            onFirstReady: ({ port, keyRingAt, localCa }) => {
              process.stderr.write(banner(config, port, keyRingAt, localCa, workers.count));
              warnDemoExposure(config, logger);
            },
          });
          return;
        }
        // Loaded here so the other commands do not load oidc-provider (and its runtime warning).
        const { startIssuer } = await import('../issuer.js');
        const issuer = await startIssuer(
          config,
          worker === undefined
            ? {}
            : {
                logger: createLogger(config.logLevel, undefined, logSecretsOf(config)).child({
                  worker,
                }),
                listenWhenServing: true,
              },
        );
        if (worker === undefined) {
          process.stderr.write(banner(config, issuer.port, issuer.keyRingAt, issuer.localCa));
          warnDemoExposure(config, issuer.logger);
        } else {
          reportReady(issuer);
        }
        const file = configFileOf(opts.config);
        const unwatch = file
          ? reloadOnChange(file, () => loadConfig(loadOptions), config, issuer)
          : undefined;
        let stopping = false;
        const stop = async (signal: string) => {
          if (stopping) return;
          stopping = true;
          issuer.logger.info({ signal }, 'shutting down');
          unwatch?.();
          // A worker finishes the requests it has in flight: its siblings keep the port.
          if (worker !== undefined) await drain(issuer.server, DRAIN_BOUND_MS);
          await issuer.close();
          process.exit(0);
        };
        process.once('SIGINT', () => void stop('SIGINT'));
        process.once('SIGTERM', () => void stop('SIGTERM'));
        // The supervisor is gone (killed): a worker must not outlive it.
        if (worker !== undefined) process.once('disconnect', () => void stop('disconnect'));
      },
    );
}

/** The warning a demo config served beyond loopback gets, once per start. */
function warnDemoExposure(config: IssuerConfig, logger: Logger): void {
  if (config.demo && !isLoopback(config.host)) {
    logger.warn(
      { host: config.host },
      'DEMO CREDENTIALS ARE BEING SERVED ON A NON-LOOPBACK ADDRESS: anyone who can reach this port can sign in as the demo users and use the demo client secrets. Use a config file with your own clients for anything shared.',
    );
  }
}

/** What `start` prints on stderr once listening. */
export function banner(
  config: IssuerConfig,
  port: number,
  keyRingAt: string,
  localCa?: RunningIssuer['localCa'],
  workers = 1,
): string {
  const discovery = `${config.issuer}/.well-known/openid-configuration`;
  const lines = [
    '',
    `  oidc-issuer listening on ${config.host}:${port}`,
    `  issuer      ${config.issuer}`,
    `  discovery   ${discovery}`,
    `  jwks        ${config.issuer}/jwks`,
    `  store       ${config.redis.url ? `redis (${redactUrl(config.redis.url)})` : 'memory'}`,
    `  key ring    ${keyRingAt}`,
    // Each hosted issuer (issuers:) has its discovery, JWKS and key ring below its URL.
    ...config.issuers.map(
      (hosted) => `  issuer      ${hosted.issuer} (issuers: ${hosted.mountPath})`,
    ),
  ];
  if (workers > 1)
    lines.push(
      `  workers     ${workers} processes (node:cluster; /metrics and /readyz are per worker)`,
    );
  if (config.tls && config.tls !== 'auto') lines.push(`  tls         ${config.tls.cert}`);
  if (localCa) {
    const made = { nothing: 'reused', certificate: 'new certificate', ca: 'new CA' }[localCa.made];
    lines.push(
      `  tls         local CA ${localCa.caFile} (${made}; certificate for ${localCa.names.join(', ')})`,
      '  trust it    add the CA file to your trust store, or per tool:',
      `                NODE_EXTRA_CA_CERTS=${localCa.caFile}`,
      `                curl --cacert ${localCa.caFile} ${discovery}`,
    );
  }
  const exposure = passwordlessExposure(config);
  if (exposure) lines.push('', ...wrapped(`WARNING  ${exposure}`, '  ', '           '));
  const password = passwordGrantWarning(config);
  if (password) lines.push('', ...wrapped(`WARNING  ${password}`, '  ', '           '));
  if (config.demo) lines.push('', ...demoLines(config, localCa?.caFile));
  return `${lines.join('\n')}\n\n`;
}

/** The demo credentials this config still serves, as they are (a file may extend the demo). */
function demoLines(config: IssuerConfig, caFile: string | undefined): string[] {
  const served = demoCredentialsIn(config);
  const users = config.users.filter((u) => served.users.includes(u.username));
  const clients = config.clients.filter(
    (c) => served.clients.includes(c.id) || served.publicClients.includes(c.id),
  );
  const lines = [
    '  DEMO credentials (public, for trying things out only):',
    `    users     ${users.map((u) => `${u.username} / ${u.password}`).join(', ') || '(none)'}${config.login.anyUser ? ' (any other username also signs in)' : ''}`,
  ];
  for (const c of clients) {
    if (c.redirectUris[0]?.startsWith('/')) {
      // A client of the issuer's own pages (the console's debugger).
      lines.push(`    ${c.id.padEnd(13)} ${c.name ?? c.id}: sign in at ${config.issuer}/debugger`);
      continue;
    }
    const what = c.secret ? `secret ${c.secret}` : 'public client, PKCE';
    const where = c.grantTypes.includes('client_credentials')
      ? `client_credentials for ${c.resources.join(', ')}`
      : `redirect ${c.redirectUris[0] ?? '(none)'}`;
    lines.push(`    ${c.id.padEnd(13)} ${what}, ${where}`);
  }
  const machine = clients.find((c) => c.secret && c.grantTypes.includes('client_credentials'));
  if (machine) {
    lines.push(
      '',
      `  try: curl -s ${caFile ? `--cacert ${caFile} ` : ''}-u ${machine.id}:${machine.secret} -d grant_type=client_credentials ${config.issuer}/token`,
    );
  }
  return lines;
}

/** `text` in lines of at most 100 columns, the first after `first`, the others after `rest`. */
function wrapped(text: string, first: string, rest: string): string[] {
  const lines: string[] = [];
  let line = first;
  for (const word of text.split(' ')) {
    if (line.trim() !== '' && line.length + word.length + 1 > 100) {
      lines.push(line.trimEnd());
      line = rest;
    }
    line += line.trim() === '' ? word : ` ${word}`;
  }
  lines.push(line.trimEnd());
  return lines;
}
