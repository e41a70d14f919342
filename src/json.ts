/** JSON objects from untrusted text: one parse-and-check, each caller words its own error. */

/** Whether `value` is a JSON object (not null, not an array). */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * `text` as a JSON object, or why not: `syntax` is JSON.parse's message when the text is not
 * JSON; absent when it is JSON but not an object.
 */
export type JsonObjectResult =
  | { ok: true; value: Record<string, unknown> }
  | { ok: false; syntax?: string };

/** Parses `text`, which must hold one JSON object. Never throws. */
export function parseJsonObject(text: string): JsonObjectResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { ok: false, syntax: (e as Error).message };
  }
  return isJsonObject(value) ? { ok: true, value } : { ok: false };
}
