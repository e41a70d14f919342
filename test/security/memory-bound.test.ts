/**
 * Memory mode is bounded (issue 10, item 9). Unauthenticated authorization requests with a
 * 3 KB `state` each leave an interaction record behind for its whole lifetime; without a bound,
 * 3,000 of them added 30 MB of heap. With `memoryStore` bounds the store stays within them,
 * says so in /metrics, and the issuer keeps signing people in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { RunningIssuer } from '../../src/issuer.js';
import { authUrl, Browser, pkcePair, redeem, signIn, webAuthParams } from '../support/flows.js';
import { startTestIssuer } from '../support/issuer.js';

const MAX_ENTRIES = 1000;
const MAX_MEGABYTES = 1;

let issuer: RunningIssuer;

beforeAll(async () => {
  issuer = await startTestIssuer({
    memoryStore: { maxEntries: MAX_ENTRIES, maxMegabytes: MAX_MEGABYTES },
  });
});
afterAll(async () => {
  await issuer?.close();
});

async function gauges(): Promise<Record<string, number>> {
  const text = await (await fetch(`${issuer.url}/metrics`)).text();
  const values: Record<string, number> = {};
  for (const [, name = '', value = ''] of text.matchAll(
    /^(oidc_issuer_memory_store_\w+) (\S+)$/gm,
  )) {
    values[name] = Number(value);
  }
  return values;
}

describe('the memory store bound', () => {
  it('holds under a flood of authorization requests with 3 KB states', async () => {
    const { challenge } = pkcePair();
    const state = 's'.repeat(3000);
    const flood = async (count: number) => {
      for (let i = 0; i < count; i++) {
        const res = await fetch(authUrl(issuer.url, webAuthParams(challenge, { state })), {
          redirect: 'manual',
        });
        await res.arrayBuffer();
        expect(res.status).toBe(303);
      }
    };
    // 600 requests, 6 at a time: about 6 KB each, so 3.6 MB against a 1 MB bound.
    await Promise.all(Array.from({ length: 6 }, () => flood(100)));

    const after = await gauges();
    expect(after.oidc_issuer_memory_store_max_entries).toBe(MAX_ENTRIES);
    expect(after.oidc_issuer_memory_store_max_bytes).toBe(MAX_MEGABYTES * 1024 * 1024);
    expect(after.oidc_issuer_memory_store_entries).toBeLessThanOrEqual(MAX_ENTRIES);
    expect(after.oidc_issuer_memory_store_bytes).toBeLessThanOrEqual(MAX_MEGABYTES * 1024 * 1024);
    expect(after.oidc_issuer_memory_store_evictions_total).toBeGreaterThan(300);

    // Someone signing in now still gets tokens: the flood pushed out only idle records.
    const { code, verifier } = await signIn(issuer.url, new Browser());
    const tokens = await redeem(issuer.url, code, verifier);
    expect(tokens.status).toBe(200);
  });

  it('defaults to 100,000 entries and 64 MB', () => {
    const config = loadConfig({ env: {} });
    expect(config.memoryStore).toEqual({ maxEntries: 100_000, maxMegabytes: 64 });
  });
});
