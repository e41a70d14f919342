/**
 * The runs BENCHMARKS.md is made of: one per Node major, kept as
 * bench/results/node-<major>.json, so a run on Node 20 and one on Node 24 (`--node 24`) end up
 * in one report; a new run replaces only its own Node's file.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../src/paths.js';
import type { SavedRun } from './report.js';

export const RESULTS_DIR = join(PACKAGE_ROOT, 'bench', 'results');

const FILE = /^node-(\d+)\.json$/;

/** 20 for `v20.20.2`. */
export function nodeMajor(version: string): number {
  const major = /^v?(\d+)\./.exec(version)?.[1];
  if (major === undefined) throw new Error(`not a Node version: ${version}`);
  return Number(major);
}

/** Writes `run` as its Node major's file in `dir`; returns the file's path. */
export function saveRun(run: SavedRun, dir = RESULTS_DIR): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `node-${nodeMajor(run.meta.node)}.json`);
  writeFileSync(file, `${JSON.stringify(run, null, 2)}\n`);
  return file;
}

/** Every saved run in `dir`, lowest Node major first. */
export function loadRuns(dir = RESULTS_DIR): SavedRun[] {
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch {
    return [];
  }
  return files
    .map((f) => ({ f, major: FILE.exec(f)?.[1] }))
    .filter((x): x is { f: string; major: string } => x.major !== undefined)
    .sort((a, b) => Number(a.major) - Number(b.major))
    .map(({ f }) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as SavedRun);
}
