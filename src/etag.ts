/** Whether an `If-None-Match` header names `etag` (or is `*`): the request gets a 304. */
export function etagMatches(header: string, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((candidate) => candidate.trim() === etag);
}
