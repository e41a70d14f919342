import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { freePort } from '../support/ports.js';

/** One of the apps under examples/, running as a child process with plain `node`. */
export interface ExampleProcess {
  /** `http://localhost:<port>`: the URL a browser uses. */
  url: string;
  port: number;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Runs `node examples/<name>/server.js` on a free port with `env` added, and waits until its
 * `/healthz` answers.
 */
export async function startExample(
  name: 'api' | 'rp-web' | 'spa',
  env: Record<string, string>,
  port?: number,
): Promise<ExampleProcess> {
  const listen = port ?? (await freePort());
  let output = '';
  const child = spawn(process.execPath, [join(PACKAGE_ROOT, 'examples', name, 'server.js')], {
    cwd: PACKAGE_ROOT,
    env: { ...process.env, PORT: String(listen), HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d) => {
    output += d;
  });
  child.stderr?.on('data', (d) => {
    output += d;
  });
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`example ${name} exited:\n${output}`);
    const ok = await fetch(`http://127.0.0.1:${listen}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`example ${name} did not answer /healthz within 10 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `http://localhost:${listen}`,
    port: listen,
    child,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}
