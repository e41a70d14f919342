import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, type CommanderError } from 'commander';
import { PACKAGE_ROOT } from '../paths.js';
import { describeFailure, UsageError, usageCode } from './exit.js';

/**
 * The `oidc-issuer` command (entry: main.ts). The only module that exits the process (codes in
 * cli/exit.ts).
 */
const { version } = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as {
  version: string;
};
const program = new Command('oidc-issuer')
  .description('A small OpenID Connect issuer for development, CI and docker-compose')
  .version(version, '-V, --version', 'print the version')
  .addHelpText(
    'after',
    '\nExit codes: 0 ok, 1 refused or invalid, 2 usage or input error, 3 store or issuer unreachable.',
  );

/** Each command's module, in the order the help lists them. */
const COMMANDS: [name: string, load: () => Promise<(program: Command) => void>][] = [
  ['start', async () => (await import('./start.js')).registerStart],
  ['keys', async () => (await import('./keys.js')).registerKeys],
  ['token', async () => (await import('./token.js')).registerToken],
  ['jwk', async () => (await import('./jwk.js')).registerJwk],
  ['probe', async () => (await import('./probe.js')).registerProbe],
  ['config', async () => (await import('./config.js')).registerConfig],
];
// A run that names a command loads only that one's module (`start` needs none of the tools the
// others import); anything else (help, a mistyped name to suggest against) gets them all.
const named = COMMANDS.filter(([name]) => name === process.argv[2]);
for (const [, load] of named.length > 0 ? named : COMMANDS) (await load())(program);

const everyCommand = (c: Command): Command[] => [c, ...c.commands.flatMap(everyCommand)];
for (const command of everyCommand(program)) {
  // Commander's own messages (unknown option, missing argument …) become the one-line usage
  // error every other mistake gets, naming the help of the command at fault.
  command.configureOutput({ outputError: () => {} }).exitOverride((err) => {
    if (err.exitCode === 0) throw err; // --help, --version
    throw new UsageError(
      `${oneLine(err.message)}; see '${commandPath(command)} --help'`,
      commanderCode(err),
    );
  });
}

/** `error: unknown command 'x'\n(Did you mean y?)` → `unknown command 'x' (Did you mean y?)`. */
function oneLine(message: string): string {
  return message
    .replace(/^error: /, '')
    .replace(/\s*\n\s*/g, ' ')
    .replace(/\.$/, '');
}

function commandPath(command: Command): string {
  return command.parent ? `${commandPath(command.parent)} ${command.name()}` : command.name();
}

/** `commander.unknownOption` → `UNKNOWN_OPTION`; a mistake the error table does not name → `USAGE`. */
function commanderCode(err: CommanderError) {
  return usageCode(
    err.code
      .replace(/^commander\./, '')
      .replace(/([a-z])([A-Z])/g, '$1_$2')
      .toUpperCase(),
  );
}

// Plain `oidc-issuer`, or a command group without its subcommand (`oidc-issuer keys`), asks
// what there is: the help on stdout, exit 0.
const args = process.argv.slice(2);
const group = program.commands.find((c) => c.name() === args[0] && c.commands.length > 0);
if (args.length === 0 || (group && args.length === 1)) {
  (group ?? program).outputHelp();
  process.exit(0);
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  const { code, message, stack } = describeFailure(err);
  if (message !== undefined) process.stderr.write(`oidc-issuer: ${message}\n`);
  // Not one of ours: a defect, so keep the stack.
  else if (stack !== undefined) process.stderr.write(`oidc-issuer: ${stack}\n`);
  process.exit(code);
}
