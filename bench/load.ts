/** The harness side of the load generator: a pinned child process that runs one job at a time. */
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../src/paths.js';
import type { FlowSpec, FlowStats } from './flow.js';
import { spawnPinned, stopChild, track } from './procs.js';

/** One autocannon run: every connection repeats the same request for `durationSec`. */
export interface HttpJob {
  type: 'http';
  url: string;
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  connections: number;
  durationSec: number;
  /** Keep the first `collect` 200 bodies (token responses to verify). */
  collect: number;
}

/** Code flows back to back on `concurrency` loops. */
export interface FlowJob {
  type: 'flow';
  spec: FlowSpec;
  concurrency: number;
  durationMs: number;
}

export type LoadJob = HttpJob | FlowJob;

export interface HttpLoadResult {
  /** Responses per second, whatever their status (the harness checks the status counts). */
  rps: number;
  /** Latency in ms. */
  p50: number;
  p99: number;
  mean: number;
  total: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  bodies: string[];
}

export type LoadReply =
  | { id: number; result: HttpLoadResult | FlowStats }
  | { id: number; error: string }
  | { id: 0; ready: true };

export const LOAD_WORKER = join(PACKAGE_ROOT, 'dist', 'bench', 'load-worker.js');

export class LoadGenerator {
  #child: ChildProcess | undefined;
  #nextId = 1;
  readonly #pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();

  /** Starts the worker on `cores` (`dist/bench/load-worker.js`: `npm run build` first). */
  async start(cores: string | undefined): Promise<void> {
    if (!existsSync(LOAD_WORKER)) {
      throw new Error(`${LOAD_WORKER} is missing: run \`npm run build\` first`);
    }
    const child = track(
      spawnPinned(cores, process.execPath, [LOAD_WORKER], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      }),
    );
    this.#child = child;
    await new Promise<void>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => {
        const err = new Error(`the load generator exited (${code})`);
        reject(err);
        for (const p of this.#pending.values()) p.reject(err);
        this.#pending.clear();
      });
      child.on('message', (reply: LoadReply) => {
        if ('ready' in reply) return resolve();
        const pending = this.#pending.get(reply.id);
        this.#pending.delete(reply.id);
        if ('error' in reply) pending?.reject(new Error(`load generator: ${reply.error}`));
        else pending?.resolve(reply.result);
      });
    });
  }

  http(job: Omit<HttpJob, 'type'>): Promise<HttpLoadResult> {
    return this.#run({ type: 'http', ...job }) as Promise<HttpLoadResult>;
  }

  flows(job: Omit<FlowJob, 'type'>): Promise<FlowStats> {
    return this.#run({ type: 'flow', ...job }) as Promise<FlowStats>;
  }

  #run(job: LoadJob): Promise<unknown> {
    const child = this.#child;
    if (!child) return Promise.reject(new Error('the load generator is not started'));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      child.send({ id, job });
    });
  }

  async stop(): Promise<void> {
    if (this.#child) await stopChild(this.#child);
    this.#child = undefined;
  }
}
