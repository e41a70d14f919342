/**
 * What the probe is told: how it reaches the issuer, the request it sends to the API, the
 * statuses that count as accepted or refused, and the parsers for the CLI's and page's inputs.
 */

import type { JWK } from 'jose';
import { IssuerError } from '../errors.js';
import type { MintedToken, MintRequest } from '../tools/mint.js';
import type { CaseResult } from './verdict.js';

/** A probe failure that is not a finding. `code` decides the exit status (see cli/exit.ts). */
export class ProbeError extends IssuerError {}

/** How the probe reaches the issuer whose tokens the API trusts. */
export interface IssuerAccess {
  /** The issuer URL (the `iss` of its tokens). */
  readonly issuer: string;
  /** The published JWK set. @throws TokenError `DISCOVERY_FAILED` / `JWKS_UNAVAILABLE`. */
  jwks(): Promise<JWK[]>;
  /** A token from the issuer's mint endpoint. @throws ProbeError. */
  mint(request: MintRequest): Promise<MintedToken>;
  /** Rotates `alg` at once (`next` signs now, even if young). @throws ProbeError. */
  rotateNow(alg: string): Promise<void>;
}

/** The request the probe sends to the API, once per case, with `Authorization: Bearer …`. */
export interface TargetRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
}

/** A set of HTTP statuses, e.g. `2xx`, `200-299`, `401,403`. */
export interface StatusSet {
  text: string;
  has(status: number): boolean;
}

export interface ProbeOptions {
  target: TargetRequest;
  /** The claims of a valid token for the API (the baseline); everything else derives from it. */
  token: Pick<MintRequest, 'aud' | 'scope' | 'sub' | 'clientId' | 'claims'> & {
    type: 'access' | 'id';
  };
  /** The statuses that count as accepted (default 2xx) and refused (default 401, 403). */
  acceptStatus?: StatusSet;
  refuseStatus?: StatusSet;
  /** Run the rotation drill: rotates the issuer's real key ring (twice, at once). */
  rotate?: boolean;
  /** How long the drill waits for the API to pick up the new key (its refetch throttle: jwks-rsa allows 5 fetches a minute). Default 65 s. */
  rotationWaitMs?: number;
  /** Per request to the API. Default 5 s. */
  timeoutMs?: number;
  /** Where the `jku`/`x5u` key server listens. Default 127.0.0.1. */
  keyHost?: string;
  /** Called before the probe does something the user should know of (the rotation). */
  onNotice?: (message: string) => void;
  /** Called after each case. */
  onResult?: (result: CaseResult) => void;
}

/**
 * Parses `2xx`, `200-299`, `401,403` (and mixes).
 * @throws ProbeError `PROBE_OPTIONS_INVALID` naming the bad part.
 */
export function parseStatusSet(text: string): StatusSet {
  const ranges: [number, number][] = [];
  for (const part of text.split(',').map((p) => p.trim())) {
    const m = /^([1-5])xx$/i.exec(part) ?? undefined;
    const r = /^(\d{3})(?:-(\d{3}))?$/.exec(part) ?? undefined;
    if (m) ranges.push([Number(m[1]) * 100, Number(m[1]) * 100 + 99]);
    else if (r) ranges.push([Number(r[1]), Number(r[2] ?? r[1])]);
    else {
      throw new ProbeError(
        'PROBE_OPTIONS_INVALID',
        `"${part}" is not an HTTP status, range or class (e.g. 200, 200-299, 2xx, 401,403)`,
      );
    }
  }
  return { text, has: (s) => ranges.some(([a, b]) => s >= a && s <= b) };
}

/**
 * `Name: value` lines as request headers for the API.
 * @throws ProbeError `PROBE_OPTIONS_INVALID` for a line that is not a header, or one that sets
 *   `Authorization` (the probe's own).
 */
export function parseHeaderLines(lines: string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of lines.filter((l) => l.trim() !== '')) {
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).trim() : '';
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
      throw new ProbeError('PROBE_OPTIONS_INVALID', `a header must be 'Name: value' (got ${line})`);
    }
    if (name.toLowerCase() === 'authorization') {
      throw new ProbeError(
        'PROBE_OPTIONS_INVALID',
        'a header cannot set Authorization: the probe sends its own tokens',
      );
    }
    headers[name] = line.slice(colon + 1).trim();
  }
  return headers;
}
