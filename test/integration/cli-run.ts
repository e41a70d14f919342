import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { ENV } from '../../src/config/env.js';
import { CLI } from '../support/issuer.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built `oidc-issuer` (dist/bundle/main.js) as a child process, as a user would; `npm
 * test` builds it first. `env` is added to this process's environment minus the variables that
 * the issuer reads (src/config/env.ts), so only what a test sets counts.
 */
export function runCli(
  args: string[],
  options: { env?: Record<string, string>; input?: string; cwd?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  if (!existsSync(CLI))
    throw new Error(`${CLI} is missing: run \`npm run build\` (npm test does it)`);
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.values(ENV)) delete env[name];
  Object.assign(env, options.env ?? {});
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env,
      cwd: options.cwd ?? process.cwd(),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `oidc-issuer ${args.join(' ')} did not exit within ${options.timeoutMs ?? 20_000} ms\n${stdout}\n${stderr}`,
        ),
      );
    }, options.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    // A command that does not read its input may exit before the input is written: that EPIPE
    // is the command's choice, not a failure (its exit code and output still say how it went).
    child.stdin.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') reject(err);
    });
    child.stdin.end(options.input ?? '');
  });
}
