/**
 * A `fetch` for URLs typed into the web console: it reaches only loopback and public http(s)
 * addresses (never a private, link-local or otherwise reserved one, so the console cannot be
 * used to probe the network the issuer sits in), reads at most `maxBytes`, gives up after
 * `timeoutMs`, and follows at most three redirects, each checked again.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';

export interface GuardOptions {
  maxBytes?: number;
  timeoutMs?: number;
}

/** Why a guarded fetch refused (as the `cause` of its `TypeError`): address, size, time, redirects. */
export class FetchGuardError extends Error {
  readonly code = 'FETCH_REFUSED';
}

const RESERVED = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 3],
] as const) {
  RESERVED.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['64:ff9b::', 96],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  RESERVED.addSubnet(net, prefix, 'ipv6');
}
const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** Why `address` (an IP literal) may not be fetched, or undefined when it may. */
export function refusalFor(address: string): string | undefined {
  const family = isIP(address);
  if (family === 0) return `${address} is not an IP address`;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  // An IPv4-mapped IPv6 address is judged as the IPv4 address it carries.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped) return refusalFor(mapped);
  if (LOOPBACK.check(address, type)) return undefined;
  if (RESERVED.check(address, type)) {
    return `${address} is a private or reserved address; the console fetches only loopback and public addresses`;
  }
  return undefined;
}

const guardedLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
    if (err) return callback(err, '', 0);
    const refused = addresses.map((a) => refusalFor(a.address)).find(Boolean);
    if (refused) return callback(new FetchGuardError(`${hostname}: ${refused}`), '', 0);
    if (options.all)
      return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
    const first = addresses[0] as LookupAddress;
    callback(null, first.address, first.family);
  });
};

/**
 * Fetches `url` with the guard. Answers like `fetch` (a `Response`); a refused address, a
 * timeout or an oversized body rejects with a `TypeError` whose `cause` says why.
 */
export function guardedFetch(options: GuardOptions = {}): typeof fetch {
  const maxBytes = options.maxBytes ?? 1024 * 1024;
  const timeoutMs = options.timeoutMs ?? 5000;
  const get = async (url: URL, hops: number): Promise<Response> => {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new FetchGuardError(`${url.protocol} URLs are not fetched (http and https only)`);
    }
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host)) {
      const refused = refusalFor(host);
      if (refused) throw new FetchGuardError(refused);
    }
    const res = await send(url, maxBytes, timeoutMs);
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      if (hops >= 3) throw new FetchGuardError('more than 3 redirects');
      return get(new URL(location, url), hops + 1);
    }
    return res;
  };
  return (async (input: string | URL | Request) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    try {
      return await get(url, 0);
    } catch (cause) {
      throw new TypeError('fetch failed', { cause });
    }
  }) as typeof fetch;
}

function send(url: URL, maxBytes: number, timeoutMs: number): Promise<Response> {
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      req.destroy();
      reject(err);
    };
    const req = request(
      url,
      {
        method: 'GET',
        lookup: guardedLookup,
        headers: { accept: 'application/json, application/jwk-set+json' },
      },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) fail(new FetchGuardError(`the answer is over ${maxBytes} bytes`));
          else chunks.push(chunk);
        });
        res.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(deadline);
          const headers = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            if (typeof value === 'string') headers.set(name, value);
          }
          const status = res.statusCode ?? 502;
          const body = status === 204 || status === 304 ? null : Buffer.concat(chunks);
          resolve(new Response(body, { status, headers }));
        });
        res.on('error', fail);
      },
    );
    const deadline = setTimeout(
      () => fail(new FetchGuardError(`no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    req.on('error', fail);
    req.end();
  });
}
