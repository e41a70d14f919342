/** `oidc-issuer config …`: print, check and describe the configuration `start` would use. */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { configJsonSchema, describeConfig } from '../config/describe.js';
import { configFileOf, loadConfig } from '../config/load.js';
import { yaml } from '../config/yaml.js';
import { println } from './io.js';

interface ConfigOptions {
  config?: string;
}

const fileOption = (cmd: Command) =>
  cmd.option('-c, --config <file>', 'YAML or JSON config file (or OIDC_CONFIG); as for start');

export function registerConfig(program: Command): void {
  const config = program
    .command('config')
    .description('print, check or describe the configuration (file + environment) start would use');

  fileOption(config.command('print'))
    .description('print the effective configuration as YAML (secrets as *** unless --show-secrets)')
    .option('--show-secrets', 'print passwords, client secrets, keys.secret and admin.token')
    .option('--json', 'print JSON instead of YAML')
    .action((opts: ConfigOptions & { showSecrets?: boolean; json?: boolean }) => {
      const described = describeConfig(loadConfig({ file: opts.config }), {
        showSecrets: opts.showSecrets === true,
      });
      if (opts.json) return println(JSON.stringify(described, null, 2));
      process.stdout.write(yaml().stringify(described));
    });

  fileOption(config.command('check'))
    .description('validate the configuration: exit 0 when valid, 2 with every problem otherwise')
    .action((opts: ConfigOptions) => {
      const file = configFileOf(opts.config);
      const loaded = loadConfig({ file });
      println(
        `${file ?? 'the built-in demo config'}: valid (${loaded.users.length} users, ${loaded.clients.length} clients, ${loaded.resourceServers.length} resource servers${loaded.demo ? '; demo credentials served' : ''})`,
      );
    });

  config
    .command('schema')
    .description('print the JSON Schema of config files (for editors: yaml-language-server)')
    .option('-o, --output <file>', 'write it to a file instead of stdout')
    .action((opts: { output?: string }) => {
      const text = `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
      if (opts.output) writeFileSync(opts.output, text);
      else process.stdout.write(text);
    });
}
