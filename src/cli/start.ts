import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import type { IssuerConfig } from '../config/schema.js';
import { isLoopback } from '../http/console-gate.js';
import { ringFilePath } from '../keystore/configured.js';
import { redactUrl } from '../store/redis.js';

/** `oidc-issuer start`: run the server until SIGINT/SIGTERM. */
export function registerStart(program: Command): void {
  program
    .command('start', { isDefault: true })
    .description('start the issuer (the built-in demo config when no config file is given)')
    .option('-c, --config <file>', 'YAML or JSON config file (or OIDC_CONFIG)')
    .option('-p, --port <port>', 'port to listen on (or PORT)')
    .option('--host <address>', 'address to listen on (or HOST)')
    .option('--issuer <url>', 'issuer URL (or ISSUER)')
    .action(async (opts: { config?: string; port?: string; host?: string; issuer?: string }) => {
      const config = loadConfig({
        file: opts.config,
        overrides: {
          ...(opts.port !== undefined ? { port: opts.port as unknown as number } : {}),
          ...(opts.host !== undefined ? { host: opts.host } : {}),
          ...(opts.issuer !== undefined ? { issuer: opts.issuer } : {}),
        },
      });
      // Loaded here so the other commands do not load oidc-provider (and its runtime warning).
      const { startIssuer } = await import('../issuer.js');
      const issuer = await startIssuer(config);
      process.stderr.write(banner(config, issuer.port));
      if (config.demo && !isLoopback(config.host)) {
        issuer.logger.warn(
          { host: config.host },
          'DEMO CREDENTIALS ARE BEING SERVED ON A NON-LOOPBACK ADDRESS: anyone who can reach this port can sign in as the demo users and use the demo client secrets. Use a config file with your own clients for anything shared.',
        );
      }
      const stop = async (signal: string) => {
        issuer.logger.info({ signal }, 'shutting down');
        await issuer.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop('SIGINT'));
      process.once('SIGTERM', () => void stop('SIGTERM'));
    });
}

function banner(config: IssuerConfig, port: number): string {
  const lines = [
    '',
    `  oidc-issuer listening on ${config.host}:${port}`,
    `  issuer      ${config.issuer}`,
    `  discovery   ${config.issuer}/.well-known/openid-configuration`,
    `  jwks        ${config.issuer}/jwks`,
    `  store       ${config.redis.url ? `redis (${redactUrl(config.redis.url)})` : `memory (key ring in ${ringFilePath(config)})`}`,
  ];
  if (config.demo) {
    lines.push(
      '',
      '  DEMO configuration (no config file given) — these credentials are public:',
      '    users     alice / alice, bob / bob (any other username also signs in)',
      '    demo-spa      public client, PKCE, redirect http://localhost:5173/callback',
      '    demo-web      secret demo-web-secret, redirect http://localhost:3001/callback',
      '    demo-service  secret demo-service-secret, client_credentials for http://localhost:4000/api',
      `    debugger      the web console's client: sign in at ${config.issuer}/debugger`,
      '',
      `  try: curl -s -u demo-service:demo-service-secret -d grant_type=client_credentials ${config.issuer}/token`,
    );
  }
  return `${lines.join('\n')}\n\n`;
}
