/** Input and output helpers shared by the commands. */

import { parseJsonObject } from '../json.js';
import { readText } from '../tools/key-source.js';
import { UsageError } from './exit.js';

/** `value`, or stdin when it is `-`; trimmed. */
export async function argOrStdin(value: string, what: string): Promise<string> {
  const text = value === '-' ? await readText('-') : value;
  if (text.trim() === '') throw new UsageError(`${what} is empty`, 'INPUT_EMPTY');
  return text.trim();
}

/**
 * A JSON object given inline (`'{"a":1}'`), from a file (`@claims.json`) or from stdin (`-`).
 * @throws UsageError `JSON_INVALID` naming the option when it is not a JSON object.
 */
export async function jsonObjectArg(
  value: string,
  option: string,
): Promise<Record<string, unknown>> {
  let text = value;
  if (value === '-' || value.startsWith('@'))
    text = await readText(value === '-' ? '-' : value.slice(1));
  const parsed = parseJsonObject(text);
  if (!parsed.ok) {
    throw new UsageError(
      parsed.syntax !== undefined
        ? `${option} is not valid JSON: ${parsed.syntax}`
        : `${option} must be a JSON object, e.g. '{"email":"a@example.com"}'`,
      'JSON_INVALID',
    );
  }
  return parsed.value;
}

/** Writes `value` as indented JSON on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Writes lines on stdout. */
export function println(...lines: string[]): void {
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** A left-aligned text table. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** An ISO timestamp without milliseconds. */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
