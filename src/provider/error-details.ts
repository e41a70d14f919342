import type { ClientConfig } from '../config/schema.js';
import { suggestion } from '../spelling.js';
import type { ErrorDetails } from '../views.js';

/** The parts of a failed request an error page explains. */
export interface FailedRequest {
  /** oidc-provider's `out.error` and `out.error_description`. */
  error: string;
  description?: string | undefined;
  /** The request's client_id, redirect_uri and post_logout_redirect_uri, as sent. */
  params: Record<string, unknown>;
  /** The client oidc-provider resolved, if any. */
  clientId?: string | undefined;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Why `sent` is not one of `registered`, when it nearly is: a trailing slash, localhost vs
 * 127.0.0.1, letter case, another port, scheme or query. Empty when nothing is close.
 */
export function nearMisses(sent: string, registered: readonly string[]): string[] {
  const s = URL.parse(sent);
  if (!s) return [`${sent} is not an absolute URI: send the full URI, scheme included`];
  const hints: string[] = [];
  for (const candidate of registered) {
    const r = URL.parse(candidate);
    if (!r) continue;
    const same = (...parts: ('protocol' | 'hostname' | 'port' | 'pathname' | 'search')[]) =>
      parts.every((p) => s[p] === r[p]);
    if (sent.replace(/\/$/, '') === candidate.replace(/\/$/, '')) {
      hints.push(
        `${sent} differs from the registered ${candidate} only by a trailing slash; redirect URIs must match exactly`,
      );
    } else if (
      same('protocol', 'port', 'pathname', 'search') &&
      LOOPBACK.has(s.hostname) &&
      LOOPBACK.has(r.hostname)
    ) {
      hints.push(
        `${s.hostname} is not ${r.hostname}: the registered ${candidate} uses ${r.hostname}. Open the app at ${r.origin}, or register ${sent} too`,
      );
    } else if (sent.toLowerCase() === candidate.toLowerCase()) {
      hints.push(
        `${sent} differs from the registered ${candidate} only in letter case; paths are case-sensitive`,
      );
    } else if (same('protocol', 'hostname', 'pathname', 'search')) {
      hints.push(
        `${sent} uses port ${s.port || '(default)'}; the registered ${candidate} uses ${r.port || '(default)'}`,
      );
    } else if (same('hostname', 'port', 'pathname', 'search')) {
      hints.push(
        `${sent} uses ${s.protocol.slice(0, -1)}; the registered ${candidate} uses ${r.protocol.slice(0, -1)}`,
      );
    } else if (same('protocol', 'hostname', 'port', 'pathname')) {
      hints.push(
        `${sent} has another query than the registered ${candidate}; the query must match exactly`,
      );
    }
  }
  return hints;
}

/** Which config entry a hosted issuer's fields are in (`issuers:` names them by path). */
const entryOf = (mountPath: string) =>
  mountPath ? ` of the issuers: entry with path ${mountPath.slice(1)}` : '';

/**
 * The concrete story behind an authorization or logout error: the redirect URI sent and the
 * ones registered (they are not secret), near misses, the client_id nobody registered. Values
 * come from the request and go to the page as data; the view escapes them.
 */
export function explainError(
  failed: FailedRequest,
  clients: readonly ClientConfig[],
  mountPath = '',
): ErrorDetails {
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const sentClient = str(failed.params.client_id);
  const index = clients.findIndex((c) => c.id === (failed.clientId ?? sentClient));
  const client = clients[index];
  const details: ErrorDetails = { description: failed.description, facts: [], hints: [] };

  if (failed.error === 'invalid_client' && sentClient && !client) {
    details.description = `no client with client_id "${sentClient}" is registered`;
    details.facts.push({ label: 'Registered clients', values: clients.map((c) => c.id) });
    const near = suggestion(
      sentClient,
      clients.map((c) => c.id),
    );
    if (near) details.hints.push(`Did you mean ${near}?`);
    details.hints.push('Clients are registered under clients in the config file.');
    return details;
  }

  const uriParam = (['post_logout_redirect_uri', 'redirect_uri'] as const).find((p) =>
    (failed.description ?? '').includes(p),
  );
  if (client && uriParam) {
    const field = uriParam === 'redirect_uri' ? 'redirectUris' : 'postLogoutRedirectUris';
    const registered = client[field];
    const sent = str(failed.params[uriParam]);
    details.facts.push({ label: 'You sent', values: sent ? [sent] : [] });
    details.facts.push({ label: `Registered for ${client.id}`, values: [...registered] });
    if (sent) details.hints.push(...nearMisses(sent, registered));
    details.hints.push(
      sent
        ? `Send one of the registered URIs, or add ${sent} to clients[${index}].${field}${entryOf(mountPath)} in the config.`
        : `Send ${uriParam} with one of the registered URIs.`,
    );
  }
  return details;
}
