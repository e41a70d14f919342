/** Child processes for the benchmark: spawn pinned to a core, wait for HTTP, read RSS, stop. */
import { type ChildProcess, execFileSync, type StdioOptions, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/**
 * Which cores the harness uses: targets (and the signing ceiling) on `target`, the load
 * generator and redis-server on `load`. Undefined when pinning is off or impossible.
 */
export interface Pinning {
  target: string;
  load: string;
}

/** Pins targets to core 0 and load to core 1 when `taskset` exists and there are ≥ 2 cores. */
export function defaultPinning(): Pinning | undefined {
  if (availableParallelism() < 2) return undefined;
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  const last = availableParallelism() - 1;
  return { target: '0', load: last === 1 ? '1' : `1-${last}` };
}

/** Spawns `command args` on `cores` (via `taskset -c`, which execs, so the pid is the command's). */
export function spawnPinned(
  cores: string | undefined,
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; stdio?: StdioOptions } = {},
): ChildProcess {
  const stdio = options.stdio ?? ['ignore', 'pipe', 'pipe'];
  const env = options.env ?? process.env;
  if (!cores) return spawn(command, args, { env, stdio });
  return spawn('taskset', ['-c', cores, command, ...args], { env, stdio });
}

/** Collects a child's stdout and stderr (the last 64 KiB) for error messages. */
export function captureOutput(child: ChildProcess): () => string {
  let output = '';
  const add = (d: Buffer) => {
    output = (output + d.toString()).slice(-65_536);
  };
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  return () => output;
}

/** Polls `url` every `intervalMs` until it answers 200; resolves to the ms from `since`. */
export async function waitForOk(
  url: string,
  child: ChildProcess,
  output: () => string,
  { since = performance.now(), timeoutMs = 20_000, intervalMs = 5 } = {},
): Promise<number> {
  const deadline = since + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `${url}: the process exited (${child.exitCode ?? child.signalCode}):\n${output()}`,
      );
    }
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.status === 200) return performance.now() - since;
    } catch {
      // not listening yet
    }
    if (performance.now() > deadline) {
      throw new Error(`${url} did not answer 200 within ${timeoutMs} ms:\n${output()}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Resident memory of `pid` in MiB (VmRSS from /proc/<pid>/status), undefined off Linux. */
export function rssMiB(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}

let clockTicks: number | undefined;

/**
 * CPU seconds (user + system, all threads) `pid` has used so far, from /proc/<pid>/stat;
 * undefined off Linux. Unlike throughput, CPU per request hardly moves when other processes
 * compete for the core, so it is the steadier basis for comparing targets on a busy machine.
 */
export function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks;
  } catch {
    return undefined;
  }
}

/**
 * `pid` and its descendants (pid first), from the parent ids in /proc/<n>/stat; `[pid]` off
 * Linux. The supervisor of `start --workers` and its workers are one such tree.
 */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return [pid];
  }
  for (const entry of entries) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The field after the parenthesised command name and the state is the parent id.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // exited while we looked
    }
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i += 1) tree.push(...(children.get(tree[i]!) ?? []));
  return tree;
}

/** `cpuSeconds` summed over `pid` and its descendants (a worker that exited is not counted). */
export function treeCpuSeconds(pid: number | undefined): number | undefined {
  return sumOverTree(pid, cpuSeconds);
}

/** `rssMiB` summed over `pid` and its descendants (pages they share count once per process). */
export function treeRssMiB(pid: number | undefined): number | undefined {
  return sumOverTree(pid, rssMiB);
}

function sumOverTree(
  pid: number | undefined,
  read: (pid: number) => number | undefined,
): number | undefined {
  if (pid === undefined) return undefined;
  const own = read(pid);
  if (own === undefined) return undefined;
  let sum = own;
  for (const p of processTree(pid).slice(1)) sum += read(p) ?? 0;
  return sum;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the child has exited. */
export async function stopChild(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Kills every child still registered when the harness process exits (even on a crash). */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});
export function track(child: ChildProcess): ChildProcess {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

export { freePort } from '../test/support/ports.js';
