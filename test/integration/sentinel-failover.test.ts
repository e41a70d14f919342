import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectFailoverKeepsPromises } from '../support/failover-traffic.js';
import { type IssuerProcess, spawnIssuer, waitFor } from '../support/issuer.js';
import { uniqueNamespace } from '../support/redis.js';
import { startSentinelGroup, type TestSentinelGroup } from '../support/redis-sentinel.js';

let group: TestSentinelGroup;
let issuer: IssuerProcess;

beforeAll(async () => {
  group = await startSentinelGroup();
  issuer = await spawnIssuer({
    REDIS_URL: group.url,
    REDIS_NAMESPACE: uniqueNamespace('sentinel'),
  });
  await waitFor(async () => (await fetch(`${issuer.url}/readyz`)).ok, 20_000, 'readyz');
}, 60_000);

afterAll(async () => {
  await issuer?.stop();
  await group?.stop();
});

describe('Redis Sentinel (redis+sentinel://): the master crashes mid-traffic', () => {
  it('keeps serving after the failover with the same key ring and every grant, 503 only inside the window', async () => {
    let oldMaster = 0;
    await expectFailoverKeepsPromises(issuer.url, {
      label: 'sentinel',
      synced: () => group.synced(),
      crash: async () => {
        oldMaster = await group.killMaster();
        return `master ${oldMaster} killed`;
      },
      failedOver: async () => {
        await group.failedOver(oldMaster);
      },
    });
    expect(await group.masterPort()).not.toBe(oldMaster);
    expect(issuer.child.exitCode).toBeNull();
  }, 120_000);
});
