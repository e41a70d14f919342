/**
 * Several issuers on one listener: a request whose first path segment is a hosted issuer's
 * path goes to that issuer with the segment taken off its URL (the original stays in
 * `req.originalUrl`, from which oidc-provider builds its mounted URLs); anything else goes to
 * the top-level issuer.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** `hosted` gives the handler of the issuer at a path segment (`azure`), as it is at the time. */
export function byFirstSegment(
  top: Handler,
  hosted: (segment: string) => Handler | undefined,
): RequestListener {
  return (req, res) => {
    const url = req.url ?? '/';
    const end = url.slice(1).search(/[/?]/);
    const segment = end < 0 ? url.slice(1) : url.slice(1, end + 1);
    const target = segment ? hosted(segment) : undefined;
    if (!target) return top(req, res);
    const rest = url.slice(segment.length + 1);
    (req as IncomingMessage & { originalUrl?: string }).originalUrl = url;
    req.url = rest.startsWith('/') ? rest : `/${rest}`;
    target(req, res);
  };
}
