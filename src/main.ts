#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { registerConfig } from './cli/config.js';
import { describeFailure, EXIT, ExitStatus } from './cli/exit.js';
import { registerJwk } from './cli/jwk.js';
import { registerKeys } from './cli/keys.js';
import { registerProbe } from './cli/probe.js';
import { registerStart } from './cli/start.js';
import { registerToken } from './cli/token.js';

/** The `oidc-issuer` command. The only module that exits the process (codes in cli/exit.ts). */
const program = new Command('oidc-issuer')
  .description('A small OpenID Connect issuer for development, CI and docker-compose')
  .showHelpAfterError()
  .exitOverride()
  .addHelpText(
    'after',
    '\nExit codes: 0 ok, 1 refused or invalid, 2 usage or input error, 3 store or issuer unreachable.',
  );

registerStart(program);
registerKeys(program);
registerToken(program);
registerJwk(program);
registerProbe(program);
registerConfig(program);
// Subcommands report usage errors through the same exit path as the top level.
for (const command of program.commands) {
  command.exitOverride();
  for (const sub of command.commands) sub.exitOverride();
}

// `start` is the default command, so commander would read an unknown command as an argument of
// `start` ("too many arguments"); name the real mistake instead.
const first = process.argv[2];
if (first !== undefined && !first.startsWith('-')) {
  const known = new Set(['help', ...program.commands.flatMap((c) => [c.name(), ...c.aliases()])]);
  if (!known.has(first)) {
    process.stderr.write(
      `oidc-issuer: unknown command '${first}' (commands: ${[...known].filter((n) => n !== 'help').join(', ')}; see oidc-issuer --help)\n`,
    );
    process.exit(EXIT.usage);
  }
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  const { code, message } = describeFailure(err);
  if (message !== undefined) process.stderr.write(`oidc-issuer: ${message}\n`);
  else if (!(err instanceof ExitStatus) && !(err instanceof CommanderError)) {
    // Not one of ours: a defect, so keep the stack.
    process.stderr.write(
      `oidc-issuer: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
  }
  process.exit(code);
}
