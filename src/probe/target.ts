/** Reaching the API under test: one bounded request with a token, its answer. */
import { ProbeError, type TargetRequest } from './options.js';

const MAX_BODY_SNIPPET = 2048;

/** The API's answer to one request. */
export interface Answer {
  status: number | null;
  error?: string;
  wwwAuthenticate?: string;
  body?: string;
}

/**
 * One request to the API: no redirects followed, bounded in time, at most a few KB of the body
 * read. A timeout is an answer (`status: null`); a refused connection ends the probe.
 */
export async function callTarget(
  target: TargetRequest,
  token: string,
  timeoutMs: number,
): Promise<Answer> {
  let res: Response;
  try {
    res = await fetch(target.url, {
      method: target.method,
      headers: { ...target.headers, authorization: `Bearer ${token}` },
      ...(target.body !== undefined ? { body: target.body } : {}),
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    const err = e as Error;
    if (err.name === 'TimeoutError') {
      return { status: null, error: `no answer within ${timeoutMs} ms` };
    }
    const reason = err.cause instanceof Error ? err.cause.message : err.message;
    throw new ProbeError(
      'PROBE_TARGET_UNREACHABLE',
      `cannot reach the API at ${target.url}: ${reason}`,
    );
  }
  const body = await readSnippet(res);
  const wwwAuthenticate = res.headers.get('www-authenticate') ?? undefined;
  return {
    status: res.status,
    ...(wwwAuthenticate ? { wwwAuthenticate } : {}),
    ...(body ? { body } : {}),
  };
}

async function readSnippet(res: Response): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < MAX_BODY_SNIPPET) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } catch {
    // A body cut off mid-way is still an answer; its status is what counts.
  } finally {
    void reader.cancel().catch(() => {});
  }
  return Buffer.concat(chunks).subarray(0, MAX_BODY_SNIPPET).toString('utf8');
}
