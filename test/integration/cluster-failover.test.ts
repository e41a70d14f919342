import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyNames } from '../../src/store/keys.js';
import { expectFailoverKeepsPromises } from '../support/failover-traffic.js';
import { type IssuerProcess, spawnIssuer, waitFor } from '../support/issuer.js';
import { uniqueNamespace } from '../support/redis.js';
import { startRedisCluster, type TestRedisCluster } from '../support/redis-cluster.js';

let cluster: TestRedisCluster;
let issuer: IssuerProcess;
const namespace = uniqueNamespace('cl-failover');
// Every key of one issuer shares one hash tag, so one master holds them all.
const ringKey = keyNames(namespace).keyRing;

beforeAll(async () => {
  cluster = await startRedisCluster({ replicas: 1 });
  issuer = await spawnIssuer({ REDIS_URL: cluster.url, REDIS_NAMESPACE: namespace });
  await waitFor(async () => (await fetch(`${issuer.url}/readyz`)).ok, 20_000, 'readyz');
}, 90_000);

afterAll(async () => {
  await issuer?.stop();
  await cluster?.stop();
});

describe('Redis Cluster with replicas: the master holding the issuer crashes mid-traffic', () => {
  it('keeps serving after the failover with the same key ring and every grant, 503 only inside the window', async () => {
    const oldMaster = await cluster.masterOf(ringKey);
    await expectFailoverKeepsPromises(issuer.url, {
      label: 'cluster',
      synced: () => cluster.synced(oldMaster),
      crash: async () => {
        await cluster.kill(oldMaster);
        return `master ${oldMaster} killed`;
      },
      failedOver: async () => {
        await cluster.failedOver(ringKey, oldMaster);
      },
    });
    expect(await cluster.masterOf(ringKey)).not.toBe(oldMaster);
    expect(issuer.child.exitCode).toBeNull();
  }, 120_000);
});
