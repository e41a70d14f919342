/**
 * The bound on JSON values that go into a token: extra claims and header members of a minted
 * token (`POST /admin/tokens`, `oidc-issuer token mint`, the in-process `mintToken`) and the
 * claims typed in "any user" mode. Deeper values overflow the stack of the JWT builder; larger
 * ones make tokens no HTTP header can carry.
 */

const MAX_CLAIMS_DEPTH = 16;
const MAX_CLAIMS_BYTES = 8192;

/**
 * Why `value` is out of bounds (a sentence fragment), or undefined when it fits. Walks the value
 * without recursion, so a value of any depth is measured safely.
 */
export function claimsBoundProblem(value: unknown): string | undefined {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop() as [unknown, number];
    if (current === null || typeof current !== 'object') continue;
    if (depth >= MAX_CLAIMS_DEPTH) return `nested deeper than ${MAX_CLAIMS_DEPTH} levels`;
    for (const child of Object.values(current)) stack.push([child, depth + 1]);
  }
  if (Buffer.byteLength(JSON.stringify(value) ?? '') > MAX_CLAIMS_BYTES) {
    return `larger than ${MAX_CLAIMS_BYTES} bytes of JSON`;
  }
  return undefined;
}
