import { z } from 'zod';

/**
 * The one walk over the zod config schema, shared by the "did you mean" of unknown settings
 * (load.ts) and by `config print` / `config schema` (describe.ts).
 */

export type Schema = z.core.$ZodType;

interface Def {
  type: string;
  innerType?: Schema;
  in?: Schema;
  shape?: Record<string, Schema>;
  element?: Schema;
  valueType?: Schema;
}

const defOf = (schema: Schema) => schema._zod.def as unknown as Def;

/** The schema's own kind once unwrapped: `object`, `array`, `record`, `pipe`, `string`, … */
export const kindOf = (schema: Schema): string => defOf(schema).type;

/**
 * `schema` without its wrappers (default, prefault, optional, nullable, readonly, …); `secret`
 * when the schema or one of its wrappers is marked SECRET (`writeOnly`). A pipe (a transform,
 * e.g. `duration`) is kept: it is the field's own schema.
 */
export function unwrap(schema: Schema): { schema: Schema; secret: boolean } {
  let current = schema;
  let secret = false;
  for (;;) {
    if (z.globalRegistry.get(current)?.writeOnly === true) secret = true;
    const inner = defOf(current).innerType;
    if (!inner) return { schema: current, secret };
    current = inner;
  }
}

/** The definition under wrappers and pipe inputs: what a value at this place is built from. */
function baseDef(schema: Schema): Def {
  let def = defOf(unwrap(schema).schema);
  while (def.type === 'pipe' && def.in) def = defOf(unwrap(def.in).schema);
  return def;
}

/**
 * The schema one step below `schema`: an object's field `step`, an array's element, a
 * record's value (wrappers and a pipe's input looked through); undefined when there is none.
 */
export function childSchema(schema: Schema, step: PropertyKey): Schema | undefined {
  const def = baseDef(schema);
  if (def.type === 'object') return def.shape?.[step as string];
  if (def.type === 'array') return def.element;
  if (def.type === 'record') return def.valueType;
  return undefined;
}

/** The setting names the object at `path` below `schema` accepts ([] when it is no object). */
export function knownKeysAt(schema: Schema, path: readonly PropertyKey[]): string[] {
  let node: Schema | undefined = schema;
  for (const step of path) {
    node = node && childSchema(node, step);
  }
  if (!node) return [];
  const def = baseDef(node);
  return def.type === 'object' && def.shape ? Object.keys(def.shape) : [];
}
