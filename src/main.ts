#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { registerStart } from './cli/start.js';
import { ConfigError, IssuerError } from './errors.js';

/** The `oidc-issuer` command. The only module that exits the process. */
const program = new Command('oidc-issuer')
  .description('A small OpenID Connect issuer for development, CI and docker-compose')
  .showHelpAfterError()
  .exitOverride();

registerStart(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  if (err instanceof ConfigError) {
    process.stderr.write(`oidc-issuer: ${err.message}\n`);
    process.exit(2);
  }
  if (err instanceof IssuerError) {
    process.stderr.write(`oidc-issuer: ${err.message} (${err.code})\n`);
    process.exit(1);
  }
  process.stderr.write(
    `oidc-issuer: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
}
