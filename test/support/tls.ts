import { Agent, fetch as undiciFetch } from 'undici';

/**
 * A fetch that trusts the CA certificate `ca` (PEM) as a client does that was told to trust
 * it: certificate verification stays on, only the trust anchors change.
 */
export function trustingFetch(ca: string): typeof fetch {
  const dispatcher = new Agent({ connect: { ca } });
  return ((input: Parameters<typeof fetch>[0], init?: RequestInit) =>
    undiciFetch(input as Parameters<typeof undiciFetch>[0], {
      ...(init as Parameters<typeof undiciFetch>[1]),
      dispatcher,
    })) as unknown as typeof fetch;
}
