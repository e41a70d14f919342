/** A zod issue of the config schema as people read it: the path as written, a "did you mean" hint. */

import type { z } from 'zod';
import { suggestion } from '../spelling.js';
import { configSchema } from './schema.js';
import { knownKeysAt } from './schema-walk.js';

/** A config path as people write it: `clients[1].redirectUris[0]`. */
function pathText(path: readonly PropertyKey[]): string {
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
    .join('');
}

/** The messages for one issue (an unknown key names the nearest known one). */
export function describeIssue(issue: z.core.$ZodIssue): string[] {
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeysAt(configSchema, issue.path);
    return issue.keys.map((k) => {
      const near = suggestion(k, known);
      const hint = near ? `; did you mean ${near}?` : '';
      return `${pathText([...issue.path, k])}: unknown setting${hint}`;
    });
  }
  if (issue.code === 'invalid_union') {
    // The one branch whose shape the value has says what is wrong inside it (`tls.key: …`).
    const within = (i: z.core.$ZodIssue) => i.path.length > 0 || i.code === 'unrecognized_keys';
    const inside = issue.errors.filter((b) => b.length > 0 && b.every(within));
    if (inside.length === 1) {
      return (inside[0] ?? []).flatMap((i) =>
        describeIssue({ ...i, path: [...issue.path, ...i.path] } as z.core.$ZodIssue),
      );
    }
  }
  return [`${pathText(issue.path) || '(top level)'}: ${issue.message}`];
}
